import AWS
import Foundation
import Orchestrator
import Logging
import SwitchyardCore

/// The fleet effects: pinning blue, copying blue's settings to green, releasing green at promotion and restoring blue
/// on rollback. Each request is an upsert, or is sent only when a fresh read shows it is still needed, so an effect
/// cut short by a crash is simply run again.
extension AWSEffects {
    /// Blue's description for the clone: the planner's when this process made it, else read now.
    func blueDescription(_ d: Deployment) async throws -> FleetDescription {
        if let known = facts?.blueFleet, known.group.name == d.plan.blue.group { return known }
        guard let group = try await aws.autoScaling.describeAutoScalingGroups(names: [d.plan.blue.group]).first else {
            throw PlanError.blueGroupMissing(d.plan.blue.group)
        }
        return try await FleetReader(aws: aws).describe(group)
    }

    /// The group of that name as DescribeAutoScalingGroups shows it now; nil when it is not listed.
    func currentGroup(_ name: String) async throws -> AutoScalingGroup? {
        try await aws.autoScaling.describeAutoScalingGroups(names: [name]).first { $0.name == name }
    }

    /// What Switchyard decides about green: blue's pinned size, green's version and target group, its own tags.
    func greenGroup(_ d: Deployment, launchTemplateVersion: Int) -> GreenGroup {
        let blue = d.plan.blue
        // Green starts pinned like blue: it may not scale in below blue's capacity before it has all the traffic.
        // With a shared target group green starts empty: each step scales it out to its share.
        let shared = d.plan.shared != nil
        let minSize = shared ? 0 : d.plan.fleet == nil ? blue.minSize : max(blue.minSize, blue.desiredCapacity)
        return GreenGroup(name: d.plan.greenGroup, launchTemplateId: blue.templateId, launchTemplateVersion: launchTemplateVersion,
                          minSize: minSize, maxSize: blue.maxSize, desiredCapacity: shared ? 0 : blue.desiredCapacity,
                          targetGroupArn: d.plan.greenPool, blueTargetGroupArn: blue.pool,
                          tags: [AutoScalingTag(key: "switchyard:service", value: d.service, propagateAtLaunch: true),
                                 AutoScalingTag(key: "switchyard:deployment", value: d.id, propagateAtLaunch: true)],
                          loadBalancerName: d.plan.spec.traffic.shared?.loadBalancerName)
    }

    /// Blue cannot scale in while the release runs, and launches its resolved version by number. With a shared target
    /// group blue's scaling is suspended the same way, but its minimum goes to 0 instead: the steps take its instances
    /// one by one (terminated with the desired capacity decremented), which a minimum would refuse.
    func pinBlue(_ d: Deployment) async throws -> Event {
        // The planner read blue moments ago in this process: its answer serves the first attempt.
        var known: AutoScalingGroup?
        if isFirstAttemptOfFreshDeployment(.pinBlue), let group = facts?.blueGroup, group.name == d.plan.blue.group { known = group }
        if known == nil { known = try await currentGroup(d.plan.blue.group) }
        guard let fleet = d.plan.fleet, let blue = known else {
            throw PlanError.blueGroupMissing(d.plan.blue.group)
        }
        var done: [String] = []
        let minSize = d.plan.shared != nil ? (blue.minSize > 0 ? 0 : nil) : blue.minSize < blue.desiredCapacity ? blue.desiredCapacity : nil
        var template: [String: String] = [:]
        let pinnedVersion = String(d.plan.blue.templateVersion)
        if fleet.blueFloats, GroupCopier.launchTemplate(of: blue)?.version != pinnedVersion {
            template = GroupCopier.launchTemplateVersion(of: blue, templateId: d.plan.blue.templateId, version: pinnedVersion)
            done.append("launch template version \(fleet.blueTemplateVersion) pinned to \(pinnedVersion)")
        }
        if minSize != nil || !template.isEmpty {
            try await aws.autoScaling.client.send(SettingsCopier.update(group: blue.name, minSize: minSize, launchTemplate: template))
        }
        if let minSize { done.insert("MinSize \(blue.minSize) → \(minSize) (\(d.plan.shared != nil ? "the steps scale it in instance by instance" : "its desired capacity"))", at: 0) }
        let suspend = fleet.pinnedProcesses.filter { !blue.suspendedProcesses.contains($0) }
        if let request = SettingsCopier.suspend(suspend, group: blue.name) {
            try await aws.autoScaling.client.send(request)
            done.append("\(suspend.joined(separator: ", ")) suspended")
        }
        return .bluePinned(summary: done.isEmpty ? "already pinned (MinSize \(blue.minSize) = desired \(blue.desiredCapacity))" : done.joined(separator: "; "))
    }

