import Foundation

/// A launch Auto Scaling tried for green, as its scaling activities report it.
public struct LaunchActivity: Sendable, Hashable, Codable {
    public var id: String
    /// `Successful`, `Failed`, `Cancelled`, or a state still in progress (`InProgress`, `PreInService`, …).
    public var statusCode: String
    /// AWS's own words (`We currently do not have sufficient t3.micro capacity …`).
    public var message: String
    /// In this machine's time.
    public var startedAt: Date?

    public init(id: String, statusCode: String, message: String, startedAt: Date?) {
        self.id = id
        self.statusCode = statusCode
        self.message = message
        self.startedAt = startedAt
    }
}

/// Green's launches failing one after another, newest first: how many in a row, and what AWS said last.
public struct LaunchFailures: Sendable, Hashable, Codable {
    public var inARow: Int
    public var newestId: String
    public var message: String

    public init(inARow: Int, newestId: String, message: String) {
        self.inARow = inARow
        self.newestId = newestId
        self.message = message
    }
}

/// When failed launches end the wait for green's capacity before `fleet.capacity_timeout`.
///
/// Auto Scaling tries a failed launch again on its own, so one failure is not the end: a launch that lacked capacity in
/// one zone may get it in another, an instance profile just created may take seconds to be seen. But launches that
/// fail `limit` times in a row (counted from the newest launch back to the last one that succeeded, only those since
/// green was created or set for this release) do not come right by waiting, and the release rolls back at once naming
/// AWS's words, as terraform-provider-aws ends its capacity wait on a failed activity.
public enum LaunchFailureRule {
    public static let limit = 3

    /// The failures in a row among `activities` (newest first) started at or after `since`; nil when the newest
    /// finished launch did not fail.
    public static func failures(_ activities: [LaunchActivity], since: Date?) -> LaunchFailures? {
        let recent = activities.filter { activity in since.map { (activity.startedAt ?? .distantFuture) >= $0 } ?? true }
        var count = 0
        var newest: LaunchActivity?
        for activity in recent {
            switch activity.statusCode {
            case "Failed":
                count += 1
                newest = newest ?? activity
            case "Successful":
                return newest.map { LaunchFailures(inARow: count, newestId: $0.id, message: $0.message) }
            default:
                continue  // still in progress, or cancelled: says nothing either way
            }
        }
        return newest.map { LaunchFailures(inARow: count, newestId: $0.id, message: $0.message) }
    }

    /// Whether the failures end the wait.
    public static func endsTheWait(_ failures: LaunchFailures?) -> Bool { (failures?.inARow ?? 0) >= limit }
}

/// An effect that could not reach AWS (no answer, throttled past its retries, a busy group past its limit), tried
/// again after a while instead of failing the deployment: a rollback never gives up while AWS is merely out of reach.
public struct EffectRetry: Sendable, Hashable, Codable {
    /// 1-based: the attempt that just failed.
    public var attempt: Int
    public var effect: String
    /// The next attempt is not made before this time.
    public var notBefore: Date

    public init(attempt: Int, effect: String, notBefore: Date) {
        self.attempt = attempt
        self.effect = effect
        self.notBefore = notBefore
    }

    /// Seconds before the next attempt after `attempt` failed: 1, 2, 4, 8, 16, then 30 each time.
    public static func delay(after attempt: Int) -> TimeInterval {
        min(30, pow(2, Double(max(attempt, 1) - 1)))
    }
}

extension Machine {
    /// A launch failure not seen before, in AWS's words, while green waits for capacity (nil: nothing new).
    static func launchFailureLog(_ d: Deployment, _ report: CapacityReport) -> LogEntry? {
        guard let failures = report.launchFailures, failures.newestId != d.greenCapacity?.launchFailures?.newestId else { return nil }
        return LogEntry(from: .waitingForCapacity, to: .waitingForCapacity,
                        message: "green's launch failed (\(failures.inARow) in a row; the wait ends at \(LaunchFailureRule.limit)): \(failures.message)",
                        details: ["launch_failures_in_a_row": String(failures.inARow), "activity_id": failures.newestId])
    }

