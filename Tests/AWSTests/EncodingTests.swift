@testable import AWS
import Foundation
import Testing

@Suite struct EncodingTests {
    @Test func queryBodyIsSortedAndPercentEncoded() {
        let body = QueryEncoding.body(action: "DescribeTargetHealth", version: "2015-12-01",
                                      parameters: ["TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a b/1", "Z": "~x+y"])
        #expect(body == "Action=DescribeTargetHealth&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A1%3Atargetgroup%2Fa%20b%2F1&Version=2015-12-01&Z=~x%2By")
    }

    @Test func listsUseMemberForQueryAndPlainIndexesForEC2() {
        #expect(QueryEncoding.memberList("AutoScalingGroupNames", ["a", "b"]) == ["AutoScalingGroupNames.member.1": "a", "AutoScalingGroupNames.member.2": "b"])
        #expect(QueryEncoding.ec2List("ImageId", ["ami-1"]) == ["ImageId.1": "ami-1"])
        #expect(QueryEncoding.memberList("X", []) == [:])
    }

    @Test func weightedForwardActionEncodesWeightsAndStickiness() {
        let action = ListenerAction(type: "forward", order: 1, targetGroupArn: nil, forward: ForwardConfig(
            targetGroups: [WeightedTargetGroup(arn: "blue", weight: 90), WeightedTargetGroup(arn: "green", weight: 10)],
            stickiness: Stickiness(enabled: true, durationSeconds: 300)))
        #expect(action.parameters(prefix: "DefaultActions.member.1") == [
            "DefaultActions.member.1.Type": "forward",
            "DefaultActions.member.1.Order": "1",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": "blue",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight": "90",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn": "green",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight": "10",
            "DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled": "true",
            "DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds": "300",
        ])
    }

    @Test func modifyListenerAndRuleSendEveryAction() async throws {
        let transport = FakeTransport()
        let elb = ELBv2(client: makeClient(transport))
        let action = ListenerAction(type: "forward", order: nil, targetGroupArn: "tg", forward: nil)
        try await elb.modifyListener(arn: "arn:l", defaultActions: [action])
        try await elb.modifyRule(arn: "arn:r", actions: [action])
        #expect(transport.parameters[0] == ["Action": "ModifyListener", "Version": "2015-12-01", "ListenerArn": "arn:l",
                                            "DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": "tg"])
        #expect(transport.parameters[1] == ["Action": "ModifyRule", "Version": "2015-12-01", "RuleArn": "arn:r",
                                            "Actions.member.1.Type": "forward", "Actions.member.1.TargetGroupArn": "tg"])
    }

    @Test func scaleDownAndDeleteAreExplicit() async throws {
        let transport = FakeTransport()
        let autoScaling = AutoScaling(client: makeClient(transport))
        try await autoScaling.updateAutoScalingGroup(name: "g", minSize: 0, maxSize: 0, desiredCapacity: 0)
        try await autoScaling.deleteAutoScalingGroup(name: "g", forceDelete: true)
        #expect(transport.parameters[0]["DesiredCapacity"] == "0")
        #expect(transport.parameters[1] == ["Action": "DeleteAutoScalingGroup", "Version": "2011-01-01", "AutoScalingGroupName": "g", "ForceDelete": "true"])
    }

    @Test func launchTemplateDataIsCopiedWithOnlyTheImageChanged() throws {
        let root = try #require(XMLNode.parse(Fixture.data("ec2-DescribeLaunchTemplateVersions-rich.xml")))
        let data = try #require(root.node("launchTemplateVersionSet/item/launchTemplateData"))
        let group = try #require(data.value("networkInterfaceSet/item/groupSet/groupId"))
        #expect(LaunchTemplateData.parameters(from: data, imageId: "ami-new") == [
            "LaunchTemplateData.ImageId": "ami-new",
            "LaunchTemplateData.InstanceType": "m5.large",
            "LaunchTemplateData.KeyName": "ops",
            "LaunchTemplateData.IamInstanceProfile.Name": "web-role",
            "LaunchTemplateData.BlockDeviceMapping.1.DeviceName": "/dev/xvda",
            "LaunchTemplateData.BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
            "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeSize": "30",
            "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
            "LaunchTemplateData.NetworkInterface.1.AssociatePublicIpAddress": "false",
            "LaunchTemplateData.NetworkInterface.1.DeviceIndex": "0",
            "LaunchTemplateData.NetworkInterface.1.SecurityGroupId.1": group,
            "LaunchTemplateData.TagSpecification.1.ResourceType": "instance",
            "LaunchTemplateData.TagSpecification.1.Tag.1.Key": "app",
            "LaunchTemplateData.TagSpecification.1.Tag.1.Value": "fx",
            "LaunchTemplateData.TagSpecification.1.Tag.2.Key": "tier",
            "LaunchTemplateData.TagSpecification.1.Tag.2.Value": "web",
            "LaunchTemplateData.MetadataOptions.HttpTokens": "required",
            "LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit": "2",
        ])
    }

    @Test func awsShapedListsAndResponseOnlyFieldsAreHandled() throws {
        let xml = """
            <launchTemplateData><securityGroupIdSet><item>sg-1</item><item>sg-2</item></securityGroupIdSet>\
            <licenseSet><item><licenseConfigurationArn>arn:l</licenseConfigurationArn></item></licenseSet>\
            <metadataOptions><state>applied</state><httpTokens>optional</httpTokens></metadataOptions>\
            <operator><managed>false</managed></operator></launchTemplateData>
            """
        let data = try #require(XMLNode.parse(Data(xml.utf8)))
        #expect(LaunchTemplateData.parameters(from: data, imageId: "ami-9") == [
            "LaunchTemplateData.ImageId": "ami-9",
            "LaunchTemplateData.SecurityGroupId.1": "sg-1",
            "LaunchTemplateData.SecurityGroupId.2": "sg-2",
            "LaunchTemplateData.LicenseSpecification.1.LicenseConfigurationArn": "arn:l",
            "LaunchTemplateData.MetadataOptions.HttpTokens": "optional",
        ])
    }

    @Test func requestsAreSignedForTheirServiceAndCarryNoSecret() async throws {
        let transport = FakeTransport()
        let client = makeClient(transport)
        _ = try await client.call(.autoScaling, action: "DescribeAutoScalingGroups")
        _ = try await client.call(.cloudWatch, action: "DescribeAlarms")
        let authorizations = transport.requests.map { $0.headers["Authorization"] ?? "" }
        #expect(authorizations[0].contains("Credential=AKIDTEST/20270115/us-east-1/autoscaling/aws4_request"))
        #expect(authorizations[1].contains("/us-east-1/monitoring/aws4_request"))
        #expect(transport.requests.allSatisfy { $0.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8" })
        #expect(transport.requests.allSatisfy { request in !request.headers.values.contains { $0.contains("secret") } })
        #expect(client.requestCount == 2)
    }
}

