import AWS
import Foundation
import Orchestrator
import Logging
import SwitchyardCore

/// The scale-out pattern's effects (`traffic.shared`): each call is one look at both groups and the shared target
/// group or Classic Load Balancer (`InstancePool`), the one action `SharedStep` answers for it, and an event: `splitConfirmed` once the counts are reached,
/// `splitProgressing` (with what was found and done) until then. Nothing is remembered between calls, so a crash, a
/// retry or a second process simply looks again.
extension AWSEffects {
    /// Both fleets as their groups and the shared target group show them now (one read of each, together); nil for
    /// a group not listed.
    func sharedFleets(_ d: Deployment) async throws -> (blue: SharedStep.Fleet?, green: SharedStep.Fleet?, greenGroup: AutoScalingGroup?) {
        let blueName = d.plan.blue.group, greenName = d.plan.greenGroup
        async let health = InstancePool(d.plan.greenPool).health(aws)
        let groups = try await aws.autoScaling.describeAutoScalingGroups(names: [blueName, greenName])
        let states = SharedStep.Fleet.states(try await health)
        let blue = groups.first { $0.name == blueName }, green = groups.first { $0.name == greenName }
        return (blue.map { SharedStep.Fleet($0, states: states) }, green.map { SharedStep.Fleet($0, states: states) }, green)
    }

    /// Both fleets for a step: green was created before any step, so a group not listed is gone (a step must not go on
    /// without it). Blue may be gone after a completed release's retention; it then has nothing to give.
    func sharedLook(_ d: Deployment) async throws -> (blue: SharedStep.Fleet, green: SharedStep.Fleet) {
        let (blue, green, greenGroup) = try await sharedFleets(d)
        guard let green, let greenGroup else { throw GreenError.groupMissing(d.plan.greenGroup) }
        // The next health read of green (a check tick) starts from this group read, not an older one.
        memo.sawGreen(greenGroup)
        return (blue ?? SharedStep.Fleet(name: d.plan.blue.group, desired: 0, maxSize: 0, members: []), green)
    }

    /// One look of a step toward `green` percent, and its one action.
    func sharedStep(_ d: Deployment, green: Int) async throws -> Event {
        guard let shared = d.plan.shared else { throw TrafficCapabilityError.splitByCounts(d.plan.spec.traffic.kind) }
        try await fenceListener(d)
        let look = try await sharedLook(d)
        let previous = d.plan.spec.steps.prefix(d.stepIndex).compactMap(\.weight).last ?? 0
        let (action, split, summary) = SharedStep.next(share: green, base: d.shareBase ?? shared.startHealthy, previousShare: previous,
                                                       stepTotal: d.shareTotal, greenSeen: d.shareHealthySeen, blue: look.blue, green: look.green)
        try await perform(action, d, fleets: [look.blue, look.green])
        logger.info("shared target group step", metadata: ["deployment.id": "\(d.id)", "green_weight": "\(green)", "look": "\(summary)",
                                                           "blue_count": "\(split.blue)", "green_count": "\(split.green)"])
        return action == .done ? .splitConfirmed(green: green)
            : .splitProgressing(green: green, summary: summary, total: split.total, healthy: look.green.healthy.count)
    }

    /// One look of a rollback's move back to blue: blue at its planned size and healthy before green leaves.
    func sharedRestore(_ d: Deployment) async throws -> Event {
        guard let shared = d.plan.shared else { throw TrafficCapabilityError.splitByCounts(d.plan.spec.traffic.kind) }
        try await fenceListener(d)
        let look = try await sharedLook(d)
        let (action, summary) = SharedStep.restore(desired: d.plan.blue.desiredCapacity, startHealthy: shared.startHealthy,
                                                   blueSeen: d.shareHealthySeen, blue: look.blue,
                                                   reregistersDraining: InstancePool(d.plan.greenPool).reregistersDraining)
        try await perform(action, d, fleets: [look.blue, look.green])
        logger.info("shared target group rollback", metadata: ["deployment.id": "\(d.id)", "look": "\(summary)"])
        return action == .done ? .splitConfirmed(green: 0) : .splitProgressing(green: 0, summary: summary, healthy: look.blue.healthy.count)
    }

    /// Promotion: no blue instance is registered in the shared target group any more, and green has a healthy one.
    func sharedConfirmAllGreen(_ d: Deployment) async throws {
        let look = try await sharedLook(d)
        guard SharedStep.allGreen(blue: look.blue, green: look.green) else {
            throw SharedTrafficError.notAllGreen(pool: InstancePool(d.plan.greenPool).description,
                                                 blueRegistered: look.blue.registered.map(\.instanceId).sorted(),
                                                 greenHealthy: look.green.healthy.count)
        }
    }

