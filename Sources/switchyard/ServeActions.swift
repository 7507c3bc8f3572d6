import Dashboard
import Foundation

/// The dashboard's promote and rollback: the `promote` and `rollback` commands themselves, run as child processes of
/// this binary with the person's name as SWITCHYARD_ACTOR. So an action takes the very path a terminal's does: the
/// request in the store, the lease and its fence, a takeover when nobody runs the release, the audit log with the actor.
/// The answer comes once the command has written its request (202), or when it ended before that (its refusal).
final class ActionRunner: DashboardActions, @unchecked Sendable {
    let stateArguments: [String]
    let serverActor: String
    /// How long to wait for the command to write its request or refuse.
    let answerWithin: TimeInterval = 30
    private let lock = NSLock()
    private var running: [ObjectIdentifier: Process] = [:]

    init(stateArguments: [String], serverActor: String) {
        self.stateArguments = stateArguments
        self.serverActor = serverActor
    }

    /// `alice via serve (ops@dash-1)`: who asked, and the server that ran it for them.
    func actor(_ name: String) -> String { "\(name) via serve (\(serverActor))" }

    static var executable: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath() }

    func perform(_ request: ActionRequest) -> ActionOutcome {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = [request.kind.rawValue, request.deploymentId] + (request.reason.map { ["--reason", $0] } ?? []) + stateArguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWITCHYARD_ACTOR"] = actor(request.actor)
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let watch = ChildWatch()
        process.terminationHandler = { [weak self] p in
            watch.exited(p.terminationStatus)
            self?.forget(p)
        }
        let tag = "\(request.kind.rawValue) \(request.deploymentId)"
        do {
            try process.run()
        } catch {
            return ActionOutcome(status: 500, message: "could not run `switchyard \(tag)`: \(error)")
        }
        lock.lock()
        running[ObjectIdentifier(process)] = process
        lock.unlock()
        Console.error("action: \(tag) asked by \(actor(request.actor)) (pid \(process.processIdentifier))")
        let reader = errors.fileHandleForReading
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending += chunk
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending = Data(pending[pending.index(after: newline)...])
                    Console.error("[\(tag)] \(line)")
                    watch.line(line)
                }
            }
            if !pending.isEmpty { watch.line(String(decoding: pending, as: UTF8.self)) }
            watch.closed()
        }
        thread.start()
        return watch.outcome(within: answerWithin, tag: tag)
    }

    private func forget(_ process: Process) {
        lock.lock()
        running[ObjectIdentifier(process)] = nil
        lock.unlock()
    }
}

/// What a child command has said so far: its request written, its last lines, its exit.
final class ChildWatch: @unchecked Sendable {
    private let condition = NSCondition()
    private var requested: String?
    private var lines: [String] = []
    private var status: Int32?
    private var eof = false

    func line(_ text: String) {
        condition.lock()
        lines = Array((lines + [text]).suffix(20))
        // `promote` and `rollback` say this once their request is in the store.
        if requested == nil, text.contains(" requested by ") { requested = text }
        condition.broadcast()
        condition.unlock()
    }

    func exited(_ code: Int32) {
        condition.lock()
        status = code
        condition.broadcast()
        condition.unlock()
    }

    func closed() {
        condition.lock()
        eof = true
        condition.broadcast()
        condition.unlock()
    }

    func outcome(within seconds: TimeInterval, tag: String) -> ActionOutcome {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let requested { return ActionOutcome(status: 202, message: requested) }
            if let status, eof {
                let said = lines.last(where: { $0.hasPrefix("error: ") }).map { String($0.dropFirst(7)) } ?? lines.last ?? "no output"
                switch status {
                case 0: return ActionOutcome(status: 200, message: said)
                case 2, 4: return ActionOutcome(status: 409, message: said)
                default: return ActionOutcome(status: 500, message: "`switchyard \(tag)` exited \(status): \(said)")
                }
            }
            if !condition.wait(until: deadline) {
                return ActionOutcome(status: 504, message: "`switchyard \(tag)` said nothing within \(Int(seconds)) s; it may still run: see the timeline")
            }
        }
    }
}
