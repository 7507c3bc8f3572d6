import AWSProvider
import Foundation
@testable import SwitchyardCore
import Testing

/// `traffic.route53` in the file, and the records' TTL in the state machine.
@Suite struct Route53FileTests {
    static func route53File(zone: String = "/hostedzone/Z0123ABC", type: String = "CNAME", extraTraffic: String = "", blueTarget: String = "a.elb.amazonaws.com",
                            greenGroup: String = tgB, extra: String = "") -> String {
        """
        service: web
        region: us-east-1
        traffic:
        \(extraTraffic)  route53:
            hosted_zone_id: \(zone)
            record_name: app.example.com
            record_type: \(type)
            records:
              - set_identifier: blue
                target: \(blueTarget)
                target_group: \(tgA)
              - set_identifier: green
                target: b.elb.amazonaws.com
                target_group: \(greenGroup)
        steps:
          - weight: 10
          - weight: 100

        """ + extra
    }

    @Test func theRecordsBecomeTheTrafficAndTheirTargetGroupsTheGroups() throws {
        let spec = try DeploymentFile.parseAWS(Self.route53File(), path: "w")
        let records = try #require(spec.traffic.route53)
        #expect(records.hostedZoneId == "Z0123ABC", "the /hostedzone/ prefix is dropped")
        #expect(records.recordName == "app.example.com" && records.recordType == "CNAME")
        #expect(records.records == [DeploymentSpec.Route53Record(setIdentifier: "blue", target: "a.elb.amazonaws.com", targetGroup: tgA),
                                    DeploymentSpec.Route53Record(setIdentifier: "green", target: "b.elb.amazonaws.com", targetGroup: tgB)])
        #expect(spec.traffic.pools == [tgA, tgB])
        #expect(spec.traffic.forwards.isEmpty, "no listener is shifted")
    }

    @Test func listenerKeysDoNotGoWithRoute53() {
        expectIssue(Self.route53File(extraTraffic: "  listener_arn: \(listener)\n"), line: 4, key: "traffic.listener_arn", "does not go with traffic.route53")
        expectIssue(Self.route53File(extraTraffic: "  target_groups: [\(tgA), \(tgB)]\n"), line: 4, key: "traffic.target_groups", "each record names")
    }

    @Test func badValuesAreNamedByKey() {
        expectIssue(Self.route53File(zone: "hostedzone-1"), line: 5, key: "traffic.route53.hosted_zone_id", "is not a hosted zone id")
        expectIssue(Self.route53File(type: "TXT"), line: 7, key: "traffic.route53.record_type", "A, AAAA (alias records) or CNAME")
        expectIssue(Self.route53File(blueTarget: "B.elb.amazonaws.com"), line: 12, key: "traffic.route53.records[2].target", "the same as the first")
        expectIssue(Self.route53File(greenGroup: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-b/2453ed029918f21f"),
                    line: 14, key: "traffic.route53.records[2].target_group", "is in region eu-west-1")
        let one = Self.route53File().replacingOccurrences(of: "      - set_identifier: green\n        target: b.elb.amazonaws.com\n        target_group: \(tgB)\n", with: "")
        expectIssue(one, line: 9, key: "traffic.route53.records", "exactly two")
    }

    @Test func aPairFleetIsRefusedWithRoute53() {
        let text = Self.route53File(extra: "fleet:\n  mode: pair\n  pair: [web-blue, web-green]\n")
        expectIssue(text, line: 19, key: "fleet.mode", "pair does not apply with traffic.route53")
    }

    @Test func theTestRouteIsRefusedWithRoute53() {
        let text = Self.route53File(extra: "checks:\n  http:\n    url: http://app.example.com/health\n    test_route: true\n")
        expectIssue(text, line: 19, key: "checks.http.test_route", "does not apply with traffic.route53")
        #expect(FileIssue.reference(for: "traffic.route53.records[1].target") == "docs/deployment-file.md#traffic-route53-records-target")
    }

    @Test func theProbeOfTheRecordsNameGoesToGreensOwnTarget() throws {
        let records = try #require(try DeploymentFile.parseAWS(Self.route53File(), path: "w").traffic.route53)
        #expect(records.probe("http://APP.example.com.:8080/health?x=1", greenPool: tgB) == ("http://b.elb.amazonaws.com:8080/health?x=1", "APP.example.com.:8080"))
        #expect(records.probe("http://app.example.com/health", greenPool: tgA) == ("http://a.elb.amazonaws.com/health", "app.example.com"))
        let other = records.probe("http://127.0.0.1:9000/health", greenPool: tgB)
        #expect(other.url == "http://127.0.0.1:9000/health" && other.hostHeader == nil, "another host is green's already")
    }

    @Test func eachBakeStartsAfterTheTTLAndSurvivesAResume() throws {
        var d = makeDeployment()
        d.plan.trafficSettleSeconds = 30
        var sim = Simulation(d)
        var confirmed: [Date] = []
        var stepDone: [Date] = []
        while sim.d.state != .completed {
            let before = sim.log.count
            sim.run(limit: 1)
            for entry in sim.log[before...] {
                if entry.details["settle_seconds"] == "30" { confirmed.append(sim.now) }
                if entry.message.contains("baked") { stepDone.append(sim.now) }
            }
        }
        #expect(sim.weights == [10, 50, 100])
        // 60 + 60 + 30 s of bake and 3 × 30 s of TTL.
        #expect(sim.now == start.addingTimeInterval(150 + 90))
        #expect(confirmed.count == 3 && stepDone.count == 3)
        for (shift, done) in zip(confirmed, stepDone) { #expect(done.timeIntervalSince(shift) >= 30 + 30) }
        #expect(sim.log.contains { $0.message.contains("the bake starts after the records' TTL, 30s") })
    }

    @Test func theBakeStartIsStoredSoAResumedRunStillWaitsTheTTL() throws {
        var d = makeDeployment()
        d.plan.trafficSettleSeconds = 45
        d.state = .shifting
        let confirmed = Machine.apply(d, .splitConfirmed(green: 10), now: start).deployment
        #expect(confirmed.bakeStartedAt == start.addingTimeInterval(45))
        // Stored and read back as a resumed run would.
        let stored = try JSONDecoder().decode(Deployment.self, from: JSONEncoder().encode(confirmed))
        #expect(stored.bakeStartedAt == start.addingTimeInterval(45))
        // Checks ran before the TTL passed: they do not count for the bake, which ends 60 s after the TTL, not after the write.
        let checked = Machine.apply(stored, .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok")]),
                                    now: start.addingTimeInterval(40)).deployment
        #expect(Machine.decide(checked, now: start.addingTimeInterval(105)) == .perform(.runChecks))
        let again = Machine.apply(checked, .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok")]),
                                  now: start.addingTimeInterval(105)).deployment
        #expect(again.stepIndex == 0)
        guard case .transition(let moved) = Machine.decide(again, now: start.addingTimeInterval(105)) else {
            Issue.record("the bake is over and checked: the step moves on")
            return
        }
        #expect(moved.deployment.stepIndex == 1)
    }

    @Test func aRollbackKeepsGreenUntilResolversForgetIt() throws {
        var d = makeDeployment()
        d.plan.trafficSettleSeconds = 20
        var sim = Simulation(d)
        sim.run(limit: 14)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "latency", actor: "ops"), now: sim.now))
        var restoredAt: Date?
        var removedAt: Date?
        while sim.d.state != .rolledBack {
            sim.run(limit: 1)
            if sim.d.reached(.trafficRestored), restoredAt == nil { restoredAt = sim.now }
            if sim.d.reached(.greenRemoved), removedAt == nil { removedAt = sim.now }
        }
        let restored = try #require(restoredAt)
        let removed = try #require(removedAt)
        #expect(removed.timeIntervalSince(restored) >= 20)
        #expect(sim.effects.filter { $0 == .restoreBlue }.count == 1)
    }

    @Test func eachStacksMetricsNameItsOwnLoadBalancer() {
        var d = makeDeployment()
        let lbA = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-a/1111"
        let lbB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-b/2222"
        d.plan.stackLoadBalancers = [tgA: lbA, tgB: lbB]
        let values = MetricTemplate.Values(plan: d.plan)
        #expect(MetricTemplate.fill("{load_balancer} {green_target_group}", values, side: .green) == "app/web-b/2222 targetgroup/web-b/2453ed029918f21f")
        #expect(MetricTemplate.fill("{load_balancer} {green_target_group}", values, side: .blue) == "app/web-a/1111 targetgroup/web-a/73e2d6bc24d8a067")
        // One shared load balancer (ALB listeners): both sides name it.
        let shared = MetricTemplate.Values(plan: makeDeployment().plan)
        #expect(MetricTemplate.fill("{load_balancer}", shared, side: .blue) == MetricTemplate.fill("{load_balancer}", shared, side: .green))
    }

    @Test func albRecordsHaveNoSettleAndDecodeAsBefore() throws {
        let d = makeDeployment()
        #expect(d.plan.trafficSettle == .zero)
        var confirmedLater = d
        confirmedLater.state = .shifting
        #expect(Machine.apply(confirmedLater, .splitConfirmed(green: 10), now: start).deployment.bakeStartedAt == start)
    }
}
