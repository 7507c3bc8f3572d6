import Foundation

/// Blue's fleet as described by AWS: the group and everything attached to it that green must carry too.
public struct FleetDescription: Sendable, Hashable {
    public var group: AutoScalingGroup
    public var policies: [ScalingPolicy]
    /// The alarms that drive blue's step and simple policies (found by each policy's ARN).
    public var alarms: [AlarmDefinition]
    public var scheduledActions: [ScheduledAction]
    public var lifecycleHooks: [LifecycleHook]
    /// Nil when the endpoint could not say (see `FleetReader`).
    public var notifications: [NotificationConfiguration]?

    public init(group: AutoScalingGroup, policies: [ScalingPolicy] = [], alarms: [AlarmDefinition] = [], scheduledActions: [ScheduledAction] = [],
                lifecycleHooks: [LifecycleHook] = [], notifications: [NotificationConfiguration]? = []) {
        self.group = group
        self.policies = policies
        self.alarms = alarms
        self.scheduledActions = scheduledActions
        self.lifecycleHooks = lifecycleHooks
        self.notifications = notifications
    }
}

/// What Switchyard decides about green; everything else the clone takes from blue.
public struct GreenGroup: Sendable, Hashable {
    public var name: String
    public var launchTemplateId: String
    /// Always a number: green never floats on `$Latest`/`$Default`.
    public var launchTemplateVersion: Int
    public var minSize: Int
    public var maxSize: Int
    public var desiredCapacity: Int
    /// The target group green is attached to at creation (the idle one of the shifted pair).
    public var targetGroupArn: String
    /// Blue's target group of the shifted pair: labels that name it (ALB request-count metrics) are moved to green's.
    public var blueTargetGroupArn: String
    /// Added to blue's tags (`switchyard:` and `aws:` tags of blue are left out).
    public var tags: [AutoScalingTag]
    /// Set when green stands with blue behind a Classic Load Balancer: green is attached to it (`LoadBalancerNames`)
    /// instead of a target group.
    public var loadBalancerName: String?

    public init(name: String, launchTemplateId: String, launchTemplateVersion: Int, minSize: Int, maxSize: Int, desiredCapacity: Int,
                targetGroupArn: String, blueTargetGroupArn: String, tags: [AutoScalingTag], loadBalancerName: String? = nil) {
        self.loadBalancerName = loadBalancerName
        self.name = name
        self.launchTemplateId = launchTemplateId
        self.launchTemplateVersion = launchTemplateVersion
        self.minSize = minSize
        self.maxSize = maxSize
        self.desiredCapacity = desiredCapacity
        self.targetGroupArn = targetGroupArn
        self.blueTargetGroupArn = blueTargetGroupArn
        self.tags = tags
    }

    /// Rewrites a copied value that names blue (its group, its target group) to name green instead.
    func relabel(_ value: String, blue: String) -> String {
        if value == blue { return name }
        let blueLabel = Self.label(blueTargetGroupArn), greenLabel = Self.label(targetGroupArn)
        if !blueLabel.isEmpty, !greenLabel.isEmpty, value.contains(blueLabel) { return value.replacingOccurrences(of: blueLabel, with: greenLabel) }
        return value
    }

    /// `targetgroup/NAME/ID`, the part of a target group ARN that ALB metric labels use.
    static func label(_ arn: String) -> String {
        guard let range = arn.range(of: "targetgroup/") else { return "" }
        return String(arn[range.lowerBound...])
    }
}

/// CreateAutoScalingGroup for green: blue's settings by name, with the few Switchyard decides.
public enum GroupCopier {
    /// Members of CreateAutoScalingGroup copied from DescribeAutoScalingGroups as they are (the names and shapes are
    /// the same in botocore's model for both). A setting AWS adds is one line here.
    public static let copiedSettings = [
        "DefaultCooldown", "HealthCheckType", "HealthCheckGracePeriod", "PlacementGroup", "VPCZoneIdentifier",
        "TerminationPolicies", "NewInstancesProtectedFromScaleIn", "CapacityRebalance", "ServiceLinkedRoleARN",
        "MaxInstanceLifetime", "Context", "DesiredCapacityType", "DefaultInstanceWarmup", "InstanceMaintenancePolicy",
        "AvailabilityZoneDistribution", "AvailabilityZoneImpairmentPolicy", "CapacityReservationSpecification",
        "InstanceLifecyclePolicy",
    ]
    /// Settings of blue green does not take, with the reason (for `plan`).
    public static let withheldSettings = [
        "DeletionProtection": "not copied: Switchyard must be able to delete green on rollback",
        "TrafficSources": "not copied: green joins only the shifted target group (VPC Lattice sources are not supported)",
    ]
    /// Members of LifecycleHookSpecification (the describe answer also has read-only `GlobalTimeout`).
    static let hookMembers = ["LifecycleHookName", "LifecycleTransition", "NotificationMetadata", "HeartbeatTimeout", "DefaultResult",
                              "NotificationTargetARN", "RoleARN"]

