import Foundation

/// Hooks as effects of the state machine: each one is marked as started in the record, run, then marked as finished,
/// so after a crash a finished hook never runs again and an unfinished one runs again (and `resume` says so).
extension Machine {
    /// The bytes of a hook's output kept in the audit log.
    public static let hookOutputLimit = 4096

    /// The first hook of `point` not yet finished (for `after_step`, at the current step), or nil.
    static func pendingHook(_ d: Deployment, _ point: HookPoint) -> HookRef? {
        let hooks = d.plan.spec.hooks?[point] ?? []
        guard !hooks.isEmpty else { return nil }
        let done = Set(d.finishedHooks ?? [])
        let step = point == .afterStep ? d.stepIndex : nil
        return hooks.indices.lazy.map { HookRef(point: point, index: $0, step: step) }.first { !done.contains($0.key) }
    }

    /// The next hook of `point` to run: first stored as started, then performed.
    static func hookDecision(_ d: Deployment, _ point: HookPoint, now: Date) -> Decision? {
        guard let ref = pendingHook(d, point), let hook = ref.hook(in: d.plan.spec) else { return nil }
        if d.runningHook == ref.key { return .perform(.runHook(ref)) }
        var next = d
        next.runningHook = ref.key
        next.updatedAt = now
        let step = point == .afterStep ? " for step \(d.stepLabel) at \(d.greenWeight)% green" : ""
        return .transition(Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "running the \(ref)\(step): \(hook.commandLine) (timeout \(hook.timeout))",
                                                                       details: ["hook": ref.key, "run": hook.commandLine])))
    }

    /// A hook's process ended: it is finished whatever its outcome, and its `on_failure` decides what a failure does.
    static func applyHook(_ d: Deployment, _ ref: HookRef, _ result: HookResult, now: Date) -> Transition {
        guard d.runningHook == ref.key, let hook = ref.hook(in: d.plan.spec) else { return Transition(deployment: d, log: nil) }
        var next = d
        next.updatedAt = now
        next.runningHook = nil
        next.finishedHooks = (d.finishedHooks ?? []) + [ref.key]
        let outcome = result.outcome(timeout: hook.timeout)
        var details = ["hook": ref.key, "run": hook.commandLine, "outcome": outcome, "seconds": String(format: "%.1f", result.seconds),
                       "output": result.output]
        if let code = result.exitCode { details["exit_code"] = String(code) }
        if result.droppedBytes > 0 { details["output_dropped_bytes"] = String(result.droppedBytes) }
        if result.passed {
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "the \(ref) passed: \(hook.commandLine) \(outcome) after \(details["seconds"] ?? "")s", details: details))
        }
        let tail = result.lastLines(3)
        let why = "the \(ref) (\(hook.commandLine)) \(outcome)" + (tail.isEmpty ? "" : ": \(tail)")
        details["on_failure"] = hook.onFailure.rawValue
        details["check"] = "hook:\(ref.point.rawValue)"
        let onFailure = ref.point.canChangeTheRelease ? hook.onFailure : .ignore
        switch onFailure {
        case .rollback:
            return startRollback(next, now: now, reason: why, details: details)
        case .pause:
            next.state = .paused
            next.hookPause = d.state
            next.phaseStartedAt = now
            return Transition(deployment: next, log: LogEntry(from: d.state, to: .paused, message:
                "\(why); paused (on_failure: pause): `switchyard promote \(d.id)` goes on past it, `switchyard rollback \(d.id)` rolls back", details: details))
        case .ignore:
            let over = ref.point.canChangeTheRelease ? "on_failure: ignore" : "the release is over, so a failure there only logs"
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "\(why); going on (\(over))", details: details))
        }
    }

    /// The process was stopped before the hook ended: it stays started, so `resume` runs it again.
    static func applyHookInterrupted(_ d: Deployment, _ ref: HookRef, now: Date) -> Transition {
        guard d.runningHook == ref.key else { return Transition(deployment: d, log: nil) }
        return Transition(deployment: d, log: LogEntry(from: d.state, to: d.state, message: "the \(ref) was stopped before it ended; it runs again on `switchyard resume \(d.id)`",
                                                       details: ["hook": ref.key]))
    }

    /// Paused by a failed hook, `promote` returns to where the hook ran, the hook counted as finished.
    static func leaveHookPause(_ d: Deployment, back: DeploymentState, now: Date) -> Transition {
        var next = d
        next.promoteRequested = false
        next.hookPause = nil
        next.state = back
        next.phaseStartedAt = now
        next.updatedAt = now
        return Transition(deployment: next, log: LogEntry(from: .paused, to: back, message: "promoted past the failed hook: the release goes on"))
    }

    /// Promotion confirmed and every `after_promotion` hook ran: the release is completed, blue kept for rollback.
    static func complete(_ d: Deployment, now: Date) -> Transition {
        var next = d
        next.state = .completed
        next.phaseStartedAt = now
        next.updatedAt = now
        next.retentionDeadline = now.adding(d.plan.spec.promotion.blueRetention)
        next.promotedAt = d.promotedAt ?? now
        return Transition(deployment: next, log: LogEntry(from: .promoting, to: .completed, message: "green \(d.plan.greenGroup) promoted: 100% of traffic on \(d.image); blue \(d.plan.blue.group) kept for \(d.plan.spec.promotion.blueRetention)"))
    }

    /// The unfinished hook a resume runs again, in words for the audit trail, or nil.
    static func unfinishedHook(_ d: Deployment) -> String? {
        guard let key = d.runningHook else { return nil }
        return "hook \(key) had not finished; running it again"
    }
}
