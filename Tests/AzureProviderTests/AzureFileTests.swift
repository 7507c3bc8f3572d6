import AWSProvider
import AzureProvider
import Foundation
import SwitchyardCore
import Testing

/// `provider: azure` files, read as the CLI reads every file: the core's sections with the part of the cloud the
/// file names (AWS's when it names none).
@Suite struct AzureFileTests {
    static let formats = ProviderFormats([(ProviderFormats.defaultName, AWSFileFormat()), ("azure", AzureFileFormat())])

    static let file = """
        service: web
        provider: azure
        azure:
          subscription_id: 6b1f3c2a-0d4e-4f5a-9b8c-7d6e5f4a3b2c
          resource_group: web-prod
        fleet:
          scale_set: web-blue
          capacity_timeout: 15m
        traffic:
          traffic_manager:
            profile: web-tm
            endpoints: [web-stack-a, web-stack-b]
          settle: 30s
        steps:
          - weight: 10
            bake: 5m
          - weight: 50
            bake: 5m
          - weight: 100
        checks:
          max_unhealthy_targets: 0
          http:
            url: http://web-stack-b.example.com/healthz
        """

    static func parse(_ text: String) throws -> DeploymentSpec { try DeploymentFile.parse(text, path: "azure.yaml", formats: formats) }

