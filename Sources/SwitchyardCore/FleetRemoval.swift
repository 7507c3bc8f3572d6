import Foundation

/// A fleet leaving service on its way to being scaled to 0 or deleted: green after a rollback, blue at retirement, a
/// group retired from green's target group. Every removal follows the same rule, and every deadline of it is stored,
/// so a resumed run waits only what is left and never removes early:
///
/// 1. its traffic was confirmed gone (`trafficLeftAt`), and `traffic.settle` has passed since (`settleUntil`), because a
///    load balancer applies a listener change seconds after the API accepts it, and resolvers keep a record for its TTL;
/// 2. it is deregistered (its target groups detached from it), so the load balancer stops sending it new requests;
/// 3. its targets drain, until `DescribeTargetHealth` shows none of its instances still registered, bounded by the
///    target group's own `deregistration_delay.timeout_seconds` (`drainUntil`);
/// 4. only then is it scaled to 0 or deleted.
public struct FleetRemoval: Sendable, Hashable, Codable {
    /// The Auto Scaling group leaving service.
    public var group: String
    /// When its last traffic was confirmed gone (a listener or record write read back, a promotion confirmed); nil when
    /// it never had any client traffic as far as the record knows (a green rolled back before its first weight).
    public var trafficLeftAt: Date?
    /// Clients may still reach it until then (`trafficLeftAt` + `traffic.settle`): it is not deregistered before.
    public var settleUntil: Date
    /// When its target groups were detached from it.
    public var deregisteredAt: Date?
    /// The target groups detached from it (a kept pair group gets them back once it is at 0).
    public var pools: [String]?
    /// The longest `deregistration_delay.timeout_seconds` of those target groups, as AWS reported it.
    public var deregistrationDelaySeconds: Int?
    /// The end of the drain: requests in flight when it was deregistered get the target group's delay to finish.
    public var drainUntil: Date?
    /// Its instances still registered in those target groups at the last look (any state but `unused`).
    public var registered: [TargetHealthReport.Target]?
    /// When the drain is looked at next.
    public var nextObservationAt: Date?
    /// Set once nothing of it is registered any more (or, for a fleet that never had a client, only `draining`
    /// targets are left past `drainUntil`).
    public var drained: Bool?
    /// Set when a target was still registered (serving or draining) past `drainUntil` and the grace after it: the
    /// removal stopped there. Cleared by the next look.
    public var stuck: String?

    /// Stored under the AWS names records always had.
    enum CodingKeys: String, CodingKey {
        case group, trafficLeftAt, settleUntil, deregisteredAt, pools = "targetGroups", deregistrationDelaySeconds, drainUntil, registered
        case nextObservationAt, drained, stuck
    }

    public init(group: String, trafficLeftAt: Date?, settle: TimeSpan, now: Date) {
        self.group = group
        self.trafficLeftAt = trafficLeftAt
        self.settleUntil = trafficLeftAt.map { max($0.adding(settle), $0) } ?? now
    }

    /// Where the removal is, for `status`, `show` and the live view.
    public enum Phase: Sendable, Hashable {
        /// Clients may still reach it until then.
        case settling(until: Date)
        /// Being detached from its target groups.
        case deregistering
        /// Detached; `targets` instances still registered (draining, or not yet shown draining) until `until`.
        case draining(targets: Int, until: Date)
        /// Drained: being scaled to 0 or deleted.
        case removing
    }

    public func phase(at now: Date) -> Phase {
        if deregisteredAt == nil { return now < settleUntil ? .settling(until: settleUntil) : .deregistering }
        if drained == true { return .removing }
        return .draining(targets: registered?.count ?? 0, until: drainUntil ?? now)
    }
}

extension Machine {
    /// How long after `drainUntil` a target may still be listed, serving or draining (a stale read, a deregistration
    /// Auto Scaling sent after the detach's answer, so the load balancer's delay ends after ours), before the removal
    /// stops and says so.
    public static let drainGrace: TimeInterval = 60

    /// The next step of a removal: a wait, an effect, or `removable`.
    public enum RemovalStep: Sendable, Hashable {
        case wait(until: Date)
        case perform(Effect)
        /// Nothing of the fleet receives traffic any more: it may be scaled to 0 or deleted now.
        case removable
    }

