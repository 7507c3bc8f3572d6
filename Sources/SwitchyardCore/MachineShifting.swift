import Foundation

/// The steps of a release: each weight written, settled, baked under its checks, then the next.
extension Machine {
    static func decideShifting(_ d: Deployment, now: Date) -> Decision {
        guard let step = d.currentStep else {
            var next = d
            next.state = .promoting
            next.phaseStartedAt = now
            next.updatedAt = now
            return .transition(Transition(deployment: next, log: LogEntry(from: .shifting, to: .promoting, message: "all steps baked; promoting green")))
        }
        // Green is healthy and takes no traffic yet: the smoke test runs before the first weight is written.
        if let hook = hookDecision(d, .beforeTraffic, now: now) { return hook }
        guard case .weight(let weight, let bake) = step else {
            var next = d
            next.state = .paused
            next.phaseStartedAt = now
            next.updatedAt = now
            return .transition(Transition(deployment: next, log: LogEntry(from: .shifting, to: .paused, message: "waiting at a manual gate for `switchyard promote \(d.id)`")))
        }
        // A step's checks judge its own traffic: none runs (and none counts toward a rollback) until its weights are
        // live, at confirmation + traffic.settle; the previous step's traffic is what clients see until then.
        let settlingUntil = d.greenWeight == weight ? d.bakeStartedAt.flatMap { $0 > now ? $0 : nil } : nil
        if d.recheckAfterResume == true, settlingUntil == nil { return .perform(.runChecks) }
        // The test route is trusted only once probes through it, live, have passed: before any weight moves to green.
        if d.greenWeight == 0, weight > 0, !d.testRouteProven { return due(d, now: now, .runChecks) }
        guard d.greenWeight == weight, let bakeStart = d.bakeStartedAt else {
            guard d.plan.shared != nil else { return .perform(.setSplit(green: weight)) }
            return scalingToShare(d, weight: weight, now: now)
        }
        if let hook = hookDecision(d, .afterStep, now: now) { return hook }
        if let live = settlingUntil { return .wait(until: live) }
        let bakeEnd = bakeStart.adding(bake)
        if now >= bakeEnd {
            // However short the bake, the checks run at least once under this step's traffic, and a check that is
            // failing (below its threshold) must pass again or reach its threshold before the weight rises.
            guard let checked = d.lastChecksAt, checked >= bakeStart, d.checksPendingAtWeight != true else { return .perform(.runChecks) }
            if !d.consecutiveFailures.isEmpty { return due(d, now: now, .runChecks) }
            if let starved = starvedMetrics(d, weight: weight, now: now) { return .transition(starved) }
            return .transition(advance(d, now: now, message: "step \(d.stepLabel) baked \(bake) at \(weight)% green"))
        }
        if let next = d.nextCheckAt, next > now {
            return .wait(until: min(next, bakeEnd))
        }
        return .perform(.runChecks)
    }

    /// How long a fleet in a shared target group may take to reach its count, in seconds: to launch and to become healthy.
    static func sharedBound(_ spec: DeploymentSpec) -> TimeInterval {
        spec.fleet.capacityTimeout.seconds + spec.checks.healthyTimeout.seconds
    }

    /// A step with a shared target group is scaled to, over several looks: each one due after the last, bounded by the
    /// time green may take to launch and to become healthy (`fleet.capacity_timeout` + `checks.healthy_timeout`), after
    /// which it rolls back. Blue gave up only instances the look before found surplus to a healthy green.
    static func scalingToShare(_ d: Deployment, weight: Int, now: Date) -> Decision {
        let spec = d.plan.spec
        if now.timeIntervalSince(d.phaseStartedAt) >= sharedBound(spec) {
            let seen = d.lastObservation.map { " (last seen: \($0))" } ?? ""
            return .transition(startRollback(d, now: now, reason: "step \(d.stepLabel) did not reach \(weight)% green within fleet.capacity_timeout "
                + "\(spec.fleet.capacityTimeout) + checks.healthy_timeout \(spec.checks.healthyTimeout)\(seen)", details: ["check": "capacity"]))
        }
        // Green serves its share of the step before while this one is scaled to (instances take minutes to launch):
        // the checks go on judging it, one tick between two looks, and a failing one rolls back from here.
        if d.greenWeight > 0, let looked = d.lastObservationAt, looked > (d.lastChecksAt ?? .distantPast), now >= looked.adding(spec.checks.interval) {
            return .perform(.runChecks)
        }
        return due(d, now: now, .setSplit(green: weight))
    }

    /// A rollback with a shared target group: blue scaled back and healthy before green leaves, over several looks. If
    /// blue cannot get there within `fleet.capacity_timeout` + `checks.healthy_timeout`, the rollback fails and green
    /// keeps serving: it is the only fleet that does.
    static func restoringSharedBlue(_ d: Deployment, now: Date) -> Decision {
        let spec = d.plan.spec
        if now.timeIntervalSince(d.phaseStartedAt) >= sharedBound(spec) {
            var next = d
            next.state = .failed
            next.updatedAt = now
            let seen = d.lastObservation.map { " (last seen: \($0))" } ?? ""
            next.failureReason = "blue \(d.plan.blue.group) did not get back to its healthy instances within fleet.capacity_timeout "
                + "\(spec.fleet.capacityTimeout) + checks.healthy_timeout \(spec.checks.healthyTimeout)\(seen); green keeps its instances and "
                + "serves beside what blue has. Retry with `switchyard rollback \(d.id)`."
            return .transition(Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .failed, message: next.failureReason ?? "",
                                                                          details: ["effect": Effect.restoreBlue.title])))
        }
        return due(d, now: now, .restoreBlue)
    }

    /// A bake over while a metric check still had too few data points: its `on_no_data` rolls back or pauses (promote
    /// goes on to the next step); `pass` and checks with data let the step advance.
    static func starvedMetrics(_ d: Deployment, weight: Int, now: Date) -> Transition? {
        let starved = (d.lastChecks ?? []).filter { $0.onNoData == .rollback || $0.onNoData == .pause }
        guard let first = starved.first(where: { $0.onNoData == .rollback }) ?? starved.first else { return nil }
        let details = ["check": first.name, "evidence": first.evidence, "on_no_data": first.onNoData?.rawValue ?? ""]
        if first.onNoData == .rollback {
            return startRollback(d, now: now, reason: "check \(first.name) had not enough data when step \(d.stepLabel) had baked: \(first.evidence)",
                                 details: details)
        }
        var next = d
        next.state = .paused
        next.phaseStartedAt = now
        next.updatedAt = now
        return Transition(deployment: next, log: LogEntry(from: .shifting, to: .paused, message:
            "check \(first.name) had not enough data when step \(d.stepLabel) had baked at \(weight)% green; waiting for `switchyard promote \(d.id)` or `rollback`",
            details: details))
    }

    /// Moves to the step after the current one (skipping nothing), or to promotion after the last.
    static func advance(_ d: Deployment, now: Date, message: String) -> Transition {
        var next = d
        let from = d.state
        next.stepIndex += 1
        next.bakeStartedAt = nil
        next.phaseStartedAt = now
        next.updatedAt = now
        if next.stepIndex >= d.plan.spec.steps.count {
            next.state = .promoting
        } else {
            next.state = .shifting
        }
        return Transition(deployment: next, log: LogEntry(from: from, to: next.state, message: message))
    }
}
