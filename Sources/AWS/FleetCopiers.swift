import Foundation

/// Blue's scaling policies on green under the same names, and the alarms of its step and simple policies recreated
/// on green's dimension and green's policy ARNs. Every request is an upsert by name, so running them twice is safe.
public enum ScalingCopier {
    /// Members of PutScalingPolicy as DescribePolicies reports them. `MinAdjustmentStep` is the deprecated spelling of
    /// `MinAdjustmentMagnitude` and is sent only when the other is absent.
    static let policyMembers = ["PolicyName", "PolicyType", "AdjustmentType", "MinAdjustmentMagnitude", "ScalingAdjustment", "Cooldown",
                                "MetricAggregationType", "StepAdjustments", "EstimatedInstanceWarmup", "TargetTrackingConfiguration",
                                "Enabled", "PredictiveScalingConfiguration"]
    /// Members of PutMetricAlarm as DescribeAlarms reports them (tags are not part of the description).
    static let alarmMembers = ["AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions", "MetricName",
                               "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit", "EvaluationPeriods",
                               "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
                               "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId", "EvaluationCriteria", "EvaluationInterval"]

    public static func policies(_ policies: [ScalingPolicy], blueGroup: String, green: GreenGroup) -> [AWSRequest] {
        policies.map { policy in
            var p = QueryEncoding.copy(policy.raw, members: policyMembers)
            if p["MinAdjustmentMagnitude"] == nil, let step = policy.raw.value("MinAdjustmentStep"), !step.isEmpty { p["MinAdjustmentStep"] = step }
            p = p.mapValues { green.relabel($0, blue: blueGroup) }
            p["AutoScalingGroupName"] = green.name
            p["PolicyName"] = policy.name
            return AWSRequest(.autoScaling, "PutScalingPolicy", p)
        }
    }

    /// The alarms of blue's alarm-driven policies, each acting on green's policy of the same name instead.
    /// - Parameter greenPolicyARNs: green's policy ARN by policy name (read back after `policies` ran).
    public static func alarms(_ alarms: [AlarmDefinition], bluePolicies: [ScalingPolicy], greenPolicyARNs: [String: String],
                              blueGroup: String, green: GreenGroup) -> [AWSRequest] {
        var toGreen: [String: String] = [:]
        for policy in bluePolicies { if let arn = greenPolicyARNs[policy.name] { toGreen[policy.arn] = arn } }
        return alarms.sorted { $0.name < $1.name }.map { alarm in
            var p = QueryEncoding.copy(alarm.raw, members: alarmMembers)
            p = p.mapValues { toGreen[$0] ?? green.relabel($0, blue: blueGroup) }
            p["AlarmName"] = alarmName(alarm.name, blueGroup: blueGroup, greenGroup: green.name)
            return AWSRequest(.cloudWatch, "PutMetricAlarm", p)
        }
    }

    /// Green's name for a copy of blue's alarm: deterministic (so a second run updates the first run's alarm), and a
    /// copy of a copy does not grow: `cpu-high-<blue>` becomes `cpu-high-<green>`.
    public static func alarmName(_ name: String, blueGroup: String, greenGroup: String) -> String {
        let base = name.hasSuffix("-\(blueGroup)") ? String(name.dropLast(blueGroup.count + 1)) : name
        return String("\(base)-\(greenGroup)".suffix(255))
    }

    /// DeleteAlarms for alarms the copy made (at most 100 names a call, as the API allows).
    public static func deleteAlarms(_ names: [String]) -> [AWSRequest] {
        let sorted = names.sorted()
        return stride(from: 0, to: sorted.count, by: 100).map { start in
            AWSRequest(.cloudWatch, "DeleteAlarms", QueryEncoding.memberList("AlarmNames", Array(sorted[start..<min(start + 100, sorted.count)])))
        }
    }

    /// Whether the copy made this alarm for `group`: it acts on one of the group's policies and carries its name.
    public static func isCopy(_ alarm: AlarmDefinition, of group: String, policyARNs: Set<String>) -> Bool {
        alarm.name.hasSuffix("-\(group)") && alarm.actions.contains { policyARNs.contains($0) }
    }

    /// Alarms of `policy` among those an ActionPrefix search found (a prefix also matches `policy-2`).
    public static func alarms(of policy: ScalingPolicy, in found: [AlarmDefinition]) -> [AlarmDefinition] {
        found.filter { $0.actions.contains(policy.arn) }
    }
}

/// Blue's scheduled actions on green, under the same names; actions whose time has passed are left out.
public enum ScheduleCopier {
    static let members = ["StartTime", "EndTime", "Recurrence", "MinSize", "MaxSize", "DesiredCapacity", "TimeZone"]

    /// The requests, and the names left out with the reason.
    public static func actions(_ actions: [ScheduledAction], green: String, now: Date) -> (requests: [AWSRequest], skipped: [String]) {
        var requests: [AWSRequest] = []
        var skipped: [String] = []
        for action in actions.sorted(by: { $0.name < $1.name }) {
            if let end = action.endTime, end <= now {
                skipped.append("scheduled action \(action.name): its end time has passed")
                continue
            }
            var p = QueryEncoding.copy(action.raw, members: members)
            if let start = action.startTime, start <= now {
                guard action.recurrence != nil else {
                    skipped.append("scheduled action \(action.name): it ran already (one-time, in the past)")
                    continue
                }
                // A recurring action's start in the past is refused by AWS; the recurrence alone carries it on.
                p["StartTime"] = nil
            }
            p["AutoScalingGroupName"] = green
            p["ScheduledActionName"] = action.name
            requests.append(AWSRequest(.autoScaling, "PutScheduledUpdateGroupAction", p))
        }
        return (requests, skipped)
    }
}