    /// The one rule that decides whether a fleet leaving service no longer receives traffic. Every removal (green after
    /// a rollback, blue at retirement, a group retired from green's target group, in either fleet mode and with either
    /// traffic backend) scales a group to 0 or deletes it only when this answers `removable`.
    public static func removalStep(_ r: FleetRemoval, now: Date, interval: TimeSpan) -> RemovalStep {
        guard r.deregisteredAt != nil else {
            if now < r.settleUntil { return .wait(until: r.settleUntil) }
            return .perform(.deregisterFleet(r.group))
        }
        if r.drained == true { return .removable }
        // Stopped on a target still serving: the next attempt detaches again (someone may have attached it back) and
        // drains from there.
        if r.stuck != nil { return .perform(.deregisterFleet(r.group)) }
        if let next = r.nextObservationAt, next > now { return .wait(until: next) }
        return .perform(.observeDrain(r.group))
    }

    /// Work due on a terminal deployment, one decision at a time: retiring blue once a completed release's retention
    /// is over (its removal begun, settled, deregistered, drained, then the group removed), or the test route a failed
    /// rollback left. Nil when nothing is due. `switchyard start` and `gc` run it under the service's lease.
    public static func housekeeping(_ d: Deployment, now: Date) -> Decision? {
        // A failed rollback may have left the test route standing; it goes once nobody runs the deployment.
        if d.state == .failed && d.testRouteMayStand { return .perform(.removeTestRoute) }
        guard d.blueRetentionExpired(at: now) else { return nil }
        let blue = d.plan.blue.group
        // Blue's traffic left when promotion was confirmed.
        return removing(d, group: blue, trafficLeftAt: d.promotedAt ?? d.phaseStartedAt, now: now, then: .retireBlue,
                        why: "retiring blue \(blue): its retention ended")
    }

    /// A retirement from green's target group that a rollback interrupted: one never deregistered is dropped (nothing
    /// was changed), one already detached goes on to its end, since the group stands in no target group any more.
    static func interruptedRetirement(_ d: Deployment, now: Date) -> Decision? {
        guard let r = d.removal, r.group != d.plan.greenGroup else { return nil }
        guard r.deregisteredAt != nil else {
            var next = d
            next.removal = nil
            next.updatedAt = now
            return .transition(Transition(deployment: next, log: LogEntry(from: d.state, to: d.state,
                message: "retiring \(r.group) left off: it was not deregistered yet, and stays as it is", details: LogEntry.fleet(r.group))))
        }
        return removing(d, group: r.group, trafficLeftAt: r.trafficLeftAt, now: now, then: .retireFleet(r.group), why: "retiring \(r.group)")
    }

    /// What decide answers for a fleet that must go: the removal begun (stored first), its next step, or `final` once
    /// it is `removable`.
    static func removing(_ d: Deployment, group: String, trafficLeftAt: Date?, now: Date, then final: Effect, why: String) -> Decision {
        guard let r = d.removal, r.group == group else {
            return .transition(beginRemoval(d, group: group, trafficLeftAt: trafficLeftAt, now: now, why: why))
        }
        switch removalStep(r, now: now, interval: d.plan.spec.checks.interval) {
        case .wait(let until): return .wait(until: until)
        case .perform(let effect): return .perform(effect)
        case .removable: return .perform(final)
        }
    }

