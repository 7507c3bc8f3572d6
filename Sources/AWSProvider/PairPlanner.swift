import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// The pair of `fleet.mode: pair` as the planner found it.
struct PairFound: Sendable {
    var blue: AutoScalingGroup
    var idle: AutoScalingGroup
    /// The idle group when it still has an earlier release's instances: scaled to 0 first.
    var retire: [String]
    var greenBefore: GroupSettings
    var idleHasSchedule: Bool
}

extension Planner {
    /// Blue is the group of the pair attached to the live target group, green the other. Refuses, naming the group,
    /// when a group is missing, when blue is unclear, when the idle group launches from another template or holds
    /// instances nobody can account for, and when a group outside the pair has instances in either target group.
    func findPair(spec: DeploymentSpec, blueTargetGroup: String, greenTargetGroup: String, retirable: Set<String>,
                  endingRetention: Bool, now: Date) async throws -> PairFound {
        let names = spec.fleet.pair
        let groups = try await aws.autoScaling.describeAutoScalingGroups(names: names)
        for name in names where !groups.contains(where: { $0.name == name }) { throw PlanError.pairGroupMissing(name) }
        let onLive = groups.filter { $0.targetGroupARNs.contains(blueTargetGroup) }
        guard onLive.count == 1, let blue = onLive.first, let idle = groups.first(where: { $0.name != blue.name }) else {
            throw PlanError.pairBlueUnclear(groups: names, onLive: onLive.map(\.name).sorted(), targetGroup: blueTargetGroup)
        }
        let standing = try await groupsOn([blueTargetGroup, greenTargetGroup], named: [])
        for other in standing where !names.contains(other.name) {
            let tg = other.targetGroupARNs.first { $0 == blueTargetGroup || $0 == greenTargetGroup } ?? greenTargetGroup
            throw PlanError.pairForeignGroup(group: other.name, targetGroup: tg, pair: names)
        }
        let blueTemplate = GroupCopier.launchTemplate(of: blue)
        let idleTemplate = GroupCopier.launchTemplate(of: idle)
        guard let idleTemplate, idleTemplate.id == blueTemplate?.id else {
            throw PlanError.pairTemplateDiffers(idle: idle.name, idleTemplate: idleTemplate.map { "launch template \($0.name)" } ?? "no launch template",
                                                blue: blue.name, blueTemplate: blueTemplate.map { "launch template \($0.name)" } ?? "no launch template")
        }
        let kept = retention(of: idle)
        let until = kept?.until
        // A group gc already scaled to 0 keeps nothing for rollback, whatever its tag says: the tag is rounded up to the
        // second and stays on a pair group (it is never deleted), so it may outlive the retention gc just ended.
        let keepsCapacity = !idle.instances.isEmpty || idle.desiredCapacity > 0
        if !endingRetention, keepsCapacity, let kept, kept.until > now {
            throw kept.refusal(idle)
        }
        var retire: [String] = []
        if !idle.instances.isEmpty || idle.desiredCapacity > 0 {
            // An earlier release's blue, kept or not yet retired: this release scales it to 0 before it becomes green.
            guard retirable.contains(idle.name) || until != nil else {
                throw PlanError.pairIdleNotEmpty(group: idle.name, instances: idle.instances.count, desired: idle.desiredCapacity)
            }
            retire = [idle.name]
        }
        let scheduled = try await aws.autoScaling.describeScheduledActions(group: idle.name)
        let before = GroupSettings(
            name: idle.name, templateId: idleTemplate.id, templateVersion: idleTemplate.version,
            minSize: retire.isEmpty ? idle.minSize : 0, maxSize: retire.isEmpty ? idle.maxSize : 0,
            desiredCapacity: retire.isEmpty ? idle.desiredCapacity : 0,
            suspendedProcesses: idle.suspendedProcesses, pools: idle.targetGroupARNs)
        return PairFound(blue: blue, idle: idle, retire: retire, greenBefore: before, idleHasSchedule: !scheduled.isEmpty)
    }
}

extension FleetPlanning {
    /// The fleet section in pair mode: nothing is copied (each group of the pair has its own policies, schedule,
    /// hooks and notifications, declared by whoever owns the pair), and scheduled actions are suspended on both
    /// groups while the release runs when either group has some, so neither is scaled in under the release.
    public static func pair(_ fleet: FleetPlan, blue: FleetDescription, idle: AutoScalingGroup, idleHasSchedule: Bool) -> FleetPlan {
        var out = fleet
        out.copies = []
        out.items = ["nothing is copied: \(idle.name) keeps its own scaling policies, scheduled actions, lifecycle hooks, notifications, "
            + "metrics and warm pool (pair mode); it gets blue's sizes, suspended processes and a new launch template version"]
        out.notCopied = fleet.notCopied.filter { !$0.hasPrefix("notification configurations") && !$0.hasPrefix("scaling policy")
            && !$0.hasPrefix("tags of the alarms") && !$0.hasPrefix("scheduled action") }
        if idleHasSchedule || !blue.scheduledActions.isEmpty { out.pinnedProcesses = ["ScheduledActions"] }
        return out
    }
}
