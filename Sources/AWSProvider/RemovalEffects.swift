import AWS
import Foundation
import Orchestrator
import Logging
import SwitchyardCore

/// The effects of a fleet leaving service (`Machine.removalStep`): deregistering it, watching it drain, and the one
/// gate every scale-to-0 and deletion passes.
extension AWSEffects {
    /// Detaches every target group the fleet stands in (and those the plan put it in, which a crash may already have
    /// detached), so the load balancer sends it no new request and drains what is in flight; reports the longest
    /// deregistration delay of them, read from AWS. Refused while any of them carries traffic (for green after a
    /// rollback: green's own; a target group it shares with blue keeps blue).
    func deregisterFleet(_ name: String, _ d: Deployment) async throws -> Event {
        let known = Self.targetGroups(leaving: name, d)
        guard let group = try await currentGroup(name) else {
            return .fleetDeregistered(fleet: name, pools: [], delaySeconds: 0)
        }
        if !d.state.isTerminal { try await fenceListener(d) }
        if d.plan.shared != nil {
            // A fleet's share of a shared target group is its own instances there: leaving it (the detach deregisters
            // them, and the drain below waits them out) is how its traffic goes, once the other fleet serves.
            try await refuseLeavingShared(name, d)
        } else {
            try await refuseWhileCarrying(group, d, only: name == d.plan.greenGroup ? [d.plan.greenPool] : nil)
        }
        // A Classic Load Balancer the plan shares is left by detaching it from the group (DetachLoadBalancers).
        let classic = d.plan.spec.traffic.shared?.loadBalancerName.flatMap { group.loadBalancerNames.contains($0) ? [$0] : nil } ?? []
        let attached = group.targetGroupARNs + classic.map { InstancePool.classic($0).id }
        if let request = SettingsCopier.detach(targetGroups: group.targetGroupARNs, group: name) { try await aws.autoScaling.client.send(request) }
        if let request = SettingsCopier.detach(loadBalancers: classic, group: name) { try await aws.autoScaling.client.send(request) }
        let all = Array(Set(attached).union(known)).sorted()
        let delay = try await deregistrationDelay(all)
        logger.info("fleet deregistered", metadata: ["deployment.id": "\(d.id)", "asg": "\(name)", "target_groups": "\(all)",
                                                     "deregistration_delay_seconds": "\(delay)"])
        return .fleetDeregistered(fleet: name, pools: all, delaySeconds: delay)
    }

    /// The group's instances still listed by the target groups it left, with their states.
    func observeDrain(_ name: String, _ d: Deployment) async throws -> Event {
        guard let group = try await currentGroup(name), !group.instances.isEmpty else { return .drainObserved(fleet: name, targets: []) }
        let ids = Set(group.instances.map(\.instanceId))
        let groups = d.removal?.group == name ? (d.removal?.pools ?? []) : []
        var targets: [TargetHealthReport.Target] = []
        for arn in (groups.isEmpty ? Self.targetGroups(leaving: name, d) : groups) {
            for entry in try await InstancePool(arn).health(aws) where ids.contains(entry.targetId) {
                targets.append(.init(instanceId: entry.targetId, state: entry.state, reason: entry.reason))
            }
        }
        return .drainObserved(fleet: name, targets: targets)
    }

    /// The gate in front of every scale-to-0 and deletion (`Deployment.requireDrained`), at this performer's clock.
    func requireDrained(_ name: String, _ d: Deployment) throws { try d.requireDrained(name, now: clock.now()) }

    /// The target groups the plan put the fleet in: green's (and, once released, the others it joined); blue's and
    /// blue's others; green's target group for a group retired from it.
    static func targetGroups(leaving name: String, _ d: Deployment) -> [String] {
        let others = d.plan.spec.fleet.otherPools == .joinAtPromotion ? (d.plan.fleet?.otherPools ?? []) : []
        if name == d.plan.greenGroup { return [d.plan.greenPool] + (d.reached(.greenReleased) ? others : []) }
        if name == d.plan.blue.group { return [d.plan.blue.pool] + (d.plan.fleet?.otherPools ?? []) }
        return [d.plan.greenPool]
    }

    /// The longest `deregistration_delay.timeout_seconds` of the target groups, as AWS has them (never assumed).
    func deregistrationDelay(_ arns: [String]) async throws -> Int {
        var longest = 0
        // Lambda target groups have no delay; every instance target group reports one (and a Classic Load Balancer its
        // connection-draining timeout).
        for arn in arns { longest = max(longest, try await InstancePool(arn).drainSeconds(aws)) }
        return longest
    }

    /// Throws when any of the group's target groups (or `only` those) carries traffic on any listener or rule of their
    /// load balancers (not only the forwards the file names: one added since the release began counts).
    func refuseWhileCarrying(_ group: AutoScalingGroup, _ d: Deployment, only: [String]?) async throws {
        try await refuseWhileCarrying(group.name, targetGroups: only ?? group.targetGroupARNs, d)
    }

    /// Throws when any of `watched` carries traffic by the record, or by reads taken once this deployment's last
    /// traffic write can no longer read stale (`ReadConsistency.removal`): no fleet is removed on the strength of a
    /// read that may show the listener from before the write that took its traffic away, nor kept for one. A read
    /// that could not be believed is not sent: the record is judged first, and a removal right after a write (a
    /// rollback's with `traffic.settle: 0s`) waits out the window before its one read instead of reading twice.
    func refuseWhileCarrying(_ name: String, targetGroups watched: [String], _ d: Deployment) async throws {
        guard !watched.isEmpty else { return }
        func verdict(_ read: [String: Int], at readAt: Date) -> ReadConsistency.RemovalVerdict {
            ReadConsistency.removal(watched: watched, recorded: ReadConsistency.recorded(d), read: read, readAt: readAt,
                                    lastWrite: ReadConsistency.lastWrite(d), window: readWindow)
        }
        func refuse(_ carrying: [String], _ source: ReadConsistency.Source) -> Error {
            if source == .record {
                logger.warning("the record says the group still carries traffic", metadata: ["deployment.id": "\(d.id)", "asg": "\(name)"])
            }
            return RetireError.carriesTraffic(group: name, targetGroups: carrying)
        }
        while true {
            // The record first; then, while the last write may still read stale, no read (it could not be believed).
            switch verdict([:], at: clock.now()) {
            case .carries(let carrying, let source):
                throw refuse(carrying, source)
            case .readAgain(let at):
                logger.info("reading the traffic once the last write cannot read stale",
                            metadata: ["deployment.id": "\(d.id)", "asg": "\(name)", "read_at": "\(StoredTime.text(at))"])
                try await clock.sleep(until: at)
                continue
            case .removable:
                break
            }
            let readAt = clock.now()
            let weights = try await carried(watched, d)
            switch verdict(weights, at: readAt) {
            case .removable: return
            case .carries(let carrying, let source): throw refuse(carrying, source)
            case .readAgain(let at): try await clock.sleep(until: at)
            }
        }
    }

    /// Each watched target group's highest share on the router's forwards and on every other forward to it.
    private func carried(_ watched: [String], _ d: Deployment) async throws -> [String: Int] {
        try await traffic(d).carried(watched, spec: d.plan.spec)
    }
}

