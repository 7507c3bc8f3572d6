@testable import AWS
import Foundation
import Testing

/// The copies made after green exists: policies and their alarms, schedule, processes, metrics, warm pool,
/// notifications, hooks; each request exactly as botocore's model names it.
@Suite struct FleetCopiersTests {
    let green = GreenGroup(name: "switchyard-fy-d1", launchTemplateId: "lt-1", launchTemplateVersion: 7, minSize: 2, maxSize: 4,
                           desiredCapacity: 2, targetGroupArn: FleetCloneTests.greenTG, blueTargetGroupArn: FleetCloneTests.blueTG, tags: [])

    static func policies() throws -> [ScalingPolicy] {
        try FleetCloneTests.members("autoscaling-DescribePolicies.xml", "ScalingPolicies/member").map(ScalingPolicy.from)
    }

    static func alarms() throws -> [AlarmDefinition] {
        try FleetCloneTests.members("monitoring-DescribeAlarms-policy.xml", "MetricAlarms/member").map { m in
            AlarmDefinition(name: m.value("AlarmName") ?? "", actions: m.all("AlarmActions/member").map(\.text), raw: m)
        }
    }

    @Test func policiesKeepTheirNamesAndEverySetting() throws {
        let requests = ScalingCopier.policies(try Self.policies(), blueGroup: "fy-blue", green: green)
        #expect(requests.map(\.action) == ["PutScalingPolicy", "PutScalingPolicy"])
        #expect(requests[0].parameters == [
            "AutoScalingGroupName": "switchyard-fy-d1", "PolicyName": "cpu50", "PolicyType": "TargetTrackingScaling",
            "EstimatedInstanceWarmup": "60",
            "TargetTrackingConfiguration.PredefinedMetricSpecification.PredefinedMetricType": "ASGAverageCPUUtilization",
            "TargetTrackingConfiguration.TargetValue": "50.0", "TargetTrackingConfiguration.DisableScaleIn": "false",
        ])
        #expect(requests[1].parameters == [
            "AutoScalingGroupName": "switchyard-fy-d1", "PolicyName": "step-out", "PolicyType": "StepScaling",
            "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average",
            "StepAdjustments.member.1.MetricIntervalLowerBound": "0.0", "StepAdjustments.member.1.MetricIntervalUpperBound": "20.0",
            "StepAdjustments.member.1.ScalingAdjustment": "1",
            "StepAdjustments.member.2.MetricIntervalLowerBound": "20.0", "StepAdjustments.member.2.ScalingAdjustment": "2",
        ])
    }

    @Test func aRequestCountPolicyTracksGreensTargetGroup() throws {
        let label = "app/fy-alb/50dc6c495c0c9188/targetgroup/fy-a/578a7911e4915fbc"
        let xml = """
            <member><PolicyName>rps</PolicyName><PolicyARN>arn:p</PolicyARN><PolicyType>TargetTrackingScaling</PolicyType>\
            <TargetTrackingConfiguration><PredefinedMetricSpecification><PredefinedMetricType>ALBRequestCountPerTarget</PredefinedMetricType>\
            <ResourceLabel>\(label)</ResourceLabel></PredefinedMetricSpecification><TargetValue>1000.0</TargetValue></TargetTrackingConfiguration>\
            <MinAdjustmentStep>2</MinAdjustmentStep></member>
            """
        let policy = ScalingPolicy.from(try #require(XMLNode.parse(Data(xml.utf8))))
        let p = try #require(ScalingCopier.policies([policy], blueGroup: "fy-blue", green: green).first).parameters
        #expect(p["TargetTrackingConfiguration.PredefinedMetricSpecification.ResourceLabel"] == "app/fy-alb/50dc6c495c0c9188/targetgroup/fy-b/0123456789abcdef")
        #expect(p["MinAdjustmentStep"] == "2")
    }

    @Test func theStepPolicysAlarmIsRecreatedOnGreensDimensionAndPolicy() throws {
        let policies = try Self.policies()
        let step = try #require(policies.first { $0.name == "step-out" })
        let found = try Self.alarms()
        #expect(ScalingCopier.alarms(of: step, in: found).map(\.name) == ["fy-cpu-high"])
        #expect(ScalingCopier.alarms(of: try #require(policies.first { $0.name == "cpu50" }), in: found).isEmpty)
        let requests = ScalingCopier.alarms(found, bluePolicies: policies, greenPolicyARNs: ["step-out": "arn:green-step", "cpu50": "arn:green-cpu"],
                                            blueGroup: "fy-blue", green: green)
        #expect(requests.map(\.action) == ["PutMetricAlarm"])
        #expect(requests[0].service == .cloudWatch)
        #expect(requests[0].parameters == [
            "AlarmName": "fy-cpu-high-switchyard-fy-d1", "AlarmDescription": "scale out on CPU", "ActionsEnabled": "true",
            "AlarmActions.member.1": "arn:green-step", "MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "Statistic": "Average",
            "Dimensions.member.1.Name": "AutoScalingGroupName", "Dimensions.member.1.Value": "switchyard-fy-d1",
            "Period": "60", "EvaluationPeriods": "2", "DatapointsToAlarm": "2", "Threshold": "70.0",
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        ])
    }

    @Test func onlyTheCopiesOfAGroupsAlarmsAreDeletedWithIt() throws {
        let copy = AlarmDefinition(name: "cpu-high-switchyard-web-a", actions: ["arn:policy-a"], raw: XMLNode(name: "member"))
        let users = AlarmDefinition(name: "cpu-high", actions: ["arn:policy-a"], raw: XMLNode(name: "member"))
        let other = AlarmDefinition(name: "x-switchyard-web-a", actions: ["arn:sns:ops"], raw: XMLNode(name: "member"))
        #expect([copy, users, other].filter { ScalingCopier.isCopy($0, of: "switchyard-web-a", policyARNs: ["arn:policy-a"]) } == [copy])
        let names = (1...150).map { "a\($0)" }
        let requests = ScalingCopier.deleteAlarms(names)
        #expect(requests.map(\.action) == ["DeleteAlarms", "DeleteAlarms"])
        #expect(requests[0].parameters.count == 100 && requests[1].parameters.count == 50)
        #expect(requests[0].parameters["AlarmNames.member.1"] == "a1")
    }

    @Test func alarmNamesAreDeterministicAndDoNotGrowFromReleaseToRelease() {
        #expect(ScalingCopier.alarmName("cpu-high", blueGroup: "web-blue", greenGroup: "switchyard-web-a") == "cpu-high-switchyard-web-a")
        #expect(ScalingCopier.alarmName("cpu-high-switchyard-web-a", blueGroup: "switchyard-web-a", greenGroup: "switchyard-web-b")
                == "cpu-high-switchyard-web-b")
    }

    @Test func scheduledActionsStillToComeAreCopiedAndPastOnesAreSaidSo() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z
        var actions = try FleetCloneTests.members("autoscaling-DescribeScheduledActions.xml", "ScheduledUpdateGroupActions/member").map {
            ScheduledAction(name: $0.value("ScheduledActionName") ?? "", raw: $0)
        }
        func action(_ xml: String) throws -> ScheduledAction {
            let node = try #require(XMLNode.parse(Data(xml.utf8)))
            return ScheduledAction(name: node.value("ScheduledActionName") ?? "", raw: node)
        }
        actions.append(try action("<member><ScheduledActionName>launch-day</ScheduledActionName><StartTime>2027-02-01T09:00:00Z</StartTime><DesiredCapacity>8</DesiredCapacity></member>"))
        actions.append(try action("<member><ScheduledActionName>old-sale</ScheduledActionName><StartTime>2026-01-01T09:00:00.000Z</StartTime><DesiredCapacity>8</DesiredCapacity></member>"))
        actions.append(try action("<member><ScheduledActionName>nightly</ScheduledActionName><Recurrence>0 2 * * *</Recurrence><StartTime>2026-12-01T02:00:00Z</StartTime><MinSize>1</MinSize></member>"))
        actions.append(try action("<member><ScheduledActionName>ended</ScheduledActionName><Recurrence>0 3 * * *</Recurrence><EndTime>2026-12-01T00:00:00Z</EndTime><MinSize>1</MinSize></member>"))
        let (requests, skipped) = ScheduleCopier.actions(actions, green: "g", now: now)
        #expect(requests.map { $0.parameters["ScheduledActionName"] } == ["launch-day", "nightly", "weekday-peak"])
        #expect(requests[0].parameters == ["AutoScalingGroupName": "g", "ScheduledActionName": "launch-day", "StartTime": "2027-02-01T09:00:00Z", "DesiredCapacity": "8"])
        #expect(requests[1].parameters == ["AutoScalingGroupName": "g", "ScheduledActionName": "nightly", "Recurrence": "0 2 * * *", "MinSize": "1"])
        #expect(requests[2].parameters == ["AutoScalingGroupName": "g", "ScheduledActionName": "weekday-peak", "Recurrence": "0 8 * * 1-5",
                                           "MinSize": "2", "MaxSize": "6", "DesiredCapacity": "4", "TimeZone": "Europe/Paris"])
        #expect(skipped == ["scheduled action ended: its end time has passed", "scheduled action old-sale: it ran already (one-time, in the past)"])
    }

    @Test func processesMetricsWarmPoolNotificationsAndHooks() throws {
        let blue = try FleetCloneTests.dressed()
        #expect(SettingsCopier.suspend(["ScheduledActions", "AZRebalance"], group: "g")?.parameters ==
                ["AutoScalingGroupName": "g", "ScalingProcesses.member.1": "AZRebalance", "ScalingProcesses.member.2": "ScheduledActions"])
        #expect(SettingsCopier.suspend([], group: "g") == nil)
        #expect(SettingsCopier.resume(["ScheduledActions"], group: "g")?.action == "ResumeProcesses")
        #expect(SettingsCopier.metrics(of: blue, green: "g")?.parameters == ["AutoScalingGroupName": "g", "Granularity": "1Minute",
                "Metrics.member.1": "GroupInServiceInstances", "Metrics.member.2": "GroupDesiredCapacity"])
        #expect(SettingsCopier.warmPool(of: blue, green: "g")?.parameters == ["AutoScalingGroupName": "g", "MinSize": "1", "PoolState": "Stopped",
                "InstanceReusePolicy.ReuseOnScaleIn": "true"])
        let notifications = SettingsCopier.notifications([
            NotificationConfiguration(topicARN: "arn:sns:ops", type: "autoscaling:EC2_INSTANCE_LAUNCH_ERROR"),
            NotificationConfiguration(topicARN: "arn:sns:audit", type: "autoscaling:EC2_INSTANCE_LAUNCH"),
            NotificationConfiguration(topicARN: "arn:sns:ops", type: "autoscaling:EC2_INSTANCE_TERMINATE_ERROR"),
        ], green: "g")
        #expect(notifications.map(\.parameters) == [
            ["AutoScalingGroupName": "g", "TopicARN": "arn:sns:audit", "NotificationTypes.member.1": "autoscaling:EC2_INSTANCE_LAUNCH"],
            ["AutoScalingGroupName": "g", "TopicARN": "arn:sns:ops", "NotificationTypes.member.1": "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
             "NotificationTypes.member.2": "autoscaling:EC2_INSTANCE_TERMINATE_ERROR"],
        ])
        let hook = try #require(try FleetCloneTests.members("autoscaling-DescribeLifecycleHooks.xml", "LifecycleHooks/member").first)
        let put = SettingsCopier.lifecycleHook(LifecycleHook(name: "bootstrap", transition: "", raw: hook), green: "g")
        #expect(put.action == "PutLifecycleHook")
        #expect(put.parameters["GlobalTimeout"] == nil && put.parameters["HeartbeatTimeout"] == "300" && put.parameters["AutoScalingGroupName"] == "g")
        #expect(SettingsCopier.attach(targetGroups: ["tg-x"], loadBalancers: ["classic"], group: "g").map(\.parameters) == [
            ["AutoScalingGroupName": "g", "TargetGroupARNs.member.1": "tg-x"], ["AutoScalingGroupName": "g", "LoadBalancerNames.member.1": "classic"],
        ])
    }

    @Test func launchTemplateHousekeepingRequests() async throws {
        #expect(EC2.deleteVersionsRequest(templateId: "lt-1", versions: [9, 4]).parameters ==
                ["LaunchTemplateId": "lt-1", "LaunchTemplateVersion.1": "4", "LaunchTemplateVersion.2": "9"])
        #expect(EC2.setDefaultVersionRequest(templateId: "lt-1", version: 5) ==
                AWSRequest(.ec2, "ModifyLaunchTemplate", ["LaunchTemplateId": "lt-1", "SetDefaultVersion": "5"]))
        let transport = FakeTransport()
        transport.fixtureFor = { $0 == "DescribeInstanceTypes" ? "ec2-DescribeInstanceTypes.xml" : nil }
        let ec2 = EC2(client: makeClient(transport))
        #expect(try await ec2.architectures(ofInstanceTypes: ["t3.micro", "t3.micro"]) == ["t3.micro": ["x86_64"]])
        #expect(transport.parameters[0]["InstanceType.1"] == "t3.micro" && transport.parameters[0]["InstanceType.2"] == nil)
        let refused = """
            <DeleteLaunchTemplateVersionsResponse><successfullyDeletedLaunchTemplateVersionSet/><unsuccessfullyDeletedLaunchTemplateVersionSet>\
            <item><launchTemplateId>lt-1</launchTemplateId><versionNumber>3</versionNumber><responseError><code>launchTemplateVersionIsDefault</code>\
            <message>the default version cannot be deleted</message></responseError></item></unsuccessfullyDeletedLaunchTemplateVersionSet>\
            </DeleteLaunchTemplateVersionsResponse>
            """
        transport.enqueue(.success(HTTPResponse(status: 200, body: Data(refused.utf8))))
        #expect(try await ec2.deleteLaunchTemplateVersions(templateId: "lt-1", versions: [3]) == [3: "the default version cannot be deleted"])
    }

    @Test func flattenTurnsADescriptionBackIntoParameters() throws {
        let node = try #require(XMLNode.parse(Data("<X><A>1</A><L><member>a</member><member>b</member></L><E/><S><member><K>k</K></member></S></X>".utf8)))
        #expect(QueryEncoding.flatten(node, prefix: "P") == ["P.A": "1", "P.L.member.1": "a", "P.L.member.2": "b", "P.S.member.1.K": "k"])
        #expect(QueryEncoding.copy(node, members: ["A", "E", "Z"]) == ["A": "1"])
    }
}
