import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// Reads everything attached to a group that the clone copies: policies (and the alarms of step and simple ones),
/// scheduled actions, lifecycle hooks, notification configurations. Changes nothing.
public struct FleetReader: Sendable {
    public let aws: AWSClients

    public init(aws: AWSClients) { self.aws = aws }

    public func describe(_ group: AutoScalingGroup) async throws -> FleetDescription {
        let name = group.name
        async let policies = aws.autoScaling.describePolicies(group: name)
        async let scheduled = aws.autoScaling.describeScheduledActions(group: name)
        async let hooks = aws.autoScaling.describeLifecycleHooks(group: name)
        async let notifications = readNotifications(name)
        let found = try await policies
        let alarms = try await alarms(of: found)
        return FleetDescription(group: group, policies: found, alarms: alarms, scheduledActions: try await scheduled,
                                lifecycleHooks: try await hooks, notifications: try await notifications)
    }

    /// The alarms that drive the step and simple policies, one ActionPrefix search per policy.
    func alarms(of policies: [ScalingPolicy]) async throws -> [AlarmDefinition] {
        var out: [AlarmDefinition] = []
        for policy in policies where policy.isAlarmDriven {
            let found = try await aws.cloudWatch.describeAlarms(actionPrefix: policy.arn)
            for alarm in ScalingCopier.alarms(of: policy, in: found) where !out.contains(where: { $0.name == alarm.name }) {
                out.append(alarm)
            }
        }
        return out
    }

    /// Nil when the endpoint does not implement the call: `plan` then says the notifications could not be read.
    /// (The one emulator gap the clone meets on its read path: moto has no DescribeNotificationConfigurations. AWS
    /// always answers it, so nothing sent to AWS depends on this.)
    private func readNotifications(_ group: String) async throws -> [NotificationConfiguration]? {
        do {
            return try await aws.autoScaling.describeNotificationConfigurations(group: group)
        } catch let error as AWSError where error.code == .notImplemented {
            return nil
        }
    }
}

/// What the release will copy, pin and restore, in words and as the plan's fleet section. Pure.
public enum FleetPlanning {
    /// Scheduled actions are suspended on both groups for the release only when blue has some: otherwise there is
    /// nothing to stop, and a suspension would be one more change to undo.
    public static func plan(_ blue: FleetDescription, shifted: [String], now: Date,
                            architectureSource: String? = nil) -> FleetPlan {
        let group = blue.group
        var copies: [FleetCopy] = []
        var items: [String] = []
        var notCopied: [String] = []
        for name in GroupCopier.copiedSettings {
            guard let node = group.raw.child(name), !(node.children.isEmpty && node.text.isEmpty) else { continue }
            let value = node.children.isEmpty ? node.text : node.children.map { $0.children.isEmpty ? $0.text : $0.name }.joined(separator: ", ")
            items.append("setting \(name): \(value)")
        }
        if let mixed = group.raw.child("MixedInstancesPolicy"), !mixed.children.isEmpty {
            let types = mixed.all("LaunchTemplate/Overrides/member").compactMap { $0.value("InstanceType") }
            items.append("mixed instances policy (\(types.isEmpty ? "no overrides" : types.joined(separator: ", "))) with green's launch template version")
            for own in GroupCopier.overridesWithOwnTemplate(group) {
                notCopied.append("override \(own) keeps its own launch template and so its AMI")
            }
        }
        for (name, reason) in GroupCopier.withheldSettings.sorted(by: { $0.key < $1.key }) {
            if let node = group.raw.child(name), !node.children.isEmpty || (!node.text.isEmpty && node.text != "none") {
                notCopied.append("\(name) \(reason)")
            }
        }
        items += blue.lifecycleHooks.map { "lifecycle hook \($0.name) (\($0.transition)) at creation" }
        if !blue.lifecycleHooks.isEmpty { copies.append(.lifecycleHooks) }
        let pinned = blue.scheduledActions.isEmpty ? [] : ["ScheduledActions"]
        if !group.suspendedProcesses.isEmpty || !pinned.isEmpty { copies.append(.suspendedProcesses) }
        items += group.suspendedProcesses.sorted().map { "suspended process \($0)" }
        if !blue.policies.isEmpty { copies.append(.scalingPolicies) }
        for policy in blue.policies {
            let alarms = ScalingCopier.alarms(of: policy, in: blue.alarms).map(\.name)
            let driven = alarms.isEmpty ? "" : " driven by alarm \(alarms.joined(separator: ", ")) (recreated for green)"
            items.append("scaling policy \(policy.name) (\(policy.type))\(driven)")
            if policy.isAlarmDriven && alarms.isEmpty { notCopied.append("scaling policy \(policy.name) has no alarm to copy: nothing triggers it on blue either") }
        }
        if !blue.alarms.isEmpty { notCopied.append("tags of the alarms driving step and simple policies (DescribeAlarms does not report them)") }
        let schedule = ScheduleCopier.actions(blue.scheduledActions, green: "green", now: now)
        if !schedule.requests.isEmpty { copies.append(.scheduledActions) }
        items += schedule.requests.compactMap { $0.parameters["ScheduledActionName"].map { "scheduled action \($0)" } }
        notCopied += schedule.skipped
        if !group.enabledMetrics.isEmpty {
            copies.append(.metrics)
            items.append("enabled metrics \(group.enabledMetrics.sorted().joined(separator: ", "))")
        }
        if let pool = group.raw.child("WarmPoolConfiguration"), !pool.children.isEmpty {
            copies.append(.warmPool)
            items.append("warm pool (min \(pool.value("MinSize") ?? "0"), \(pool.value("PoolState") ?? "Stopped"))")
        }
        if let notifications = blue.notifications {
            if !notifications.isEmpty { copies.append(.notifications) }
            items += Set(notifications.map(\.topicARN)).sorted().map { "notifications to \($0)" }
        } else {
            notCopied.append("notification configurations: the endpoint does not implement DescribeNotificationConfigurations")
        }
        let others = group.targetGroupARNs.filter { !shifted.contains($0) }.sorted()
        let version = GroupCopier.launchTemplate(of: group)?.version ?? "$Default"
        return FleetPlan(copies: copies, items: items, notCopied: notCopied, otherPools: others,
                         otherLoadBalancers: group.loadBalancerNames.filter { !shifted.contains(InstancePool.classic($0).id) }.sorted(), blueSuspendedProcesses: group.suspendedProcesses.sorted(),
                         pinnedProcesses: pinned, blueTemplateVersion: version, architectureSource: architectureSource)
    }
}
