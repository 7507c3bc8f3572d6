@testable import AWS
import Foundation
import Testing

/// The clone as a pure function: blue's description (captured from moto with scripts/capture-fixtures.py, a blue dressed
/// like a production group) in, green's requests out, field by field.
@Suite struct FleetCloneTests {
    static let greenTG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/fy-b/0123456789abcdef"
    static let blueTG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/fy-a/578a7911e4915fbc"
    let green = GreenGroup(name: "switchyard-fy-d1", launchTemplateId: "lt-596a7334c9c762f4b", launchTemplateVersion: 7,
                           minSize: 2, maxSize: 4, desiredCapacity: 2, targetGroupArn: greenTG, blueTargetGroupArn: blueTG,
                           tags: [AutoScalingTag(key: "switchyard:deployment", value: "d1", propagateAtLaunch: true)])

    static func members(_ fixture: String, _ path: String) throws -> [XMLNode] {
        let root = try #require(XMLNode.parse(Fixture.data(fixture)))
        let result = try #require(root.children.first)
        return result.all(path)
    }

    static func dressed() throws -> AutoScalingGroup {
        AutoScaling.group(from: try #require(try members("autoscaling-DescribeAutoScalingGroups-dressed.xml", "AutoScalingGroups/member").first))
    }

    /// Settings moto drops but AWS reports, in AWS's response shape (botocore's AutoScalingGroup shape).
    static let awsOnlySettings = """
        <x><MaxInstanceLifetime>604800</MaxInstanceLifetime><DefaultInstanceWarmup>90</DefaultInstanceWarmup>\
        <PlacementGroup>fy-spread</PlacementGroup><Context>team=web</Context><DesiredCapacityType>units</DesiredCapacityType>\
        <InstanceMaintenancePolicy><MinHealthyPercentage>90</MinHealthyPercentage><MaxHealthyPercentage>120</MaxHealthyPercentage></InstanceMaintenancePolicy>\
        <CapacityReservationSpecification><CapacityReservationPreference>capacity-reservations-first</CapacityReservationPreference></CapacityReservationSpecification>\
        <AvailabilityZoneDistribution><CapacityDistributionStrategy>balanced-best-effort</CapacityDistributionStrategy></AvailabilityZoneDistribution>\
        <AvailabilityZoneImpairmentPolicy><ZonalShiftEnabled>true</ZonalShiftEnabled><ImpairedZoneHealthCheckBehavior>IgnoreUnhealthy</ImpairedZoneHealthCheckBehavior></AvailabilityZoneImpairmentPolicy>\
        <InstanceLifecyclePolicy><RetentionTriggers><TerminateHookAbandon>retain</TerminateHookAbandon></RetentionTriggers></InstanceLifecyclePolicy>\
        <DeletionProtection>prevent-force-deletion</DeletionProtection>\
        <TrafficSources><member><Identifier>\(blueTG)</Identifier><Type>elbv2</Type></member></TrafficSources></x>
        """

    static func productionBlue() throws -> FleetDescription {
        var group = try dressed()
        group.raw.children += try #require(XMLNode.parse(Data(awsOnlySettings.utf8))).children
        let hooks = try members("autoscaling-DescribeLifecycleHooks.xml", "LifecycleHooks/member").map {
            LifecycleHook(name: $0.value("LifecycleHookName") ?? "", transition: $0.value("LifecycleTransition") ?? "", raw: $0)
        }
        return FleetDescription(group: group, lifecycleHooks: hooks)
    }

    @Test func greenIsCreatedWithEverySettingOfBlueTheAPIAccepts() throws {
        let request = GroupCopier.create(blue: try Self.productionBlue(), green: green)
        #expect(request.action == "CreateAutoScalingGroup")
        let mixed = "MixedInstancesPolicy.LaunchTemplate"
        let hook = "LifecycleHookSpecificationList.member.1"
        #expect(request.parameters == [
            "AutoScalingGroupName": "switchyard-fy-d1", "MinSize": "2", "MaxSize": "4", "DesiredCapacity": "2",
            "\(mixed).LaunchTemplateSpecification.LaunchTemplateId": "lt-596a7334c9c762f4b",
            "\(mixed).LaunchTemplateSpecification.Version": "7",
            "\(mixed).Overrides.member.1.InstanceType": "t3.micro", "\(mixed).Overrides.member.1.WeightedCapacity": "1",
            "\(mixed).Overrides.member.2.InstanceType": "t3a.micro", "\(mixed).Overrides.member.2.WeightedCapacity": "1",
            "MixedInstancesPolicy.InstancesDistribution.OnDemandBaseCapacity": "1",
            "MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity": "25",
            "MixedInstancesPolicy.InstancesDistribution.SpotAllocationStrategy": "price-capacity-optimized",
            "DefaultCooldown": "120", "HealthCheckType": "ELB", "HealthCheckGracePeriod": "60",
            "VPCZoneIdentifier": "subnet-ea05c5074c708e7cf,subnet-b1f45cbb31ec71f3d",
            "TerminationPolicies.member.1": "OldestInstance", "TerminationPolicies.member.2": "Default",
            "NewInstancesProtectedFromScaleIn": "false", "CapacityRebalance": "true",
            "ServiceLinkedRoleARN": "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            "MaxInstanceLifetime": "604800", "DefaultInstanceWarmup": "90", "PlacementGroup": "fy-spread", "Context": "team=web",
            "DesiredCapacityType": "units",
            "InstanceMaintenancePolicy.MinHealthyPercentage": "90", "InstanceMaintenancePolicy.MaxHealthyPercentage": "120",
            "CapacityReservationSpecification.CapacityReservationPreference": "capacity-reservations-first",
            "AvailabilityZoneDistribution.CapacityDistributionStrategy": "balanced-best-effort",
            "AvailabilityZoneImpairmentPolicy.ZonalShiftEnabled": "true",
            "AvailabilityZoneImpairmentPolicy.ImpairedZoneHealthCheckBehavior": "IgnoreUnhealthy",
            "InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon": "retain",
            "TargetGroupARNs.member.1": Self.greenTG,
            "\(hook).LifecycleHookName": "bootstrap", "\(hook).LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
            "\(hook).NotificationTargetARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
            "\(hook).RoleARN": "arn:aws:iam::1234567890:role/my-auto-scaling-role", "\(hook).HeartbeatTimeout": "300",
            "\(hook).DefaultResult": "ABANDON",
            "Tags.member.1.Key": "team", "Tags.member.1.Value": "platform", "Tags.member.1.PropagateAtLaunch": "true",
            "Tags.member.1.ResourceId": "switchyard-fy-d1", "Tags.member.1.ResourceType": "auto-scaling-group",
            "Tags.member.2.Key": "switchyard:deployment", "Tags.member.2.Value": "d1", "Tags.member.2.PropagateAtLaunch": "true",
            "Tags.member.2.ResourceId": "switchyard-fy-d1", "Tags.member.2.ResourceType": "auto-scaling-group",
        ])
    }

    /// Every name copied by name is a member of CreateAutoScalingGroup in botocore's model (autoscaling 2011-01-01).
    @Test func copiedSettingsAreMembersOfCreateAutoScalingGroup() {
        let model: Set<String> = [
            "AutoScalingGroupName", "LaunchConfigurationName", "LaunchTemplate", "MixedInstancesPolicy", "InstanceId", "MinSize", "MaxSize",
            "DesiredCapacity", "DefaultCooldown", "AvailabilityZones", "AvailabilityZoneIds", "LoadBalancerNames", "TargetGroupARNs",
            "HealthCheckType", "HealthCheckGracePeriod", "PlacementGroup", "VPCZoneIdentifier", "TerminationPolicies",
            "NewInstancesProtectedFromScaleIn", "CapacityRebalance", "LifecycleHookSpecificationList", "DeletionProtection", "Tags",
            "ServiceLinkedRoleARN", "MaxInstanceLifetime", "Context", "DesiredCapacityType", "DefaultInstanceWarmup", "TrafficSources",
            "InstanceMaintenancePolicy", "AvailabilityZoneDistribution", "AvailabilityZoneImpairmentPolicy", "SkipZonalShiftValidation",
            "CapacityReservationSpecification", "InstanceLifecyclePolicy",
        ]
        #expect(Set(GroupCopier.copiedSettings).isSubset(of: model))
        #expect(Set(GroupCopier.withheldSettings.keys).isSubset(of: model))
        #expect(Set(GroupCopier.hookMembers) == ["LifecycleHookName", "LifecycleTransition", "NotificationMetadata", "HeartbeatTimeout",
                                                 "DefaultResult", "NotificationTargetARN", "RoleARN"])
    }

    @Test func aPlainBlueOnZonesGetsGreensVersionByNumberAndItsZones() throws {
        let member = try #require(try Self.members("autoscaling-DescribeAutoScalingGroups.xml", "AutoScalingGroups/member").first)
        var group = AutoScaling.group(from: member)
        group.raw.children.removeAll { $0.name == "VPCZoneIdentifier" }
        #expect(group.launchTemplate?.version == "$Latest")
        let p = GroupCopier.create(blue: FleetDescription(group: group), green: green).parameters
        #expect(p["LaunchTemplate.LaunchTemplateId"] == "lt-596a7334c9c762f4b")
        #expect(p["LaunchTemplate.Version"] == "7")
        #expect(p["VPCZoneIdentifier"] == nil)
        #expect(p.keys.filter { $0.hasPrefix("AvailabilityZones.member.") }.count == group.availabilityZones.count)
        #expect(p.keys.contains { $0.hasPrefix("MixedInstancesPolicy") } == false)
        #expect(p.keys.contains { $0.hasPrefix("LifecycleHookSpecificationList") } == false)
    }

    /// With a shared Classic Load Balancer green is attached to it by name, and to no target group.
    @Test func greenSharingAClassicLoadBalancerIsAttachedToItAndNoTargetGroup() throws {
        var classic = green
        classic.loadBalancerName = "web-clb"
        let p = GroupCopier.create(blue: try Self.productionBlue(), green: classic).parameters
        #expect(p["LoadBalancerNames.member.1"] == "web-clb" && p["LoadBalancerNames.member.2"] == nil)
        #expect(!p.keys.contains { $0.hasPrefix("TargetGroupARNs") })
        #expect(GroupCopier.create(blue: try Self.productionBlue(), green: green).parameters["LoadBalancerNames.member.1"] == nil)
        let detach = try #require(SettingsCopier.detach(loadBalancers: ["web-clb"], group: "g"))
        #expect(detach.action == "DetachLoadBalancers" && detach.parameters["LoadBalancerNames.member.1"] == "web-clb")
        #expect(SettingsCopier.detach(loadBalancers: [], group: "g") == nil)
    }

    @Test func theDressedGroupIsDecoded() throws {
        let group = try Self.dressed()
        #expect(group.suspendedProcesses == ["AZRebalance"])
        #expect(group.enabledMetrics == ["GroupInServiceInstances", "GroupDesiredCapacity"])
        #expect(group.metricsGranularity == "1Minute")
        #expect(group.loadBalancerNames == [])
        #expect(group.launchTemplate == nil)
        #expect(GroupCopier.launchTemplate(of: group) == GroupLaunchTemplate(id: "lt-596a7334c9c762f4b", name: "fy-lt", version: "$Latest"))
        #expect(GroupCopier.overridesWithOwnTemplate(group) == [])
    }

    @Test func pinningAMixedGroupSendsItsWholePolicyWithTheNumber() throws {
        let group = try Self.dressed()
        let p = SettingsCopier.update(group: "fy-blue", minSize: 2, launchTemplate: GroupCopier.launchTemplateVersion(of: group, templateId: "lt-596a7334c9c762f4b", version: "1")).parameters
        #expect(p["MinSize"] == "2" && p["MaxSize"] == nil)
        #expect(p["MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version"] == "1")
        #expect(p["MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName"] == nil)
        #expect(p["MixedInstancesPolicy.LaunchTemplate.Overrides.member.2.InstanceType"] == "t3a.micro")
        #expect(p["MixedInstancesPolicy.InstancesDistribution.OnDemandBaseCapacity"] == "1")
    }
}
