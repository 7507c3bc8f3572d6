import AWS
import Foundation
import Logging
import SwitchyardCore

/// The AWS clients a release talks to, built once per command.
public struct AWSClients: Sendable {
    public let ec2: EC2
    public let autoScaling: AutoScaling
    public let elb: ELBv2
    public let cloudWatch: CloudWatch

    public init(client: AWSClient) {
        self.ec2 = EC2(client: client)
        self.autoScaling = AutoScaling(client: client)
        self.elb = ELBv2(client: client)
        self.cloudWatch = CloudWatch(client: client)
    }

    public func traffic(for spec: DeploymentSpec) -> TrafficSwitch {
        TrafficSwitch(elb: elb, listenerArn: spec.traffic.listenerArn, ruleArn: spec.traffic.ruleArn)
    }
}

/// Resolves a deployment file and an AMI into a `ReleasePlan` by reading AWS. Changes nothing.
public struct Planner: Sendable {
    public let aws: AWSClients
    public let logger: Logger

    public init(aws: AWSClients, logger: Logger) {
        self.aws = aws
        self.logger = logger
    }

    /// The name of green's Auto Scaling group for a deployment: deterministic, so a resumed run finds it.
    public static func greenGroupName(service: String, deploymentId: String) -> String {
        "switchyard-\(service)-\(deploymentId)"
    }

    /// Discovers blue, checks the AMI and decides what green will be.
    /// - Parameter retirable: groups Switchyard may retire from green's target group (earlier blues of this service).
    public func plan(spec: DeploymentSpec, ami: String, deploymentId: String, retirable: Set<String>) async throws -> ReleasePlan {
        let weights = try await aws.traffic(for: spec).currentWeights()
        let resource = aws.traffic(for: spec).resourceName
        let fileGroups = Set(spec.traffic.targetGroups)
        guard Set(weights.percent.keys).isSubset(of: fileGroups) else {
            throw PlanError.targetGroupsMismatch(resource: resource, listener: weights.percent.keys.sorted(), file: spec.traffic.targetGroups)
        }
        let live = weights.live
        guard live.count < 2 else { throw PlanError.halfShifted(resource: resource, weights: weights.percent) }
        guard let blueTargetGroup = live.first else { throw PlanError.noTraffic(resource: resource) }
        guard let greenTargetGroup = spec.traffic.targetGroups.first(where: { $0 != blueTargetGroup }) else {
            throw PlanError.targetGroupsMismatch(resource: resource, listener: live, file: spec.traffic.targetGroups)
        }

        let groups = try await aws.autoScaling.describeAutoScalingGroups(names: nil)
        let blueGroup = try findBlue(spec: spec, groups: groups, blueTargetGroup: blueTargetGroup)
        let retire = try groupsToRetire(groups: groups, greenTargetGroup: greenTargetGroup, service: spec.service, retirable: retirable)
        let blue = try await describeBlue(group: blueGroup, targetGroup: blueTargetGroup)
        try await checkImage(ami: ami, blue: blue)

        return ReleasePlan(
            spec: spec, ami: ami, blue: blue,
            greenTargetGroupArn: greenTargetGroup,
            greenAutoScalingGroup: Self.greenGroupName(service: spec.service, deploymentId: deploymentId),
            retire: retire)
    }

    private func findBlue(spec: DeploymentSpec, groups: [AutoScalingGroup], blueTargetGroup: String) throws -> AutoScalingGroup {
        if let name = spec.fleet.blueAutoScalingGroup {
            guard let group = groups.first(where: { $0.name == name }) else { throw PlanError.blueGroupMissing(name) }
            guard group.targetGroupARNs.contains(blueTargetGroup) else {
                throw PlanError.blueGroupNotOnTargetGroup(group: name, targetGroup: blueTargetGroup)
            }
            return group
        }
        let attached = groups.filter { $0.targetGroupARNs.contains(blueTargetGroup) }
        guard let group = attached.first else { throw PlanError.blueGroupNotFound(targetGroup: blueTargetGroup) }
        guard attached.count == 1 else { throw PlanError.ambiguousBlue(targetGroup: blueTargetGroup, groups: attached.map(\.name).sorted()) }
        return group
    }

    /// Groups standing on green's target group. Only earlier blues and Switchyard's own groups of this service may go.
    private func groupsToRetire(groups: [AutoScalingGroup], greenTargetGroup: String, service: String, retirable: Set<String>) throws -> [String] {
        let standing = groups.filter { $0.targetGroupARNs.contains(greenTargetGroup) }
        return try standing.map { group in
            let ours = group.tags.contains { $0.key == "switchyard:service" && $0.value == service }
            guard ours || retirable.contains(group.name) else {
                throw PlanError.foreignGroupOnGreen(group: group.name, targetGroup: greenTargetGroup)
            }
            return group.name
        }.sorted()
    }

    private func describeBlue(group: AutoScalingGroup, targetGroup: String) async throws -> BlueFleet {
        if group.hasMixedInstancesPolicy {
            throw PlanError.blueWithoutLaunchTemplate(group: group.name, detail: "uses a mixed instances policy")
        }
        guard let template = group.launchTemplate else {
            let detail = group.launchConfigurationName.map { "uses launch configuration \($0)" } ?? "has no launch template"
            throw PlanError.blueWithoutLaunchTemplate(group: group.name, detail: detail)
        }
        let versions = try await aws.ec2.describeLaunchTemplateVersions(templateId: template.id, versions: [template.version])
        guard let version = versions.first else {
            throw PlanError.launchTemplateVersionNotFound(template: template.name, version: template.version)
        }
        let imageId = version.imageId ?? ""
        let images = imageId.isEmpty ? [] : try await aws.ec2.describeImages(ids: [imageId])
        return BlueFleet(
            autoScalingGroup: group.name, targetGroupArn: targetGroup,
            launchTemplateId: template.id, launchTemplateName: version.templateName,
            launchTemplateVersion: version.versionNumber, imageId: imageId,
            architecture: images.first?.architecture ?? "",
            minSize: group.minSize, maxSize: group.maxSize, desiredCapacity: group.desiredCapacity)
    }

    private func checkImage(ami: String, blue: BlueFleet) async throws {
        let images: [EC2Image]
        do {
            images = try await aws.ec2.describeImages(ids: [ami])
        } catch let error as AWSError where error.code.rawValue.hasPrefix("InvalidAMIID") {
            throw PlanError.amiNotFound(ami)
        }
        guard let image = images.first(where: { $0.imageId == ami }) else { throw PlanError.amiNotFound(ami) }
        guard image.state == "available" else { throw PlanError.amiNotAvailable(ami: ami, state: image.state) }
        if !blue.architecture.isEmpty, image.architecture != blue.architecture {
            throw PlanError.architectureMismatch(ami: ami, architecture: image.architecture, blueAMI: blue.imageId, blueArchitecture: blue.architecture)
        }
    }
}
