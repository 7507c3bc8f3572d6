@testable import AWS
import Foundation
import Testing

/// Response bodies captured from moto (scripts/capture-fixtures.py) decoded through the real client code.
@Suite struct DecodingTests {
    let transport = FakeTransport()

    init() {
        transport.fixtureFor = { action in
            [
                "DescribeImages": "ec2-DescribeImages.xml",
                "DescribeLaunchTemplateVersions": "ec2-DescribeLaunchTemplateVersions-rich.xml",
                "CreateLaunchTemplateVersion": "ec2-CreateLaunchTemplateVersion.xml",
                "DescribeInstances": "ec2-DescribeInstances.xml",
                "DescribeAutoScalingGroups": "autoscaling-DescribeAutoScalingGroups.xml",
                "DescribeListeners": "elbv2-DescribeListeners.xml",
                "DescribeTargetHealth": "elbv2-DescribeTargetHealth.xml",
                "DescribeTargetGroups": "elbv2-DescribeTargetGroups.xml",
                "DescribeAlarms": "monitoring-DescribeAlarms.xml",
                "DescribeAutoScalingInstances": "autoscaling-DescribeAutoScalingInstances.xml",
                "ModifyListener": "elbv2-ModifyListener.xml",
            ][action]
        }
    }

    @Test func describeImagesGivesStateAndArchitecture() async throws {
        let images = try await EC2(client: makeClient(transport)).describeImages(ids: ["ami-1e749f67"])
        #expect(images == [EC2Image(imageId: "ami-1e749f67", state: "available", architecture: "x86_64", name: images.first?.name)])
        #expect(images.first?.name?.isEmpty == false)
        #expect(transport.parameters.first?["Filter.1.Name"] == "image-id")
        #expect(transport.parameters.first?["Filter.1.Value.1"] == "ami-1e749f67")
        #expect(transport.parameters.first?["ImageId.1"] == nil)
    }

