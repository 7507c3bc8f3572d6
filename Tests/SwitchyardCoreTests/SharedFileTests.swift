import AWSProvider
import Foundation
@testable import SwitchyardCore
import Testing

/// `traffic.shared` in the file: one target group both fleets stand in, and what cannot go with it.
@Suite struct SharedFileTests {
    static func sharedFile(group: String = tgA, extraTraffic: String = "", extraShared: String = "", extra: String = "") -> String {
        """
        service: web
        region: us-east-1
        traffic:
        \(extraTraffic)  shared:
            target_group: \(group)
        \(extraShared)steps:
          - weight: 25
          - weight: 100

        """ + extra
    }

    @Test func theTargetGroupIsTheTrafficsOneGroupAndNothingIsAForward() throws {
        let spec = try DeploymentFile.parseAWS(Self.sharedFile(), path: "w")
        #expect(spec.traffic.shared == DeploymentSpec.SharedTraffic(targetGroup: tgA))
        #expect(spec.traffic.kind == .shared && spec.traffic.traits.splitByCounts)
        #expect(spec.traffic.pools == [tgA] && spec.traffic.forwards.isEmpty && spec.traffic.primaryForward.isEmpty)
    }

    @Test func whatCannotGoWithASharedTargetGroupIsNamedByKey() {
        expectIssue(Self.sharedFile(extraTraffic: "  listener_arn: \(listener)\n"), line: 4, key: "traffic.listener_arn", "does not go with traffic.shared")
        expectIssue(Self.sharedFile(group: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-a/73e2d6bc24d8a067"),
                    line: 5, key: "traffic.shared.target_group", "is in region eu-west-1")
        expectIssue(Self.sharedFile(group: "web-a"), line: 5, key: "traffic.shared.target_group", "is not a target group ARN")
        expectIssue(Self.sharedFile(extraShared: "    load_balancer_name: web-clb\n"), line: 6, key: "traffic.shared.load_balancer_name",
                    "does not go with traffic.shared.target_group")
        expectIssue(Self.sharedFile(extra: "fleet:\n  mode: pair\n  pair: [web-a, web-b]\n"), line: 10, key: "fleet.mode", "pair does not apply with traffic.shared")
    }

    /// `load_balancer_name`: a Classic Load Balancer both fleets are registered with; its pool id stands where a target
    /// group's ARN would (the plan's target groups, the fence's resources) and names it back.
    @Test func aClassicLoadBalancerIsThePoolByItsName() throws {
        let text = Self.sharedFile().replacingOccurrences(of: "    target_group: \(tgA)\n", with: "    load_balancer_name: web-clb\n")
        let spec = try DeploymentFile.parseAWS(text, path: "w")
        let shared = try #require(spec.traffic.shared)
        #expect(shared.loadBalancerName == "web-clb" && shared.targetGroup == "loadbalancer/web-clb")
        #expect(spec.traffic.kind == .shared && spec.traffic.pools == ["loadbalancer/web-clb"])
        #expect(DeploymentSpec.SharedTraffic.classicName(of: shared.targetGroup) == "web-clb")
        #expect(DeploymentSpec.SharedTraffic.classicName(of: tgA) == nil)
        #expect(shared.description == "Classic Load Balancer web-clb (shared by blue and green)")
        // A record written before Classic Load Balancers decodes as the target group it names.
        let old = try JSONDecoder().decode(DeploymentSpec.SharedTraffic.self, from: Data(#"{"targetGroup":"\#(tgA)"}"#.utf8))
        #expect(old == DeploymentSpec.SharedTraffic(targetGroup: tgA) && old.loadBalancerName == nil)
        let round = try JSONDecoder().decode(DeploymentSpec.SharedTraffic.self, from: JSONEncoder().encode(shared))
        #expect(round == shared)
    }

    @Test func aClassicLoadBalancerNameIsOneAWSAllows() {
        for bad in ["-web", "web-", "web_clb", String(repeating: "a", count: 33), "wéb"] {
            let text = Self.sharedFile().replacingOccurrences(of: "    target_group: \(tgA)\n", with: "    load_balancer_name: \"\(bad)\"\n")
            expectIssue(text, line: 5, key: "traffic.shared.load_balancer_name", "is not a Classic Load Balancer name")
        }
        let neither = Self.sharedFile().replacingOccurrences(of: "    target_group: \(tgA)\n", with: "    {}\n")
        #expect(throws: (any Error).self) { try DeploymentFile.parseAWS(neither, path: "w") }
    }

    /// A metric of the shared target group is blue's and green's at once: a check on it would compare green with
    /// itself, so the file refuses it; a metric by green's group is accepted.
    @Test func aMetricOfTheSharedTargetGroupIsRefusedAndOneByGreensGroupIsNot() throws {
        expectIssue(Self.sharedFile(extra: "checks:\n  metrics: [alb_5xx_rate]\n"), line: 10, key: "checks.metrics (alb_5xx_rate)",
                    "cannot judge green")
        let byGroup = """
        checks:
          metrics:
            - name: cpu
              namespace: AWS/EC2
              metric: CPUUtilization
              dimensions: {AutoScalingGroupName: "{green_asg}"}
              stat: Average
              max: 80

        """
        let spec = try DeploymentFile.parseAWS(Self.sharedFile(extra: byGroup), path: "w")
        #expect(try spec.checks.metricChecks().map(\.name) == ["cpu"])
    }
}
