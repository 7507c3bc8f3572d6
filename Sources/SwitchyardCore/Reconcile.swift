import Foundation

/// What AWS shows for a deployment when it is resumed: read fresh, before anything else happens.
public struct Observation: Sendable, Hashable {
    /// The forward weights in percent by target group ARN; with several forwards, each group's highest share.
    public var weights: [String: Int]
    /// Set when several forwards split the traffic differently (a write stopped half-way): each one's split, in words.
    public var disagreement: String?
    public var blueExists: Bool
    public var blueInService: Int
    public var greenExists: Bool
    public var greenInService: Int
    public var greenDesired: Int
    /// Blue's and green's shares in percent when the split is carried by instance counts in one target group (where
    /// `weights`, by target group, cannot tell them apart and is empty).
    public var shares: Shares?

    public struct Shares: Sendable, Hashable {
        public var blue: Int
        public var green: Int

        public init(blue: Int, green: Int) {
            self.blue = blue
            self.green = green
        }
    }

    public init(weights: [String: Int], blueExists: Bool, blueInService: Int, greenExists: Bool, greenInService: Int, greenDesired: Int,
                disagreement: String? = nil) {
        self.weights = weights
        self.disagreement = disagreement
        self.blueExists = blueExists
        self.blueInService = blueInService
        self.greenExists = greenExists
        self.greenInService = greenInService
        self.greenDesired = greenDesired
    }
}

/// The stored record checked against AWS: how to go on, or why it is not safe to.
public struct Reconciliation: Sendable, Hashable {
    /// The record to store and continue from.
    public var deployment: Deployment
    /// What was found, for the audit trail.
    public var log: LogEntry
    /// Set when AWS contradicts the record in a way that is not safe to continue from; nothing must be changed then.
    public var unsafe: String?
}

