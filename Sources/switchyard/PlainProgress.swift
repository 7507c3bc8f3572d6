import Foundation
import StateStore
import SwitchyardCore

/// Without a terminal, a bake or a wait of minutes would leave a CI log silent until it ends; this prints a status line
/// (state, step, weights, time left, the last check results) whenever `period` has passed without a line.
final class PlainProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let id: String
    private let period: TimeInterval
    private var deployment: Deployment?
    private var lastLine = Date()
    private var ticker: Task<Void, Never>?

    /// `SWITCHYARD_PROGRESS_EVERY` (a duration from 100ms to 10m), else 20 s, so a line comes at least every 30 s.
    static var period: TimeInterval {
        guard let text = ProcessInfo.processInfo.environment["SWITCHYARD_PROGRESS_EVERY"], let span = TimeSpan(parsing: text),
              span.milliseconds >= 100, span.milliseconds <= 600_000 else { return 20 }
        return span.seconds
    }

    init(deploymentId: String, period: TimeInterval = PlainProgress.period) {
        id = deploymentId
        self.period = period
    }

    func start() {
        let step = UInt64(max(0.05, period / 4) * 1_000_000_000)
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: step)
                self?.tick(now: Date())
            }
        }
    }

    func stop() { ticker?.cancel() }

    /// A line was printed for an event: the quiet period starts again.
    func printed(_ d: Deployment) {
        guard d.id == id else { return }
        lock.withLock {
            deployment = d
            lastLine = Date()
        }
    }

    func update(_ d: Deployment) {
        guard d.id == id else { return }
        lock.withLock { deployment = d }
    }

    private func tick(now: Date) {
        let line: String? = lock.withLock {
            guard let d = deployment, !d.state.isTerminal, now.timeIntervalSince(lastLine) >= period else { return nil }
            lastLine = now
            return Self.line(d, now: now)
        }
        if let line { Console.error(line) }
    }

    /// `… shifting  step 1/3  blue  90% green  10%  baking, 4m30s of 5m left; checks: target-health ok, http FAIL (1/3)`
    static func line(_ d: Deployment, now: Date) -> String {
        var what: String
        switch d.state {
        case .waitingForCapacity:
            what = "waiting for capacity" + (d.greenCapacity.map { ": \($0.inService)/\($0.desired) InService" } ?? "")
        case .checkingHealth:
            what = "waiting for every green target to be healthy"
        case .paused:
            let gate = d.handChange.map { "a change of traffic by hand (\($0.summary))" } ?? (d.hookPause == nil ? "a manual gate" : "a failed hook (on_failure: pause)")
            what = "waiting at \(gate) for `switchyard promote \(d.id)`, " + (d.handChange == nil ? "" : "`resume \(d.id) --accept-current`, ") + "or `rollback`"
        default:
            what = "still \(d.state.rawValue)"
            if let current = d.currentStep, case .weight(let weight, let bake) = current, let begun = d.bakeStartedAt, d.greenWeight == weight, begun <= now {
                what = "baking, \(Console.duration(max(0, begun.adding(bake).timeIntervalSince(now)))) of \(bake) left"
            }
        }
        if let wait = d.trafficWait(at: now) { what = Console.waiting(wait) }
        let checks = (d.lastChecks ?? []).map { check in
            check.passed ? "\(check.name) ok" : "\(check.name) FAIL (\(d.consecutiveFailures[check.name] ?? 0)/\(check.threshold))"
        }
        what += "; checks: " + (checks.isEmpty ? "none yet" : checks.joined(separator: ", "))
        return Console.progressLine(d, LogEntry(from: d.state, to: d.state, message: what), at: now)
    }
}
