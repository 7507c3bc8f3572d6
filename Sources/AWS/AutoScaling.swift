import Foundation

/// A tag of an Auto Scaling group.
public struct AutoScalingTag: Sendable, Hashable {
    public var key: String
    public var value: String
    public var propagateAtLaunch: Bool

    public init(key: String, value: String, propagateAtLaunch: Bool) {
        self.key = key
        self.value = value
        self.propagateAtLaunch = propagateAtLaunch
    }
}

/// An instance of an Auto Scaling group.
public struct AutoScalingInstance: Sendable, Hashable {
    public var instanceId: String
    public var lifecycleState: String
    public var healthStatus: String
    public var launchTemplateVersion: String?
}

/// The launch template a group launches from.
public struct GroupLaunchTemplate: Sendable, Hashable {
    public var id: String
    public var name: String
    /// A number, `$Latest` or `$Default`.
    public var version: String
}

/// An Auto Scaling group as DescribeAutoScalingGroups reports it.
public struct AutoScalingGroup: Sendable, Hashable {
    public var name: String
    public var minSize: Int
    public var maxSize: Int
    public var desiredCapacity: Int
    public var launchTemplate: GroupLaunchTemplate?
    public var hasMixedInstancesPolicy: Bool
    public var launchConfigurationName: String?
    public var vpcZoneIdentifier: String
    public var availabilityZones: [String]
    public var healthCheckType: String
    public var healthCheckGracePeriod: Int
    public var targetGroupARNs: [String]
    public var instances: [AutoScalingInstance]
    public var tags: [AutoScalingTag]
    public var status: String?
    /// Classic load balancers the group is attached to.
    public var loadBalancerNames: [String] = []
    public var suspendedProcesses: [String] = []
    public var enabledMetrics: [String] = []
    /// `1Minute` when metrics are enabled.
    public var metricsGranularity: String?
    /// The `member` element as DescribeAutoScalingGroups returned it: the clone copies settings from it by name, so
    /// a setting AWS adds is one line in `GroupCopier.copiedSettings`.
    public var raw: XMLNode = XMLNode(name: "member")
}

/// One scaling activity of a group (DescribeScalingActivities): a launch or a termination, and how it went.
public struct ScalingActivity: Sendable, Hashable {
    public var id: String
    /// `Successful`, `Failed`, `Cancelled`, `InProgress`, `WaitingForSpotInstanceId`, …
    public var statusCode: String
    /// AWS's own words on why it failed (`We currently do not have sufficient t3.micro capacity …`).
    public var statusMessage: String?
    /// `Launching a new EC2 instance: i-…` or `Launching a new EC2 instance.  Status Reason: …`
    public var description: String
    public var startTime: Date?
    public var progress: Int?

    public init(id: String, statusCode: String, statusMessage: String?, description: String, startTime: Date?, progress: Int?) {
        self.id = id
        self.statusCode = statusCode
        self.statusMessage = statusMessage
        self.description = description
        self.startTime = startTime
        self.progress = progress
    }
}