extension Machine {
    /// Compares a stored deployment with what AWS shows after an interruption, and says how to go on.
    ///
    /// - A listener that forwards to a target group other than blue's and green's, or a blue group that is gone
    ///   while blue may still be needed, is not safe to continue from: the record stays, traffic stays untouched.
    /// - Green taking traffic before it was proven healthy, or green gone while it should stand, rolls back.
    /// - Weights that moved after the last stored confirmation (a crash between the call and the save) are adopted;
    ///   the step confirms them again and bakes from now.
    /// - Capacity and health timeouts count from the resume; a bake goes on from its stored start.
    public static func reconcile(_ stored: Deployment, observed: Observation, actor: String, now: Date) -> Reconciliation {
        var d = stored
        d.updatedAt = now
        d.nextCheckAt = nil
        let plan = d.plan
        let green = observed.shares?.green ?? observed.weights[plan.greenPool] ?? 0
        let blue = observed.shares?.blue ?? observed.weights[plan.blue.pool] ?? 0
        var found = "\(plan.shared == nil ? plan.spec.traffic.traits.splitName : "healthy instances:") blue \(blue)% / green \(green)% (stored: \(d.blueWeight)/\(d.greenWeight)); "
            + "blue \(plan.blue.group) " + (observed.blueExists ? "\(observed.blueInService) InService" : "missing") + "; "
            + "green \(plan.greenGroup) " + (observed.greenExists ? "\(observed.greenInService)/\(observed.greenDesired) InService" : "not there")
        var details = ["observed_green_weight": String(green), "observed_blue_weight": String(blue), "actor": actor]
        if let split = observed.disagreement {
            // Half-shifted: green's highest share counts, so the step (or the rollback) writes every forward again.
            found += "; the forwards disagree (\(split))"
            details["forwards"] = split
        }

        func outcome(_ message: String, unsafe: String? = nil) -> Reconciliation {
            Reconciliation(deployment: d, log: LogEntry(from: stored.state, to: d.state, message: message, details: details), unsafe: unsafe)
        }

        // A target group a person forwarded to by hand, which the record already paused on (or let stand), is known.
        let handSet = Set((d.handChange?.found ?? [:]).keys).union((d.trafficBaseline ?? [:]).keys)
        let strangers = observed.weights.filter { $0.value > 0 && $0.key != plan.greenPool && $0.key != plan.blue.pool
            && !handSet.contains($0.key) }
        if let (arn, weight) = strangers.sorted(by: { $0.key < $1.key }).first {
            d = stored
            let split = plan.spec.traffic.traits.splitName
            let why = "the \(split) forwards \(weight)% to \(arn), which is neither blue's nor green's \(plan.spec.cloud.pool); someone else changed it. "
                + "Nothing was touched. Put the \(split) back on \(plan.blue.pool) (blue) and resume again, or roll back."
            details["unsafe"] = why
            return outcome("resume refused: \(found)", unsafe: why)
        }
        let needsBlue = !(d.state == .rollingBack && d.reached(.trafficRestored))
        if !observed.blueExists && needsBlue {
            d = stored
            let why = "blue's group \(plan.blue.group) is gone, so neither going on nor rolling back is safe (no fleet to fall back on). "
                + "Nothing was touched: traffic is blue \(blue)% / green \(green)%."
            details["unsafe"] = why
            return outcome("resume refused: \(found)", unsafe: why)
        }

        switch d.state {
        case .pending, .launching, .waitingForCapacity, .checkingHealth:
            if green > 0 {
                d.progress.insert(.greenServed)
                found += "; green takes traffic before it was proven healthy"
                let t = startRollback(d, now: now, reason: "on resume, the \(plan.spec.traffic.traits.splitName) sent \(green)% to green before green was proven healthy", details: ["check": "resume"])
                d = t.deployment
                return outcome("resumed by \(actor): \(found)")
            }
            // A failed probe through the test route may have been lost with the crash: the count starts again.
            if d.testRouteProbePasses != nil { d.testRouteProbePasses = 0 }
            if d.state == .waitingForCapacity || d.state == .checkingHealth {
                d.phaseStartedAt = now
                found += "; the \(d.state == .waitingForCapacity ? "capacity" : "health") timeout counts from now"
            }
        case .shifting, .paused, .promoting:
            if (d.state == .shifting || d.state == .paused) && green > 0 { d.recheckAfterResume = true }
            if green > 0 { d.progress.insert(.greenServed) }
            if d.greenWeight == 0, d.testRouteProbePasses != nil { d.testRouteProbePasses = 0 }
            if !observed.greenExists {
                let t = startRollback(d, now: now, reason: "on resume, green's group \(plan.greenGroup) is gone", details: ["check": "resume"])
                d = t.deployment
                return outcome("resumed by \(actor): \(found)")
            }
            if green != d.greenWeight {
                // The listener moved after the last stored confirmation: adopt it; the step confirms it again.
                d.greenWeight = green
                d.bakeStartedAt = nil
                found += "; adopting the \(plan.spec.traffic.traits.splitName)'s weights"
            }
            if plan.shared != nil, d.state == .shifting, d.bakeStartedAt == nil {
                // A step being scaled to: its bound counts from the resume, as a capacity wait's does.
                d.phaseStartedAt = now
                found += "; the step's time counts from now"
            }
        case .rollingBack:
            if green > 0 { d.progress.insert(.greenServed) }
            if plan.shared != nil, !d.reached(.trafficRestored) {
                // Blue being brought back: its bound counts from the resume, not from a rollback begun before the outage.
                d.phaseStartedAt = now
                found += "; blue's restore time counts from now"
            }
            // In a shared target group green serves beside the restored blue until its removal drains it.
            if d.reached(.trafficRestored) && green > 0 && plan.shared == nil {
                d.progress.remove(.trafficRestored)
                // Green's removal starts again from a new confirmation: its settle counts from there.
                if d.removal?.group == plan.greenGroup { d.removal = nil }
                d.trafficRestoredAt = nil
                found += "; traffic is no longer all on blue, restoring it again"
            }
        case .completed, .rolledBack, .failed:
            break
        }
        if let hook = unfinishedHook(d) {
            found += "; \(hook)"
            details["hook"] = d.runningHook
        }
        return outcome("resumed by \(actor): \(found)")
    }

    /// Why undoing a completed release must not move traffic back to blue now, or nil when it may: traffic never
    /// goes to a fleet that is gone, or smaller than the green that serves all of it (another state file's release
    /// may have retired or shrunk blue meanwhile).
    public static func undoRefusal(_ d: Deployment, observed: Observation) -> String? {
        guard d.state == .completed else { return nil }
        let blue = d.plan.blue.group
        let blueShare = observed.shares?.blue ?? observed.weights[d.plan.blue.pool] ?? 0
        let greenShare = observed.shares?.green ?? observed.weights[d.plan.greenPool] ?? 0
        let where_ = "Traffic was left where it is (blue \(blueShare)% / green \(greenShare)%)."
        guard observed.blueExists else {
            return "blue's group \(blue) no longer exists, so there is no fleet to move traffic back to. \(where_)"
        }
        // In a shared target group the rollback scales blue back and waits for it healthy before green gives up any
        // instance: blue kept at 0 is what a promotion leaves.
        if d.plan.shared != nil { return nil }
        let needed = max(1, observed.greenInService)
        guard observed.blueInService >= needed else {
            return "blue's group \(blue) has \(observed.blueInService) InService instance(s), fewer than the \(needed) of green that serve the traffic now. \(where_)"
        }
        return nil
    }
}
