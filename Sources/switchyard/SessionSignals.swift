import Foundation
import Orchestrator
import SQLiteStateStore

/// SIGINT and SIGTERM: the first stops at the next safe point, a second exits at once.
extension Session {
    /// Runs work that changes nothing in AWS (planning, reading): a signal ends it at once. `unchanged` says, truly,
    /// what stands as it was (by default: nothing was changed in AWS and no deployment was recorded); a command that
    /// changed something before (housekeeping's retirements) or reads for a stored deployment says so there.
    static func beforeAnyChange<T: Sendable>(_ stop: StopRequest, _ what: String, unchanged: String = "nothing was changed in AWS, and no deployment was recorded",
                                             _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await stop.abandoning(body)
        } catch let stopped as StoppedBySignal {
            throw StoppedEarly(description: "\(stopped.signal) while \(what): \(unchanged)")
        }
    }

    /// What `start` says was not changed in AWS, given what its housekeeping did first (`due` blues past their
    /// retention worked on, each recorded in its own release's trail).
    static func unchangedInAWS(besidesHousekeeping due: Int) -> String {
        guard due > 0 else { return "nothing was changed in AWS" }
        return "AWS was changed only by the retirement of \(due) blue group(s) past their retention above (each recorded in its release's trail)"
    }

    /// Runs `body` for at most `seconds`, then cancels it and throws (its AWS request is dropped).
    static func within(_ seconds: TimeInterval, _ what: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)); return false }
            defer { group.cancelAll() }
            guard try await group.next() == true else {
                throw UnexpectedFailure(description: "\(what): no answer from AWS within \(Int(seconds)) s")
            }
        }
    }

    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []

    private static let stopRequest: StopRequest = {
        let stop = StopRequest()
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.request(name) != nil {
                    Console.error("second signal: exiting now; the state file still allows `switchyard resume`")
                    SQLiteStateStore.checkpointAll()
                    exit(Exit.interrupted.rawValue)
                }
                Console.error("\(name): stopping at the next safe point (again to exit at once)")
            }
            source.resume()
            signalSources.append(source)
        }
        return stop
    }()

    /// Installs the SIGINT/SIGTERM handlers once and returns the stop request they set.
    static func stopOnSignals() -> StopRequest { stopRequest }
}
