import AWS
import Foundation
import Orchestrator
import Logging
import SwitchyardCore

/// The effects of `fleet.mode: pair`: green is the idle group of a standing pair, so the release updates and scales
/// groups and never creates or deletes one. Every request sets an absolute value, read fresh first, so an effect cut
/// short by a crash is simply run again.
extension AWSEffects {
    /// The idle group becomes green: blue's template at green's version (by number), blue's sizes (MinSize pinned at
    /// blue's desired capacity like a cloned green), blue's processes plus the release's pins, and green's target group
    /// only.
    func preparePairGreen(_ d: Deployment, launchTemplateVersion version: Int) async throws {
        let name = d.plan.greenGroup
        guard let fleet = d.plan.fleet, let idle = try await currentGroup(name) else { throw PlanError.pairGroupMissing(name) }
        let client = aws.autoScaling.client
        // Processes first: a suspended Launch or AddToLoadBalancer would leave green empty or unregistered.
        let wanted = Set(fleet.greenProcessesDuringRelease)
        let have = Set(idle.suspendedProcesses)
        if let request = SettingsCopier.resume(Array(have.subtracting(wanted)), group: name) { try await client.send(request) }
        if let request = SettingsCopier.suspend(Array(wanted.subtracting(have)), group: name) { try await client.send(request) }
        if !idle.targetGroupARNs.contains(d.plan.greenPool) {
            for request in SettingsCopier.attach(targetGroups: [d.plan.greenPool], loadBalancers: [], group: name) {
                try await client.send(request)
            }
        }
        // Like a cloned green, green stands only in its own target group until it is proven: other target groups
        // would send traffic to the new AMI at once (it joins blue's at promotion with join_at_promotion).
        let others = idle.targetGroupARNs.filter { $0 != d.plan.greenPool }
        if let request = SettingsCopier.detach(targetGroups: others, group: name) { try await client.send(request) }
        let green = greenGroup(d, launchTemplateVersion: version)
        let template = GroupCopier.launchTemplateVersion(of: idle, templateId: d.plan.blue.templateId, version: String(version))
        try await client.send(SettingsCopier.update(group: name, minSize: green.minSize, maxSize: green.maxSize,
                                                    desiredCapacity: green.desiredCapacity, launchTemplate: template))
        logger.info("idle group of the pair set up as green", metadata: ["deployment.id": "\(d.id)", "asg": "\(name)",
                                                                          "launch_template.version": "\(version)"])
    }

    /// On rollback: the idle group gets back exactly what the plan recorded before the release touched it (launch
    /// template version, sizes, suspended processes, target groups). Its instances go first, then its processes and
    /// target groups, so a process it had suspended cannot keep the new AMI's instances alive.
    func restorePairGreen(_ d: Deployment) async throws {
        guard let before = d.plan.pair?.greenBefore, let idle = try await currentGroup(before.name) else { return }
        let client = aws.autoScaling.client
        var template: [String: String] = [:]
        if GroupCopier.launchTemplate(of: idle)?.version != before.templateVersion {
            template = GroupCopier.launchTemplateVersion(of: idle, templateId: before.templateId, version: before.templateVersion)
        }
        try await client.send(SettingsCopier.update(group: before.name, minSize: before.minSize, maxSize: before.maxSize,
                                                    desiredCapacity: before.desiredCapacity, launchTemplate: template))
        try await waitForInstances(of: before.name, atMost: before.desiredCapacity)
        let wanted = Set(before.suspendedProcesses)
        let have = Set(idle.suspendedProcesses)
        if let request = SettingsCopier.resume(Array(have.subtracting(wanted)), group: before.name) { try await client.send(request) }
        if let request = SettingsCopier.suspend(Array(wanted.subtracting(have)), group: before.name) { try await client.send(request) }
        let extra = idle.targetGroupARNs.filter { !before.pools.contains($0) }
        if let request = SettingsCopier.detach(targetGroups: extra, group: before.name) { try await client.send(request) }
        let missing = before.pools.filter { !idle.targetGroupARNs.contains($0) }
        for request in SettingsCopier.attach(targetGroups: missing, loadBalancers: [], group: before.name) { try await client.send(request) }
    }

    /// Retirement in pair mode (an earlier blue before it becomes green, or blue after its retention): 0/0/0, so the
    /// group's own scaling policies cannot launch anything (MaxSize 0), and the processes this deployment suspended
    /// on it are resumed. The group is kept, and stands again, empty, in the target groups its deregistration took it
    /// out of (`reattach`), as whoever declared the pair has it.
    func scalePairGroupToZero(_ group: AutoScalingGroup, _ d: Deployment, reattach: [String] = []) async throws {
        let client = aws.autoScaling.client
        if group.minSize != 0 || group.maxSize != 0 || group.desiredCapacity != 0 {
            try await client.send(SettingsCopier.update(group: group.name, minSize: 0, maxSize: 0, desiredCapacity: 0))
        }
        try await waitForInstances(of: group.name, atMost: 0)
        // Only blue's own release knows which processes it pinned; a group retired by a later release keeps them
        // until that release sets green's processes.
        if group.name == d.plan.blue.group, let fleet = d.plan.fleet {
            let resume = fleet.processesToResume.filter { group.suspendedProcesses.contains($0) }
            if let request = SettingsCopier.resume(resume, group: group.name) { try await client.send(request) }
        }
        let missing = reattach.filter { !group.targetGroupARNs.contains($0) }
        for request in SettingsCopier.attach(targetGroups: missing, loadBalancers: [], group: group.name) { try await client.send(request) }
    }

    /// Returns once the group lists no more than `count` instances, or throws after the deletion limit.
    private func waitForInstances(of name: String, atMost count: Int) async throws {
        let until = clock.now().addingTimeInterval(Self.deletionLimit)
        while let group = try await currentGroup(name), group.instances.count > count {
            guard clock.now() < until else { throw PairError.stillRunning(group: name, instances: group.instances.count, after: Self.deletionLimit) }
            try await clock.sleep(until: clock.now().addingTimeInterval(2))
        }
    }
}

/// A group of the pair did not scale in.
public enum PairError: Error, Sendable, CustomStringConvertible {
    case stillRunning(group: String, instances: Int, after: TimeInterval)

    public var description: String {
        switch self {
        case .stillRunning(let group, let instances, let seconds):
            return "\(group) still has \(Spelling.count(instances, "instance")) \(Int(seconds)) s after it was scaled in; "
                + (instances == 1 ? "it may still be draining or protected" : "they may still be draining or protected") + " from scale-in"
        }
    }
}