    /// Stores the start of a removal, with the settle it waits first.
    static func beginRemoval(_ d: Deployment, group: String, trafficLeftAt: Date?, now: Date, why: String) -> Transition {
        var next = d
        let r = FleetRemoval(group: group, trafficLeftAt: trafficLeftAt, settle: d.plan.trafficSettle, now: now)
        next.removal = r
        if !d.state.isTerminal { next.updatedAt = now }
        var details = LogEntry.fleet(group, ["settle_until": StoredTime.text(r.settleUntil)])
        if let left = trafficLeftAt { details["traffic_left_at"] = StoredTime.text(left) }
        let wait = r.settleUntil > now ? "settling until \(StoredTime.clock(r.settleUntil)) (traffic.settle \(d.plan.trafficSettle)), then deregistering and draining it"
            : "deregistering and draining it"
        return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "\(why): \(wait) before it is removed", details: details))
    }

    /// Applies a deregistration or a look at the drain to the removal of `group`; events for another group change nothing.
    static func applyRemoval(_ d: Deployment, _ event: Event, now: Date) -> Transition? {
        switch event {
        case .fleetDeregistered(let group, let pools, let delay):
            guard var r = d.removal, r.group == group else { return nil }
            var next = d
            if r.deregisteredAt == nil || r.stuck != nil {
                r.stuck = nil
                r.registered = nil
                r.deregisteredAt = now
                r.pools = pools
                r.deregistrationDelaySeconds = delay
                r.drainUntil = drainDeadline(r, deregisteredAt: now, delay: delay)
            }
            r.nextObservationAt = nil
            next.removal = r
            if !d.state.isTerminal { next.updatedAt = now }
            let until = r.drainUntil.map(StoredTime.text) ?? ""
            let clock = r.drainUntil.map(StoredTime.clock) ?? ""
            let tgs = pools.isEmpty ? "it stood in no target group" : "detached from \(pools.map(d.plan.spec.traffic.poolDisplay).joined(separator: ", "))"
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state,
                message: "\(group) deregistered (\(tgs)); draining until \(clock) at most (deregistration delay \(delay) s)",
                details: LogEntry.fleet(group, ["deregistration_delay_seconds": String(delay), "drain_until": until])))
        case .drainObserved(let group, let targets):
            guard let r = d.removal, r.group == group, r.deregisteredAt != nil else { return nil }
            return applyDrain(d, r, targets: targets, now: now)
        default:
            return nil
        }
    }

    /// The drain's end: the load balancer starts a target's deregistration delay when it takes the deregistration,
    /// which is no earlier than the settle's end and may be later (the detach is sent after it). The delay is
    /// counted from when the detach's answer came back, so no clock of ours ends it before the load balancer's does.
    /// A fleet that never took traffic drains nothing: its drain ends once it reads deregistered.
    static func drainDeadline(_ r: FleetRemoval, deregisteredAt: Date, delay: Int) -> Date {
        guard r.trafficLeftAt != nil else { return deregisteredAt }
        return deregisteredAt.addingTimeInterval(TimeInterval(max(delay, 0)))
    }

    private static func applyDrain(_ d: Deployment, _ r: FleetRemoval, targets: [TargetHealthReport.Target], now: Date) -> Transition {
        var r = r
        var next = d
        if !d.state.isTerminal { next.updatedAt = now }
        let registered = targets.filter { $0.state != "unused" }
        let serving = registered.filter { $0.state != "draining" }
        let until = r.drainUntil ?? now
        r.registered = registered
        r.stuck = nil
        // A target listed `draining` may still have requests in flight, and the load balancer may have taken the
        // deregistration later than our detach's answer (Auto Scaling sends it asynchronously), so its delay may end
        // after ours: the fleet counts as drained only once none of its instances is listed. A fleet that never had a
        // client has nothing in flight, so its draining targets do not hold it.
        let quiet = r.trafficLeftAt == nil && serving.isEmpty && now >= until
        if registered.isEmpty || quiet {
            r.drained = true
            r.nextObservationAt = nil
            next.removal = r
            let how = registered.isEmpty ? "none of its instances is registered any more"
                : "it never had a client, and \(Spelling.count(registered.count, "target")) still read draining"
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "\(r.group) drained: \(how)", details: LogEntry.fleet(r.group)))
        }
        if now >= until.addingTimeInterval(drainGrace) {
            let list = registered.map { "\($0.instanceId) \($0.state)" }.joined(separator: ", ")
            let why = "\(r.group) still has \(Spelling.count(registered.count, "target")) registered \(Int(now.timeIntervalSince(until))) s after its drain should have ended (\(list)): "
                + "it may still receive traffic or finish requests, so it was not removed"
            r.stuck = why
            next.removal = r
            if d.state.isTerminal { return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: why, details: LogEntry.fleet(r.group))) }
            return applyFailure(next, effect: .observeDrain(r.group), message: why, now: now)
        }
        let step = d.plan.spec.checks.interval.seconds
        var wake = now.addingTimeInterval(step)
        if until > now { wake = min(wake, until) }
        r.nextObservationAt = wake
        next.removal = r
        return Transition(deployment: next, log: nil)
    }
}