    /// Before a fleet leaves the shared target group: the other fleet must have a healthy instance there, or the
    /// fleet leaving is the only one that serves.
    func refuseLeavingShared(_ name: String, _ d: Deployment) async throws {
        // Blue leaves only for green; green, or an earlier release's group retired before green exists, for blue.
        let leavingBlue = name == d.plan.blue.group
        let fleets = try await sharedFleets(d)
        guard ((leavingBlue ? fleets.green : fleets.blue)?.healthy ?? []).isEmpty else { return }
        throw SharedTrafficError.onlyServingFleet(group: name, other: leavingBlue ? d.plan.greenGroup : d.plan.blue.group,
                                                  pool: InstancePool(d.plan.greenPool).description)
    }

    private func perform(_ action: SharedStep.Action, _ d: Deployment, fleets: [SharedStep.Fleet]) async throws {
        let pool = InstancePool(d.plan.greenPool)
        switch action {
        case .scale(let group, let desired):
            let maxSize = fleets.first { $0.name == group }?.maxSize ?? desired
            try await aws.autoScaling.client.send(SettingsCopier.update(group: group, maxSize: max(maxSize, desired), desiredCapacity: desired))
        case .deregister(let ids):
            try await pool.deregister(ids, aws)
        case .register(let ids):
            try await pool.register(ids, aws)
        case .terminate(let ids):
            for id in ids { try await aws.autoScaling.terminateInstance(id, decrementDesiredCapacity: true) }
        case .wait, .done:
            break
        }
    }
}

extension SharedStep.Fleet {
    /// A group's instances with the shared target group's state for each (`states`, by instance id).
    init(_ group: AutoScalingGroup, states: [String: String]) {
        self.init(name: group.name, desired: group.desiredCapacity, maxSize: group.maxSize, members: group.instances.map {
            SharedStep.Member(instanceId: $0.instanceId, lifecycleState: $0.lifecycleState, target: states[$0.instanceId])
        })
    }

    /// The target group's state of each target, by instance id.
    static func states(_ health: [TargetHealthDescription]) -> [String: String] {
        Dictionary(health.map { ($0.targetId, $0.state) }, uniquingKeysWith: { _, last in last })
    }
}

/// The shared target group is not as the step needs it.
public enum SharedTrafficError: Error, Sendable, CustomStringConvertible {
    case notAllGreen(pool: String, blueRegistered: [String], greenHealthy: Int)
    case onlyServingFleet(group: String, other: String, pool: String)

    public var description: String {
        switch self {
        case .notAllGreen(let tg, let blue, let green):
            return "\(tg) is not all green: blue's \(blue.isEmpty ? "no instance" : blue.joined(separator: ", ")) still registered, "
                + "\(green) green instance(s) healthy"
        case .onlyServingFleet(let group, let other, let tg):
            return "\(group) was not taken out of \(tg): \(other) has no healthy instance there, so \(group) is the only fleet that serves"
        }
    }
}

extension AWSEffects {
    /// What `resume` compares the record with: each fleet's share of the healthy instances in the shared target group
    /// (the two shares by one key would be one number, so the observation carries them apart).
    func sharedObservation(_ d: Deployment) async throws -> Observation {
        let (blue, green, _) = try await sharedFleets(d)
        let blueServing = blue?.healthy.count ?? 0, greenServing = green?.healthy.count ?? 0
        let split = SharedSplit(total: blueServing + greenServing, green: greenServing)
        var observation = Observation(weights: [:], blueExists: blue != nil, blueInService: blue?.inService ?? 0,
                                      greenExists: green != nil, greenInService: green?.inService ?? 0, greenDesired: green?.desired ?? 0)
        observation.shares = Observation.Shares(blue: split.total == 0 ? 0 : 100 - split.percent, green: split.percent)
        return observation
    }

    /// Before a drained fleet is removed from a shared target group: none of its instances may still be registered there.
    func refuseWhileRegistered(_ group: AutoScalingGroup, _ d: Deployment) async throws {
        let ids = Set(group.instances.map(\.instanceId))
        guard !ids.isEmpty else { return }
        let registered = try await InstancePool(d.plan.greenPool).health(aws)
            .filter { ids.contains($0.targetId) && $0.state != "unused" }
        guard registered.isEmpty else { throw RetireError.carriesTraffic(group: group.name, targetGroups: [d.plan.greenPool]) }
    }
}