    static func problems(_ text: String) -> [String] {
        do {
            _ = try parse(text)
            return []
        } catch let error as DeploymentFileError {
            return error.issues.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func anAzureFileReadsIntoTheCoresSpecWithAzuresTraffic() throws {
        let spec = try Self.parse(Self.file)
        #expect(spec.provider == "azure")
        #expect(spec.region == "/subscriptions/6b1f3c2a-0d4e-4f5a-9b8c-7d6e5f4a3b2c/resourceGroups/web-prod")
        #expect(AzureLocation(id: spec.region) == AzureLocation(subscription: "6b1f3c2a-0d4e-4f5a-9b8c-7d6e5f4a3b2c", resourceGroup: "web-prod"))
        #expect(spec.fleet.blueGroupName == "web-blue" && spec.fleet.capacityTimeout == .minutes(15))
        #expect(spec.traffic.kind == .trafficManager && spec.traffic.traits.settlesByTTL && !spec.traffic.traits.hasTestRoute)
        #expect(spec.traffic.pools == ["web-stack-a", "web-stack-b"] && spec.traffic.settle == .seconds(30))
        #expect(spec.traffic.trafficManager == .init(profile: "web-tm", endpoints: ["web-stack-a", "web-stack-b"]))
        #expect(spec.traffic.poolNamed("web-stack-b") == "Traffic Manager endpoint web-stack-b")
        #expect(spec.weightSteps.map(\.weight) == [10, 50, 100] && spec.checks.alarms.isEmpty)
        // In a record, the provider and Traffic Manager's section say whose release it is.
        let record = try JSONDecoder().decode(DeploymentSpec.self, from: try JSONEncoder().encode(spec))
        #expect(record == spec && record.traffic.kind == .trafficManager)
    }

    @Test func aFileThatNamesNoProviderIsAWSsAndItsRecordHasNoProviderKey() throws {
        let aws = """
            service: web
            region: us-east-1
            traffic:
              listener_arn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2
              target_groups:
                - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1
                - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2
            steps:
              - weight: 100
            """
        for text in [aws, "provider: aws\n" + aws] {
            let spec = try Self.parse(text)
            #expect(spec.provider == nil && spec.traffic.kind == .alb)
            let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as? [String: Any])
            #expect(object["provider"] == nil)
        }
    }

    @Test func everyProblemOfAnAzureFileIsNamedWithItsLineAndKey() {
        let bad = """
            service: web
            provider: azure
            azure:
              subscription_id: not-a-guid
              resource_group: web-prod.
            fleet:
              scale_set: -web
              blue_auto_scaling_group: web-blue
            traffic:
              traffic_manager:
                profile: web tm
                endpoints: [web-stack-a, web-stack-a, web-stack-c]
            steps:
              - weight: 100
            checks:
              alarms: [web-5xx]
              http:
                url: http://x/healthz
                test_route:
                  header: X-Canary
            """
        let problems = Self.problems(bad)
        let expected = [
            "line 4, azure.subscription_id: is not a subscription id",
            "line 5, azure.resource_group: is not a resource group name",
            "line 7, fleet.scale_set: is not a scale set name",
            "line 8, fleet.blue_auto_scaling_group:",
            "line 11, traffic.traffic_manager.profile: is not a Traffic Manager profile name",
            "line 12, traffic.traffic_manager.endpoints[2]: endpoint web-stack-a is listed twice",
            "line 12, traffic.traffic_manager.endpoints: must name exactly two endpoints",
            "line 16, checks.alarms:",
        ]
        for prefix in expected { #expect(problems.contains { $0.hasPrefix(prefix) }, "\(prefix) in \(problems)") }
    }

    @Test func aTestRouteIsRefusedBecauseGreenIsReachedAtItsOwnStack() {
        let problems = Self.problems(Self.file + "\n    test_route:\n      header: X-Canary\n")
        #expect(problems.count == 1 && problems[0].hasPrefix("line 21, checks.http.test_route: does not apply with traffic.traffic_manager"), "\(problems)")
    }

    @Test func anAzureFileNeedsItsSectionsAndTakesNoAWSKey() {
        let problems = Self.problems("""
            service: web
            provider: azure
            region: us-east-1
            traffic:
              listener_arn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2
            steps:
              - weight: 100
            """)
        #expect(problems.contains { $0.contains("azure") && $0.contains("missing") }, "\(problems)")
        #expect(problems.contains { $0.contains("fleet") && $0.contains("missing") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("line 3, region:") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("line 5, traffic.listener_arn:") }, "\(problems)")
    }

    @Test func aProviderNoFormatHasIsTheFilesOneProblem() {
        let problems = Self.problems("service: web\nprovider: gcp\nregion: us-east-1\n")
        #expect(problems.count == 1 && problems[0].hasPrefix("line 2, provider: must be one of aws, azure (got \"gcp\")"), "\(problems)")
        #expect(Self.problems("service: web\nprovider: [azure]\n").first?.contains("got a list") == true)
    }
}

/// The core's sentences and hooks speak of an Azure release in Azure's words, not AWS's.
@Suite struct AzureWordsTests {
    static func deployment() throws -> Deployment {
        let spec = try AzureFileTests.parse(AzureFileTests.file + "\nhooks:\n  after_step:\n    - run: [./smoke]\n")
        let image = "/subscriptions/6b1f3c2a-0d4e-4f5a-9b8c-7d6e5f4a3b2c/resourceGroups/web-prod/providers/Microsoft.Compute/images/web-1"
        let blue = BlueFleet(group: "web-blue", pool: "web-stack-a", templateId: "", templateName: "web-blue", templateVersion: 1,
                             image: "web-0", architecture: "x86_64", minSize: 2, maxSize: 4, desiredCapacity: 2)
        let plan = ReleasePlan(spec: spec, image: image, blue: blue, greenPool: "web-stack-b", greenGroup: "switchyard-web-d1")
        return Deployment(id: "d1", plan: plan, fileDigest: "digest", actor: "alice@laptop", now: Date(timeIntervalSince1970: 0))
    }

    @Test func anAzureReleasesHooksGetAzuresVariableNames() throws {
        let d = try Self.deployment()
        let env = Hook.environment(d, HookRef(point: .afterStep, index: 0, step: 0))
        #expect(env["SWITCHYARD_GREEN_SCALE_SET"] == "switchyard-web-d1" && env["SWITCHYARD_BLUE_SCALE_SET"] == "web-blue")
        #expect(env["SWITCHYARD_GREEN_ENDPOINT"] == "web-stack-b" && env["SWITCHYARD_BLUE_ENDPOINT"] == "web-stack-a")
        #expect(env["SWITCHYARD_IMAGE"] == d.image && env["SWITCHYARD_RESOURCE_GROUP_ID"] == d.plan.spec.region)
        #expect(env.keys.filter { $0.contains("ASG") || $0.contains("TARGET_GROUP") || $0 == "SWITCHYARD_AMI" || $0 == "SWITCHYARD_REGION" }.isEmpty,
                "\(env.keys.sorted())")
    }

    @Test func theCloudsWordsAreAzures() throws {
        let d = try Self.deployment()
        #expect(d.plan.spec.cloud.name == "Azure" && d.plan.spec.cloud.pool == "Traffic Manager endpoint")
        #expect(d.plan.spec.traffic.traits.splitName == "Traffic Manager endpoints")
    }
}