    /// An effect failed because AWS could not be reached (or kept throttling, or the group stayed busy): a rollback
    /// tries it again after a capped backoff for as long as it takes (the operator can stop it). Retiring an earlier
    /// group before green is made never rolls the release back (housekeeping out of reach is no reason to give up a
    /// release): while the group may still stand in green's target group it is tried again the same way, for as long
    /// as it takes; once it is deregistered (it serves nothing), its removal is left off and the release goes on.
    /// Anything else rolls back as any failure does.
    static func applyUnreachable(_ d: Deployment, effect: Effect, message: String, now: Date) -> Transition {
        let retiring = d.removal.map { $0.group != d.plan.greenGroup && effect.removes($0.group) } ?? false
        if retiring, let r = d.removal, d.state == .rollingBack || (d.state == .launching && r.deregisteredAt != nil) {
            // An earlier release's group, out of service since the plan: neither a rollback nor the release waits on it.
            // It stays as it is (deregistered, serving nothing), and `switchyard gc` retires it.
            var next = d
            next.removal = nil
            next.effectRetry = nil
            next.updatedAt = now
            var why = "it serves no traffic, and the next `start` or `switchyard gc` retires it"
            if d.state == .launching {
                next.leftOffGroups = (d.leftOffGroups ?? []) + [r.group]
                why = "it stands in no \(d.plan.spec.cloud.pool) and serves nothing, so the release goes on without it; `switchyard gc` retires it "
                    + "once the release that kept it is past its retention (a group no record keeps is for a person to delete)"
            }
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state,
                message: "retiring \(r.group) left off: \(effect.title) could not reach \(d.plan.spec.cloud.name) (\(message)); \(why)",
                details: LogEntry.fleet(r.group, ["effect": effect.title])))
        }
        guard d.state == .rollingBack || (d.state == .launching && retiring) else {
            return apply(d, .effectFailed(effect, message: message), now: now)
        }
        var next = d
        next.updatedAt = now
        let attempt = (d.effectRetry?.effect == effect.title ? d.effectRetry?.attempt ?? 0 : 0) + 1
        let delay = EffectRetry.delay(after: attempt)
        next.effectRetry = EffectRetry(attempt: attempt, effect: effect.title, notBefore: now.addingTimeInterval(delay))
        let why = d.state == .rollingBack
            ? "a rollback does not give up while \(d.plan.spec.cloud.name) is out of reach: Ctrl-C stops it here, `switchyard rollback \(d.id)` carries it on"
            : "the group may still stand in green's \(d.plan.spec.cloud.pool), so green is not made before it is out: a retirement out of reach never rolls the release back; Ctrl-C stops it here, `switchyard resume \(d.id)` carries it on"
        let message = "\(effect.title) could not reach \(d.plan.spec.cloud.name) (attempt \(attempt)): \(message); trying again in \(Int(delay)) s (\(why))"
        return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: message,
                                                          details: ["effect": effect.title, "attempt": String(attempt), "retry_in_seconds": String(Int(delay))]))
    }
}

extension Deployment {
    /// A failed deployment whose traffic is not all on blue: its rollback failed before the listener was confirmed
    /// back (a permission missing, a listener that refuses), so it is not over. `status` lists it as active, with the
    /// `switchyard rollback` that finishes it.
    public var trafficUnsettled: Bool {
        state == .failed && !reached(.trafficRestored) && greenWeight > 0
    }
}

extension Effect {
    /// Whether this effect is a step of removing `group` (deregistering it, observing its drain, deleting it).
    func removes(_ group: String) -> Bool {
        switch self {
        case .retireFleet(let g), .deregisterFleet(let g), .observeDrain(let g): return g == group
        default: return false
        }
    }
}