    func copyToGreen(_ kind: FleetCopy, _ d: Deployment) async throws -> Event {
        guard let fleet = d.plan.fleet, let version = d.greenTemplateVersion else {
            return .copiedToGreen(kind, summary: "nothing to copy")
        }
        let blue = try await blueDescription(d)
        let green = greenGroup(d, launchTemplateVersion: version)
        let client = aws.autoScaling.client
        let summary: String
        switch kind {
        case .lifecycleHooks:
            let present = Set(try await aws.autoScaling.describeLifecycleHooks(group: green.name).map(\.name))
            let missing = blue.lifecycleHooks.filter { !present.contains($0.name) }
            for hook in missing { try await client.send(SettingsCopier.lifecycleHook(hook, green: green.name)) }
            summary = "lifecycle hooks \(blue.lifecycleHooks.map(\.name).joined(separator: ", "))" + (missing.isEmpty ? " (present since creation)" : "")
        case .suspendedProcesses:
            let processes = fleet.greenProcessesDuringRelease
            if let request = SettingsCopier.suspend(processes, group: green.name) { try await client.send(request) }
            summary = "suspended processes \(processes.joined(separator: ", "))"
        case .scalingPolicies:
            summary = try await copyScaling(blue, green: green)
        case .scheduledActions:
            let schedule = ScheduleCopier.actions(blue.scheduledActions, green: green.name, now: clock.now())
            for request in schedule.requests { try await client.send(request) }
            summary = "scheduled actions " + schedule.requests.compactMap { $0.parameters["ScheduledActionName"] }.joined(separator: ", ")
        case .metrics:
            if let request = SettingsCopier.metrics(of: blue.group, green: green.name) { try await client.send(request) }
            summary = "enabled metrics \(blue.group.enabledMetrics.joined(separator: ", "))"
        case .warmPool:
            if let request = SettingsCopier.warmPool(of: blue.group, green: green.name) { try await client.send(request) }
            summary = "warm pool"
        case .notifications:
            let requests = SettingsCopier.notifications(blue.notifications ?? [], green: green.name)
            for request in requests { try await client.send(request) }
            summary = "notifications to " + requests.compactMap { $0.parameters["TopicARN"] }.joined(separator: ", ")
        }
        return .copiedToGreen(kind, summary: summary)
    }

    /// Policies first, then their alarms on green's policy ARNs as green's own DescribePolicies reports them: a crash
    /// between the two leaves the effect undone, and the next run puts both again (an alarm is never lost).
    private func copyScaling(_ blue: FleetDescription, green: GreenGroup) async throws -> String {
        for request in ScalingCopier.policies(blue.policies, blueGroup: blue.group.name, green: green) {
            try await aws.autoScaling.client.send(request)
        }
        var alarmNames: [String] = []
        if !blue.alarms.isEmpty {
            let greens = try await aws.autoScaling.describePolicies(group: green.name)
            let arns = Dictionary(greens.map { ($0.name, $0.arn) }, uniquingKeysWith: { first, _ in first })
            for request in ScalingCopier.alarms(blue.alarms, bluePolicies: blue.policies, greenPolicyARNs: arns, blueGroup: blue.group.name, green: green) {
                try await aws.cloudWatch.client.send(request)
                alarmNames.append(request.parameters["AlarmName"] ?? "")
            }
        }
        let alarms = alarmNames.isEmpty ? "" : "; alarms \(alarmNames.joined(separator: ", "))"
        return "scaling policies \(blue.policies.map(\.name).joined(separator: ", "))\(alarms)"
    }

    /// At promotion: green gets blue's original sizes and processes, joins the other target groups if the file says
    /// so, and its version becomes the template's default if the file says so.
    /// Reads nothing: every request sets an absolute value (sizes, processes resumed, groups joined), so sending it
    /// again changes nothing, and green's own answer is the record of what it was created with.
    func releaseGreen(_ d: Deployment) async throws -> Event {
        guard let fleet = d.plan.fleet else { return .greenReleased(summary: "nothing pinned") }
        let blue = d.plan.blue
        let green = greenGroup(d, launchTemplateVersion: d.greenTemplateVersion ?? 0)
        var done: [String] = []
        if green.minSize != blue.minSize || green.maxSize != blue.maxSize {
            try await aws.autoScaling.client.send(SettingsCopier.update(group: green.name, minSize: blue.minSize, maxSize: blue.maxSize))
        }
        done.append("MinSize \(blue.minSize), MaxSize \(blue.maxSize)")
        if let request = SettingsCopier.resume(fleet.processesToResume, group: green.name) {
            try await aws.autoScaling.client.send(request)
            done.append("\(fleet.processesToResume.joined(separator: ", ")) resumed")
        }
        if d.plan.spec.fleet.otherPools == .joinAtPromotion {
            for request in SettingsCopier.attach(targetGroups: fleet.otherPools, loadBalancers: fleet.otherLoadBalancers, group: green.name) {
                try await aws.autoScaling.client.send(request)
            }
            let joined = fleet.otherPools + fleet.otherLoadBalancers
            if !joined.isEmpty { done.append("joined \(joined.joined(separator: ", "))") }
        }
        if d.plan.spec.fleet.templateDefault == .promote, let version = d.greenTemplateVersion {
            try await aws.ec2.client.send(EC2.setDefaultVersionRequest(templateId: blue.templateId, version: version))
            done.append("launch template \(blue.templateName) default version is now \(version)")
        }
        return .greenReleased(summary: done.joined(separator: "; "))
    }