@Suite struct GetMetricDataTests {
    let green = MetricDataQuery.Stat(namespace: "AWS/ApplicationELB", metricName: "HTTPCode_Target_5XX_Count",
                                     dimensions: [("LoadBalancer", "app/web/50dc6c495c0c9188"), ("TargetGroup", "targetgroup/web-b/2453ed029918f21f")],
                                     period: 60, stat: "Sum")

    @Test func queriesAreEncodedAsBotocoresModelNamesThem() async throws {
        let transport = FakeTransport()
        transport.fixtureFor = { $0 == "GetMetricData" ? "monitoring-GetMetricData.xml" : nil }
        let cloudWatch = CloudWatch(client: makeClient(transport))
        _ = try await cloudWatch.getMetricData(queries: [
            MetricDataQuery(id: "c1g_errors", body: .stat(green), returnData: false),
            MetricDataQuery(id: "c1g", body: .expression("c1g_errors / 2"), label: "rate green"),
        ], start: Date(timeIntervalSince1970: 1_800_000_000.7), end: Date(timeIntervalSince1970: 1_800_000_600))
        #expect(transport.parameters == [[
            "Action": "GetMetricData", "Version": "2010-08-01",
            "StartTime": "2027-01-15T08:00:00Z", "EndTime": "2027-01-15T08:10:00Z", "ScanBy": "TimestampAscending",
            "MetricDataQueries.member.1.Id": "c1g_errors",
            "MetricDataQueries.member.1.ReturnData": "false",
            "MetricDataQueries.member.1.MetricStat.Metric.Namespace": "AWS/ApplicationELB",
            "MetricDataQueries.member.1.MetricStat.Metric.MetricName": "HTTPCode_Target_5XX_Count",
            "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name": "LoadBalancer",
            "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": "app/web/50dc6c495c0c9188",
            "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.2.Name": "TargetGroup",
            "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.2.Value": "targetgroup/web-b/2453ed029918f21f",
            "MetricDataQueries.member.1.MetricStat.Period": "60",
            "MetricDataQueries.member.1.MetricStat.Stat": "Sum",
            "MetricDataQueries.member.2.Id": "c1g",
            "MetricDataQueries.member.2.ReturnData": "true",
            "MetricDataQueries.member.2.Label": "rate green",
            "MetricDataQueries.member.2.Expression": "c1g_errors / 2",
        ]])
    }

    @Test func answersFromMotoAreDecodedInTimeOrder() async throws {
        let transport = FakeTransport()
        transport.fixtureFor = { $0 == "GetMetricData" ? "monitoring-GetMetricData.xml" : nil }
        let results = try await CloudWatch(client: makeClient(transport)).getMetricData(
            queries: [MetricDataQuery(id: "c1_green", body: .stat(green))], start: Date(timeIntervalSince1970: 0), end: Date(timeIntervalSince1970: 60))
        #expect(results.map(\.id) == ["c1_green", "c1_blue"])
        #expect(results[0].values == [5, 6, 7] && results[1].values == [0, 0.5, 1])
        #expect(results[0].timestamps == ["2026-11-27T12:00:00Z", "2026-11-27T12:01:00Z", "2026-11-27T12:02:00Z"])
        #expect(results[0].statusCode == "Complete" && results[0].label == "HTTPCode_Target_5XX_Count Sum")
    }

    @Test func pagesOfOneSeriesAreJoinedAndOnlyPast500QueriesIsThereASecondCall() async throws {
        let transport = FakeTransport()
        let page = { (token: String, values: String) in
            HTTPResponse(status: 200, body: Data("""
                <GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member><Id>q1</Id><Timestamps><member>t\(values)</member></Timestamps>\
                <Values><member>\(values)</member></Values><StatusCode>PartialData</StatusCode></member></MetricDataResults>\(token)</GetMetricDataResult></GetMetricDataResponse>
                """.utf8))
        }
        transport.enqueue(.success(page("<NextToken>more</NextToken>", "1")))
        transport.enqueue(.success(page("", "2")))
        let cloudWatch = CloudWatch(client: makeClient(transport))
        let results = try await cloudWatch.getMetricData(queries: [MetricDataQuery(id: "q1", body: .stat(green))],
                                                         start: Date(timeIntervalSince1970: 0), end: Date(timeIntervalSince1970: 60))
        #expect(results.count == 1 && results[0].values == [1, 2] && results[0].timestamps == ["t1", "t2"])
        #expect(transport.parameters[1]["NextToken"] == "more")
        let many = (1...501).map { MetricDataQuery(id: "q\($0)", body: .expression("1")) }
        let before = transport.requests.count
        _ = try await cloudWatch.getMetricData(queries: many, start: Date(timeIntervalSince1970: 0), end: Date(timeIntervalSince1970: 60))
        #expect(transport.requests.count - before == 2)
        #expect(transport.parameters[before + 1]["MetricDataQueries.member.1.Id"] == "q501")
        #expect(transport.parameters[before]["MetricDataQueries.member.500.Id"] == "q500")
    }
}