    /// Green's CreateAutoScalingGroup: blue's settings, the whole mixed instances policy with green's version, and
    /// blue's lifecycle hooks so the very first launches are hooked.
    public static func create(blue: FleetDescription, green: GreenGroup) -> AWSRequest {
        let group = blue.group
        var p = QueryEncoding.copy(group.raw, members: copiedSettings)
        p["AutoScalingGroupName"] = green.name
        p["MinSize"] = String(green.minSize)
        p["MaxSize"] = String(green.maxSize)
        p["DesiredCapacity"] = String(green.desiredCapacity)
        if p["HealthCheckType"] == nil { p["HealthCheckType"] = "EC2" }
        if (p["VPCZoneIdentifier"] ?? "").isEmpty {
            p["VPCZoneIdentifier"] = nil
            p.merge(QueryEncoding.copy(group.raw, members: ["AvailabilityZones"]))
        }
        if let mixed = group.raw.child("MixedInstancesPolicy"), !mixed.children.isEmpty {
            p.merge(mixedInstancesPolicy(mixed, templateId: green.launchTemplateId, version: String(green.launchTemplateVersion)))
        } else {
            p["LaunchTemplate.LaunchTemplateId"] = green.launchTemplateId
            p["LaunchTemplate.Version"] = String(green.launchTemplateVersion)
        }
        if let name = green.loadBalancerName {
            p.merge(QueryEncoding.memberList("LoadBalancerNames", [name]))
        } else {
            p.merge(QueryEncoding.memberList("TargetGroupARNs", [green.targetGroupArn]))
        }
        for (index, hook) in blue.lifecycleHooks.enumerated() {
            p.merge(QueryEncoding.nested("LifecycleHookSpecificationList.member.\(index + 1)", QueryEncoding.copy(hook.raw, members: hookMembers)))
        }
        var tags = group.tags.filter { !$0.key.hasPrefix("aws:") && !$0.key.hasPrefix("switchyard:") }
        tags += green.tags
        for (index, tag) in tags.enumerated() {
            let prefix = "Tags.member.\(index + 1)"
            p["\(prefix).Key"] = tag.key
            p["\(prefix).Value"] = tag.value
            p["\(prefix).PropagateAtLaunch"] = tag.propagateAtLaunch ? "true" : "false"
            p["\(prefix).ResourceId"] = green.name
            p["\(prefix).ResourceType"] = "auto-scaling-group"
        }
        return AWSRequest(.autoScaling, "CreateAutoScalingGroup", p)
    }

    /// A mixed instances policy with its launch template pointed at `version`. An override with a launch template of
    /// its own keeps it (and its AMI): `plan` says so.
    static func mixedInstancesPolicy(_ mixed: XMLNode, templateId: String, version: String) -> [String: String] {
        var p = QueryEncoding.flatten(mixed, prefix: "MixedInstancesPolicy")
        let spec = "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification"
        // AWS takes the id or the name of a template, not both.
        p["\(spec).LaunchTemplateName"] = nil
        p["\(spec).LaunchTemplateId"] = templateId
        p["\(spec).Version"] = version
        return p
    }

    /// The launch template a group launches from, whether plain or inside its mixed instances policy.
    public static func launchTemplate(of group: AutoScalingGroup) -> GroupLaunchTemplate? {
        if let plain = group.launchTemplate { return plain }
        guard let spec = group.raw.node("MixedInstancesPolicy/LaunchTemplate/LaunchTemplateSpecification") else { return nil }
        return GroupLaunchTemplate(id: spec.value("LaunchTemplateId") ?? "", name: spec.value("LaunchTemplateName") ?? "",
                                   version: spec.value("Version") ?? "$Default")
    }

    /// UpdateAutoScalingGroup parameters that point a group (plain or mixed) at another version of its template.
    public static func launchTemplateVersion(of group: AutoScalingGroup, templateId: String, version: String) -> [String: String] {
        if let mixed = group.raw.child("MixedInstancesPolicy"), !mixed.children.isEmpty {
            return mixedInstancesPolicy(mixed, templateId: templateId, version: version)
        }
        return ["LaunchTemplate.LaunchTemplateId": templateId, "LaunchTemplate.Version": version]
    }

    /// Overrides that launch from a launch template other than the group's: they keep their own AMI.
    public static func overridesWithOwnTemplate(_ group: AutoScalingGroup) -> [String] {
        group.raw.all("MixedInstancesPolicy/LaunchTemplate/Overrides/member").compactMap { member in
            guard let spec = member.child("LaunchTemplateSpecification") else { return nil }
            let name = spec.value("LaunchTemplateName") ?? spec.value("LaunchTemplateId") ?? "?"
            return "\(member.value("InstanceType") ?? "override") (launch template \(name))"
        }
    }
}
