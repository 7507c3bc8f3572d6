import Foundation
import Orchestrator
import SQLiteStateStore

/// SIGINT and SIGTERM: the first stops at the next safe point, a second exits at once.
extension Session {
    /// Runs work that changes nothing in AWS (planning, reading): a signal ends it at once, with nothing changed.
    static func beforeAnyChange<T: Sendable>(_ stop: StopRequest, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await stop.abandoning(body)
        } catch let stopped as StoppedBySignal {
            throw StoppedEarly(description: "\(stopped.signal) while \(what): nothing was changed in AWS, and no deployment was recorded")
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
