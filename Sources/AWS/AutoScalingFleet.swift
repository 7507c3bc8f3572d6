import Foundation

/// A scaling policy as DescribePolicies reports it.
public struct ScalingPolicy: Sendable, Hashable {
    public var name: String
    public var arn: String
    /// `TargetTrackingScaling`, `StepScaling`, `SimpleScaling` or `PredictiveScaling`.
    public var type: String
    public var raw: XMLNode

    /// Step and simple policies are driven by CloudWatch alarms the group's owner made; the others by AWS's own.
    public var isAlarmDriven: Bool { type == "StepScaling" || type == "SimpleScaling" }

    static func from(_ m: XMLNode) -> ScalingPolicy {
        ScalingPolicy(name: m.value("PolicyName") ?? "", arn: m.value("PolicyARN") ?? "", type: m.value("PolicyType") ?? "SimpleScaling", raw: m)
    }
}

/// A scheduled action as DescribeScheduledActions reports it.
public struct ScheduledAction: Sendable, Hashable {
    public var name: String
    public var raw: XMLNode

    public var recurrence: String? { raw.value("Recurrence").flatMap { $0.isEmpty ? nil : $0 } }
    public var startTime: Date? { raw.value("StartTime").flatMap(AWSTimestamp.parse) ?? raw.value("Time").flatMap(AWSTimestamp.parse) }
    public var endTime: Date? { raw.value("EndTime").flatMap(AWSTimestamp.parse) }
}

/// A lifecycle hook as DescribeLifecycleHooks reports it.
public struct LifecycleHook: Sendable, Hashable {
    public var name: String
    public var transition: String
    public var raw: XMLNode
}

/// One (topic, notification type) pair of DescribeNotificationConfigurations.
public struct NotificationConfiguration: Sendable, Hashable {
    public var topicARN: String
    public var type: String
    public init(topicARN: String, type: String) {
        self.topicARN = topicARN
        self.type = type
    }
}

/// The timestamps of AWS's query protocols (ISO 8601, with or without fractional seconds).
public enum AWSTimestamp {
    public static func parse(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }
}

/// The reads and writes the fleet clone needs besides the group itself.
extension AutoScaling {
    public func describePolicies(group: String) async throws -> [ScalingPolicy] {
        let pages = try await client.paginate(.autoScaling, action: "DescribePolicies", parameters: ["AutoScalingGroupName": group])
        return pages.flatMap { $0.all("ScalingPolicies/member") }.map(ScalingPolicy.from)
    }

    public func describeScheduledActions(group: String) async throws -> [ScheduledAction] {
        let pages = try await client.paginate(.autoScaling, action: "DescribeScheduledActions", parameters: ["AutoScalingGroupName": group])
        return pages.flatMap { $0.all("ScheduledUpdateGroupActions/member") }.map {
            ScheduledAction(name: $0.value("ScheduledActionName") ?? "", raw: $0)
        }
    }

    public func describeLifecycleHooks(group: String) async throws -> [LifecycleHook] {
        let result = try await client.call(.autoScaling, action: "DescribeLifecycleHooks", parameters: ["AutoScalingGroupName": group])
        return result.all("LifecycleHooks/member").map {
            LifecycleHook(name: $0.value("LifecycleHookName") ?? "", transition: $0.value("LifecycleTransition") ?? "", raw: $0)
        }
    }

    public func describeNotificationConfigurations(group: String) async throws -> [NotificationConfiguration] {
        let pages = try await client.paginate(.autoScaling, action: "DescribeNotificationConfigurations",
                                              parameters: QueryEncoding.memberList("AutoScalingGroupNames", [group]))
        return pages.flatMap { $0.all("NotificationConfigurations/member") }.map {
            NotificationConfiguration(topicARN: $0.value("TopicARN") ?? "", type: $0.value("NotificationType") ?? "")
        }
    }
}

/// A CloudWatch metric alarm's whole definition, to recreate it for another group.
public struct AlarmDefinition: Sendable, Hashable {
    public var name: String
    public var actions: [String]
    public var raw: XMLNode
}

extension CloudWatch {
    /// Alarms with an action that starts with `prefix` (a scaling policy's ARN); the caller keeps exact matches.
    public func describeAlarms(actionPrefix prefix: String) async throws -> [AlarmDefinition] {
        let pages = try await client.paginate(.cloudWatch, action: "DescribeAlarms", parameters: ["ActionPrefix": prefix])
        return pages.flatMap { $0.all("MetricAlarms/member") }.map { m in
            let actions = ["AlarmActions", "OKActions", "InsufficientDataActions"].flatMap { m.all("\($0)/member").map(\.text) }
            return AlarmDefinition(name: m.value("AlarmName") ?? "", actions: actions, raw: m)
        }
    }
}