    @Test func severalImagesAreOneFilteredCallThatCannotFailOnAMissingOne() async throws {
        _ = try await EC2(client: makeClient(transport)).describeImages(ids: ["ami-b", "", "ami-a", "ami-b"])
        #expect(transport.requests.count == 1)
        #expect(transport.parameters[0].filter { $0.key.hasPrefix("Filter") } ==
                ["Filter.1.Name": "image-id", "Filter.1.Value.1": "ami-a", "Filter.1.Value.2": "ami-b"])
    }

    @Test func groupsOfInstancesAsksFiftyAtATime() async throws {
        let ids = (1...120).map { "i-\($0)" }
        let owners = try await AutoScaling(client: makeClient(transport)).groupsOfInstances(ids + ["i-1"])
        #expect(transport.requests.count == 3)
        #expect(transport.parameters.map { $0.keys.filter { $0.hasPrefix("InstanceIds.member.") }.count } == [50, 50, 20])
        #expect(transport.parameters[0]["Action"] == "DescribeAutoScalingInstances")
        #expect(Set(owners.values) == ["fx-blue"])
        #expect(owners.count == 2)
    }

    @Test func modifyListenerAnswersWithTheListenerAsChanged() async throws {
        let elb = ELBv2(client: makeClient(transport))
        let listener = try #require(try await elb.modifyListener(arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/fx-alb/0191ead8bed4e449/3df44ea0e023f4a3", defaultActions: []))
        let weights = listener.defaultActions.first?.forward?.targetGroups.map(\.weight)
        #expect(weights == [90, 10])
        #expect(try await elb.modifyListener(arn: "arn:other", defaultActions: []) == nil)
    }

    @Test func launchTemplateVersionKeepsItsRawData() async throws {
        let versions = try await EC2(client: makeClient(transport)).describeLaunchTemplateVersions(templateId: "lt-1", versions: ["1"])
        let version = try #require(versions.first)
        #expect(version.templateName == "fx-rich")
        #expect(version.versionNumber == 1)
        #expect(version.isDefault)
        #expect(version.imageId == "ami-1e749f67")
        #expect(version.data.value("instanceType") == "m5.large")
    }

    @Test func autoScalingGroupDecodesEveryFieldSwitchyardCopies() async throws {
        let groups = try await AutoScaling(client: makeClient(transport)).describeAutoScalingGroups(names: ["fx-blue"])
        let group = try #require(groups.first)
        #expect(group.name == "fx-blue")
        #expect((group.minSize, group.maxSize, group.desiredCapacity) == (2, 4, 2))
        #expect(group.launchTemplate?.id.hasPrefix("lt-") == true)
        #expect(group.launchTemplate?.version == "$Latest")
        #expect(group.hasMixedInstancesPolicy == false)
        #expect(group.vpcZoneIdentifier.split(separator: ",").count == 2)
        #expect(group.healthCheckType == "ELB")
        #expect(group.healthCheckGracePeriod == 60)
        #expect(group.targetGroupARNs.count == 1)
        #expect(group.instances.count == 2)
        #expect(group.instances.allSatisfy { $0.lifecycleState == "InService" && $0.instanceId.hasPrefix("i-") })
        #expect(group.tags == [AutoScalingTag(key: "team", value: "platform", propagateAtLaunch: true)])
    }

    @Test func listenerForwardConfigDecodesWeightsAndStickiness() async throws {
        let arn = try #require(XMLNode.parse(Fixture.data("elbv2-DescribeListeners.xml"))?.value("DescribeListenersResult/Listeners/member/ListenerArn"))
        let listener = try #require(try await ELBv2(client: makeClient(transport)).describeListener(arn: arn))
        #expect(transport.parameters.first?["ListenerArns.member.1"] == arn)
        #expect(listener.port == 80)
        let action = try #require(listener.defaultActions.first)
        #expect(action.type == "forward")
        #expect(action.forward?.targetGroups.map(\.weight) == [100, 0])
        #expect(action.forward?.stickiness == Stickiness(enabled: false, durationSeconds: nil))
    }

    @Test func plainTargetGroupForwardIsReadToo() {
        let xml = "<member><Type>forward</Type><TargetGroupArn>arn:tg</TargetGroupArn><Order>1</Order></member>"
        let action = ListenerAction.decode(XMLNode.parse(Data(xml.utf8))!)
        #expect(action == ListenerAction(type: "forward", order: 1, targetGroupArn: "arn:tg", forward: nil))
    }

    @Test func targetHealthAndTargetGroupsAndAlarms() async throws {
        let client = makeClient(transport)
        let health = try await ELBv2(client: client).describeTargetHealth(targetGroupArn: "arn:tg")
        #expect(health.count == 2)
        #expect(health.allSatisfy { $0.state == "healthy" && $0.targetId.hasPrefix("i-") })
        let groups = try await ELBv2(client: client).describeTargetGroups(arns: ["a", "b"])
        #expect(groups.map(\.name) == ["fx-a", "fx-b"])
        let alarms = try await CloudWatch(client: client).describeAlarms(names: ["fx-5xx"])
        #expect(alarms.map(\.name) == ["fx-5xx"])
        #expect(alarms.first?.state == "OK")
    }

    @Test func moreThanAHundredAlarmsAreAskedInCallsOfAHundred() async throws {
        let transport = FakeTransport()
        transport.enqueue(fixture: "monitoring-DescribeAlarms.xml")
        transport.enqueue(fixture: "monitoring-DescribeAlarms.xml")
        let names = (0..<150).map { "alarm-\($0)" }
        _ = try await CloudWatch(client: makeClient(transport)).describeAlarms(names: names)
        let asked = transport.parameters.map { form in form.keys.filter { $0.hasPrefix("AlarmNames.member.") }.count }
        #expect(asked == [100, 50])
        #expect(transport.parameters.last?["AlarmNames.member.1"] == "alarm-100")
    }

    @Test func aTargetGroupsDeregistrationDelayIsReadFromItsAttributes() async throws {
        let transport = FakeTransport()
        transport.enqueue(fixture: "elbv2-DescribeTargetGroupAttributes.xml")
        let attributes = try await ELBv2(client: makeClient(transport)).describeTargetGroupAttributes(arn: "arn:tg")
        #expect(attributes["deregistration_delay.timeout_seconds"] == "45")
        #expect(attributes["stickiness.enabled"] == "false")
        #expect(transport.parameters.first?["TargetGroupArn"] == "arn:tg")
    }

    @Test func instancesCarryTheirImage() async throws {
        let instances = try await EC2(client: makeClient(transport)).describeInstances(ids: ["i-1", "i-2"])
        #expect(instances.count == 2)
        #expect(instances.allSatisfy { $0.imageId == "ami-1e749f67" && $0.state == "running" })
        #expect(transport.parameters.first?["InstanceId.2"] == "i-2")
    }

    @Test func createdLaunchTemplateVersionIsRead() async throws {
        let data = try #require(XMLNode.parse(Fixture.data("ec2-DescribeLaunchTemplateVersions-rich.xml"))?.node("launchTemplateVersionSet/item/launchTemplateData"))
        let created = try await EC2(client: makeClient(transport)).createLaunchTemplateVersion(
            templateId: "lt-1", sourceVersion: 1, copying: data, imageId: "ami-35e92e4c", description: "d", clientToken: "tok")
        #expect(created.versionNumber == 2)
        let sent = try #require(transport.parameters.first)
        #expect(sent["ClientToken"] == "tok")
        #expect(sent["SourceVersion"] == "1")
        #expect(sent["LaunchTemplateData.ImageId"] == "ami-35e92e4c")
    }

    @Test func queryErrorDecodesCodeMessageAndRequestId() {
        let error = AWSError.decode(status: 400, body: Fixture.data("elbv2-ModifyListener-error-400.xml"), service: .elasticLoadBalancing, action: "ModifyListener")
        #expect(error.code.rawValue == "ListenerNotFound")
        #expect(error.message == "The specified listener does not exist.")
        #expect(error.requestId?.isEmpty == false)
        #expect(error.isAWSErrorBody)
        #expect(error.description.contains("ModifyListener failed with ListenerNotFound (HTTP 400"))
    }

    @Test func ec2ErrorDecodesItsOwnShape() {
        let error = AWSError.decode(status: 400, body: Fixture.data("ec2-DescribeImages-error-400.xml"), service: .ec2, action: "DescribeImages")
        #expect(error.code == .invalidAMIIDNotFound)
        #expect(error.message.contains("ami-00000000000000000"))
        #expect(error.requestId == "request-id")
    }

    @Test func htmlPageOfAnUnimplementedActionIsNotAnAWSError() {
        let error = AWSError.decode(status: 500, body: Fixture.data("autoscaling-AttachTrafficSources-error-500.html"), service: .autoScaling, action: "AttachTrafficSources")
        #expect(error.code == .notImplemented)
        #expect(!error.isAWSErrorBody)
        #expect(!error.message.contains("<"))
        #expect(error.message.contains("500 Internal Server Error"))
    }
}