    /// The alarms the copy made for a group Switchyard created (`switchyard-…`), deleted with the group: they act on
    /// its policies only, and would otherwise be left pointing at nothing. Alarms of a group Switchyard did not create
    /// are never touched.
    func deleteCopiedAlarms(of group: String) async throws {
        guard group.hasPrefix("switchyard-") else { return }
        let policies = try await aws.autoScaling.describePolicies(group: group).filter(\.isAlarmDriven)
        guard !policies.isEmpty else { return }
        let arns = Set(policies.map(\.arn))
        let alarms = try await FleetReader(aws: aws).alarms(of: policies)
        let copies = alarms.filter { ScalingCopier.isCopy($0, of: group, policyARNs: arns) }.map(\.name)
        for request in ScalingCopier.deleteAlarms(copies) { try await aws.cloudWatch.client.send(request) }
        if !copies.isEmpty { logger.info("deleted the alarms copied for the group", metadata: ["asg": "\(group)", "alarms": "\(copies)"]) }
    }

    func observeBlue(_ d: Deployment) async throws -> Event {
        guard let blue = try await currentGroup(d.plan.blue.group) else {
            return .blueObserved(CapacityReport(desired: 0, inService: 0, instances: 0))
        }
        return .blueObserved(CapacityReport(blue))
    }

    /// After a rollback: blue's own sizes, processes and launch template version, exactly as the plan recorded them.
    /// A blue on `$Latest` goes back to it only once green's version is deleted; otherwise `$Latest` would be the
    /// rolled-back AMI, so blue stays on its number and the log says why.
    func restoreBlueFleet(_ d: Deployment) async throws -> Event {
        guard let fleet = d.plan.fleet, let blue = try await currentGroup(d.plan.blue.group) else {
            return .blueFleetRestored(summary: "blue \(d.plan.blue.group) no longer exists; nothing to restore")
        }
        let original = d.plan.blue
        var done: [String] = []
        // Green's version became the default at promotion: the old default comes back first, so a blue on
        // `$Default` floats on its own version again, not on the rolled-back one.
        if d.reached(.greenReleased), d.plan.spec.fleet.templateDefault == .promote, let previous = fleet.previousDefaultVersion {
            try await aws.ec2.client.send(EC2.setDefaultVersionRequest(templateId: original.templateId, version: previous))
            done.append("launch template default version back to \(previous)")
        }
        var template: [String: String] = [:]
        if fleet.blueFloats, GroupCopier.launchTemplate(of: blue)?.version != fleet.blueTemplateVersion {
            if let reason = try await versionAliasBlocked(d, fleet: fleet) {
                done.append("launch template version stays \(original.templateVersion): \(reason)")
            } else {
                template = GroupCopier.launchTemplateVersion(of: blue, templateId: original.templateId, version: fleet.blueTemplateVersion)
                done.append("launch template version \(fleet.blueTemplateVersion)")
            }
        }
        let sizes = blue.minSize != original.minSize || blue.maxSize != original.maxSize
        if sizes || !template.isEmpty {
            try await aws.autoScaling.client.send(SettingsCopier.update(group: blue.name, minSize: sizes ? original.minSize : nil,
                                                                         maxSize: sizes ? original.maxSize : nil, launchTemplate: template))
        }
        done.insert("MinSize \(original.minSize), MaxSize \(original.maxSize)", at: 0)
        let resume = fleet.processesToResume.filter { blue.suspendedProcesses.contains($0) }
        if let request = SettingsCopier.resume(resume, group: blue.name) {
            try await aws.autoScaling.client.send(request)
            done.append("\(resume.joined(separator: ", ")) resumed")
        }
        return .blueFleetRestored(summary: done.joined(separator: "; "))
    }

    /// Why blue cannot float on its alias again yet, or nil. `$Latest` needs green's version gone first.
    private func versionAliasBlocked(_ d: Deployment, fleet: FleetPlan) async throws -> String? {
        guard fleet.blueTemplateVersion == "$Latest", let version = d.greenTemplateVersion else { return nil }
        do {
            let failed = try await aws.ec2.deleteLaunchTemplateVersions(templateId: d.plan.blue.templateId, versions: [version])
            if let reason = failed[version] { return "green's version \(version) could not be deleted (\(reason)), and $Latest would launch it" }
            return nil
        } catch {
            logger.warning("could not delete green's launch template version", metadata: ["deployment.id": "\(d.id)", "error": "\(error)"])
            return "green's version \(version) could not be deleted (\(error)), and $Latest would launch it"
        }
    }
}