/// The smaller settings that have their own API: processes, metrics, warm pool, notifications, hooks, sizes.
public enum SettingsCopier {
    public static func suspend(_ processes: [String], group: String) -> AWSRequest? {
        guard !processes.isEmpty else { return nil }
        var p = QueryEncoding.memberList("ScalingProcesses", processes.sorted())
        p["AutoScalingGroupName"] = group
        return AWSRequest(.autoScaling, "SuspendProcesses", p)
    }

    public static func resume(_ processes: [String], group: String) -> AWSRequest? {
        guard !processes.isEmpty else { return nil }
        var p = QueryEncoding.memberList("ScalingProcesses", processes.sorted())
        p["AutoScalingGroupName"] = group
        return AWSRequest(.autoScaling, "ResumeProcesses", p)
    }

    public static func metrics(of blue: AutoScalingGroup, green: String) -> AWSRequest? {
        guard !blue.enabledMetrics.isEmpty else { return nil }
        var p = QueryEncoding.memberList("Metrics", blue.enabledMetrics)
        p["AutoScalingGroupName"] = green
        p["Granularity"] = blue.metricsGranularity ?? "1Minute"
        return AWSRequest(.autoScaling, "EnableMetricsCollection", p)
    }

    public static func warmPool(of blue: AutoScalingGroup, green: String) -> AWSRequest? {
        guard let pool = blue.raw.child("WarmPoolConfiguration"), !pool.children.isEmpty else { return nil }
        var p = QueryEncoding.copy(pool, members: ["MaxGroupPreparedCapacity", "MinSize", "PoolState", "InstanceReusePolicy"])
        p["AutoScalingGroupName"] = green
        return AWSRequest(.autoScaling, "PutWarmPool", p)
    }

    /// One PutNotificationConfiguration per topic, with every type blue sends there.
    public static func notifications(_ configurations: [NotificationConfiguration], green: String) -> [AWSRequest] {
        let byTopic = Dictionary(grouping: configurations, by: \.topicARN)
        return byTopic.keys.sorted().map { topic in
            var p = QueryEncoding.memberList("NotificationTypes", (byTopic[topic] ?? []).map(\.type).sorted())
            p["AutoScalingGroupName"] = green
            p["TopicARN"] = topic
            return AWSRequest(.autoScaling, "PutNotificationConfiguration", p)
        }
    }

    /// PutLifecycleHook for a hook green lacks (it normally has them all from its creation).
    public static func lifecycleHook(_ hook: LifecycleHook, green: String) -> AWSRequest {
        var p = QueryEncoding.copy(hook.raw, members: GroupCopier.hookMembers)
        p["AutoScalingGroupName"] = green
        return AWSRequest(.autoScaling, "PutLifecycleHook", p)
    }

    /// UpdateAutoScalingGroup with only what is given (`launchTemplate` from `GroupCopier.launchTemplateVersion`).
    public static func update(group: String, minSize: Int? = nil, maxSize: Int? = nil, desiredCapacity: Int? = nil,
                              launchTemplate: [String: String] = [:]) -> AWSRequest {
        var p = launchTemplate
        p["AutoScalingGroupName"] = group
        if let minSize { p["MinSize"] = String(minSize) }
        if let maxSize { p["MaxSize"] = String(maxSize) }
        if let desiredCapacity { p["DesiredCapacity"] = String(desiredCapacity) }
        return AWSRequest(.autoScaling, "UpdateAutoScalingGroup", p)
    }

    /// DetachLoadBalancerTargetGroups, or nil when there is nothing to detach.
    public static func detach(targetGroups: [String], group: String) -> AWSRequest? {
        guard !targetGroups.isEmpty else { return nil }
        var p = QueryEncoding.memberList("TargetGroupARNs", targetGroups.sorted())
        p["AutoScalingGroupName"] = group
        return AWSRequest(.autoScaling, "DetachLoadBalancerTargetGroups", p)
    }

    /// DetachLoadBalancers (Classic Load Balancers: the group's instances are deregistered, draining first), or nil
    /// when there is nothing to detach.
    public static func detach(loadBalancers: [String], group: String) -> AWSRequest? {
        guard !loadBalancers.isEmpty else { return nil }
        var p = QueryEncoding.memberList("LoadBalancerNames", loadBalancers.sorted())
        p["AutoScalingGroupName"] = group
        return AWSRequest(.autoScaling, "DetachLoadBalancers", p)
    }

    public static func attach(targetGroups: [String], loadBalancers: [String], group: String) -> [AWSRequest] {
        var out: [AWSRequest] = []
        if !targetGroups.isEmpty {
            var p = QueryEncoding.memberList("TargetGroupARNs", targetGroups)
            p["AutoScalingGroupName"] = group
            out.append(AWSRequest(.autoScaling, "AttachLoadBalancerTargetGroups", p))
        }
        if !loadBalancers.isEmpty {
            var p = QueryEncoding.memberList("LoadBalancerNames", loadBalancers)
            p["AutoScalingGroupName"] = group
            out.append(AWSRequest(.autoScaling, "AttachLoadBalancers", p))
        }
        return out
    }
}