/// The Auto Scaling calls Switchyard makes (query protocol, version 2011-01-01).
public struct AutoScaling: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// Groups by name, or every group when `names` is nil; all pages.
    public func describeAutoScalingGroups(names: [String]?) async throws -> [AutoScalingGroup] {
        var parameters = QueryEncoding.memberList("AutoScalingGroupNames", names ?? [])
        if names?.isEmpty == true { return [] }
        parameters["MaxRecords"] = "100"
        let pages = try await client.paginate(.autoScaling, action: "DescribeAutoScalingGroups", parameters: parameters)
        return pages.flatMap { $0.all("AutoScalingGroups/member") }.map(Self.group(from:))
    }

    /// The group of each instance that belongs to one (instances of no group are left out), 50 ids per call as the API allows.
    public func groupsOfInstances(_ ids: [String]) async throws -> [String: String] {
        var owners: [String: String] = [:]
        let unique = Array(Set(ids)).sorted()
        for start in stride(from: 0, to: unique.count, by: 50) {
            let batch = Array(unique[start..<min(start + 50, unique.count)])
            var parameters = QueryEncoding.memberList("InstanceIds", batch)
            parameters["MaxRecords"] = "50"
            let pages = try await client.paginate(.autoScaling, action: "DescribeAutoScalingInstances", parameters: parameters)
            for member in pages.flatMap({ $0.all("AutoScalingInstances/member") }) {
                if let id = member.value("InstanceId"), let group = member.value("AutoScalingGroupName") { owners[id] = group }
            }
        }
        return owners
    }

    static func group(from m: XMLNode) -> AutoScalingGroup {
        let template = m.child("LaunchTemplate").map {
            GroupLaunchTemplate(id: $0.value("LaunchTemplateId") ?? "", name: $0.value("LaunchTemplateName") ?? "", version: $0.value("Version") ?? "$Default")
        }
        let mixed = m.child("MixedInstancesPolicy").map { !$0.children.isEmpty } ?? false
        var group = AutoScalingGroup(
            name: m.value("AutoScalingGroupName") ?? "",
            minSize: m.int("MinSize") ?? 0, maxSize: m.int("MaxSize") ?? 0, desiredCapacity: m.int("DesiredCapacity") ?? 0,
            launchTemplate: template, hasMixedInstancesPolicy: mixed,
            launchConfigurationName: m.value("LaunchConfigurationName").flatMap { $0.isEmpty ? nil : $0 },
            vpcZoneIdentifier: m.value("VPCZoneIdentifier") ?? "",
            availabilityZones: m.all("AvailabilityZones/member").map(\.text),
            healthCheckType: m.value("HealthCheckType") ?? "EC2",
            healthCheckGracePeriod: m.int("HealthCheckGracePeriod") ?? 0,
            targetGroupARNs: m.all("TargetGroupARNs/member").map(\.text),
            instances: m.all("Instances/member").map {
                AutoScalingInstance(instanceId: $0.value("InstanceId") ?? "", lifecycleState: $0.value("LifecycleState") ?? "",
                                    healthStatus: $0.value("HealthStatus") ?? "", launchTemplateVersion: $0.value("LaunchTemplate/Version"))
            },
            tags: m.all("Tags/member").map {
                AutoScalingTag(key: $0.value("Key") ?? "", value: $0.value("Value") ?? "", propagateAtLaunch: $0.bool("PropagateAtLaunch") ?? false)
            },
            status: m.value("Status"))
        group.loadBalancerNames = m.all("LoadBalancerNames/member").map(\.text)
        group.suspendedProcesses = m.all("SuspendedProcesses/member").compactMap { $0.value("ProcessName") }
        group.enabledMetrics = m.all("EnabledMetrics/member").compactMap { $0.value("Metric") }
        group.metricsGranularity = m.all("EnabledMetrics/member").first?.value("Granularity")
        group.raw = m
        return group
    }

    /// The group's most recent scaling activities, newest first (one page: the newest are the ones that say how
    /// launches go now).
    public func scalingActivities(group: String, maxRecords: Int = 20) async throws -> [ScalingActivity] {
        let result = try await client.call(.autoScaling, action: "DescribeScalingActivities", parameters: [
            "AutoScalingGroupName": group, "MaxRecords": String(maxRecords),
        ])
        return result.all("Activities/member").map {
            ScalingActivity(id: $0.value("ActivityId") ?? "", statusCode: $0.value("StatusCode") ?? "",
                            statusMessage: $0.value("StatusMessage").flatMap { $0.isEmpty ? nil : $0 },
                            description: $0.value("Description") ?? "", startTime: $0.value("StartTime").flatMap(AWSTimestamp.parse),
                            progress: $0.int("Progress"))
        }
    }

    /// Creates a group from a request the clone built (`GroupCopier.create`).
    public func createAutoScalingGroup(_ request: AWSRequest) async throws {
        try await client.send(request)
    }

    /// Sets tags on a group (not propagated to instances).
    public func tagGroup(_ name: String, tags: [String: String]) async throws {
        var parameters: [String: String] = [:]
        for (index, key) in tags.keys.sorted().enumerated() {
            let prefix = "Tags.member.\(index + 1)"
            parameters["\(prefix).Key"] = key
            parameters["\(prefix).Value"] = tags[key]
            parameters["\(prefix).PropagateAtLaunch"] = "false"
            parameters["\(prefix).ResourceId"] = name
            parameters["\(prefix).ResourceType"] = "auto-scaling-group"
        }
        _ = try await client.call(.autoScaling, action: "CreateOrUpdateTags", parameters: parameters)
    }

    public func updateAutoScalingGroup(name: String, minSize: Int, maxSize: Int, desiredCapacity: Int) async throws {
        _ = try await client.call(.autoScaling, action: "UpdateAutoScalingGroup", parameters: [
            "AutoScalingGroupName": name, "MinSize": String(minSize), "MaxSize": String(maxSize), "DesiredCapacity": String(desiredCapacity),
        ])
    }

    /// Terminates one instance of a group; with `decrementDesiredCapacity` the group does not replace it (and refuses
    /// when that would take it below its minimum size).
    public func terminateInstance(_ id: String, decrementDesiredCapacity: Bool) async throws {
        _ = try await client.call(.autoScaling, action: "TerminateInstanceInAutoScalingGroup", parameters: [
            "InstanceId": id, "ShouldDecrementDesiredCapacity": decrementDesiredCapacity ? "true" : "false",
        ])
    }

    public func deleteAutoScalingGroup(name: String, forceDelete: Bool) async throws {
        _ = try await client.call(.autoScaling, action: "DeleteAutoScalingGroup", parameters: [
            "AutoScalingGroupName": name, "ForceDelete": forceDelete ? "true" : "false",
        ])
    }
}
