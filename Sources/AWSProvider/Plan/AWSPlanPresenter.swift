import Foundation
import Orchestrator
import SwitchyardCore

/// How `plan` shows AWS's part of a release: the listeners, rules, Route 53 records or shared pool that carry the
/// split, the test route's listener, the CloudWatch metric checks with their queries filled in, and each target
/// group's deregistration delay (or a Classic Load Balancer's connection draining).
public struct AWSPlanPresenter: PlanPresenter {
    public init() {}

    public func traffic(_ p: ReleasePlan) -> String {
        let t = p.spec.traffic
        if let route53 = t.route53 { return Self.traffic(route53) }
        if let shared = t.shared {
            return "\(shared.description): each step scales green out to its share of the healthy instances, then drains and terminates blue's surplus"
        }
        return Self.traffic(t.forwards)
    }

    /// The two weighted records, each with its stack.
    static func traffic(_ r: DeploymentSpec.Route53Traffic) -> String {
        "Route 53 weighted records \(r.recordName) \(r.recordType) in hosted zone \(r.hostedZoneId), both weights in one change per step:"
            + r.records.map { "\n              \($0.setIdentifier) → \($0.target) (target group \($0.targetGroup))" }.joined()
    }

    /// One forward on the line, several (moved together) below it.
    static func traffic(_ forwards: [DeploymentSpec.TrafficForward]) -> String {
        guard forwards.count > 1 else { return forwards.first?.description ?? "" }
        return "\(forwards.count) forwards, moved together:" + forwards.map { "\n              \($0)" }.joined()
    }

    public func testRoute(_ p: ReleasePlan) -> [String] {
        guard let route = p.spec.testRoute else { return [] }
        return ["  test      requests carrying \(route.header): \(DeploymentSpec.TestRoute.value) reach green's target group only, from launch to the end,",
                "            through a rule at the lowest free priority of listener \(p.spec.testRouteForward ?? p.spec.traffic.primaryForward);",
                "            the probe sends the header"]
    }

    public func checks(_ p: ReleasePlan) -> [String] {
        let values = MetricTemplate.Values(plan: p)
        // The plan was made from the file in this process: its metric checks read back as they were parsed.
        let metrics = (try? p.spec.checks.metricChecks()) ?? []
        var lines: [String] = []
        for (index, check) in metrics.enumerated() {
            let described = check.describe(values)
            lines.append((index == 0 ? "  metrics   " : "            ") + (described.first ?? ""))
            lines += described.dropFirst().map { "            " + $0 }
        }
        if !metrics.isEmpty { lines.append("            all read together in one GetMetricData call per tick") }
        return lines
    }

    public func fleets(_ p: ReleasePlan) -> (blue: String, green: String) {
        ("\(p.blue.image) (\(p.blue.architecture)), launch template \(p.blue.templateName) version \(p.blue.templateVersion)",
         p.shared == nil
            ? "size min \(p.blue.minSize) / desired \(p.blue.desiredCapacity) / max \(p.blue.maxSize), new version of \(p.blue.templateName) with ImageId \(p.image)"
            : "created at 0 instances (max \(p.blue.maxSize)), each step scales it to its share; new version of \(p.blue.templateName) with ImageId \(p.image)")
    }

    public func pinned(_ p: ReleasePlan, _ f: FleetPlan) -> [String] {
        var pin = p.shared != nil
            ? "blue's MinSize goes to 0 for the release (the steps take its instances one by one); green starts at MinSize 0"
            : "MinSize of both groups held at their desired capacity until the release ends (scale-out still works)"
        if !f.pinnedProcesses.isEmpty { pin += "; \(f.pinnedProcesses.joined(separator: ", ")) suspended on both" }
        var lines = [pin]
        if f.blueFloats {
            lines.append("            blue's launch template \(f.blueTemplateVersion) pinned to version \(p.blue.templateVersion) for the release, restored after a rollback")
        }
        return lines
    }

    /// How a fleet that leaves service is removed, with each target group's deregistration delay as AWS has it.
    public func removal(_ p: ReleasePlan, drainDelays delays: [String: Int]) -> [String] {
        guard !delays.isEmpty else { return [] }
        let named = Array(Set([p.blue.pool, p.greenPool])).sorted().map { arn in
            "\(DeploymentSpec.SharedTraffic.classicName(of: arn) ?? arn.split(separator: "/").dropLast().last.map(String.init) ?? arn) \(delays[arn].map { "\($0) s" } ?? "?")"
        }
        let drain = p.spec.traffic.shared?.loadBalancerName == nil ? "its target group's deregistration delay" : "the Classic Load Balancer's connection draining"
        var lines = ["  removal   a fleet leaving service (green after a rollback, blue after its retention, a retired group) is deregistered "
            + "\(p.trafficSettle) after its traffic left,",
                     "            then drains for \(drain) (\(named.joined(separator: ", "))) before it is "
            + (p.isPair ? "scaled to 0" : "scaled to 0 and deleted")]
        // With a shared pool every step deregisters blue instances while they serve: with no drain their in-flight
        // requests are cut.
        if let shared = p.spec.traffic.shared, delays[shared.targetGroup] == 0 {
            let what = shared.loadBalancerName == nil ? "its deregistration delay is 0 s" : "connection draining is off"
            lines.append("  warning   \(shared.pool): \(what), so each step cuts the requests in flight on the blue instances it deregisters; "
                + (shared.loadBalancerName == nil ? "raise deregistration_delay.timeout_seconds" : "turn connection draining on") + " before releasing")
        }
        return lines
    }

    public func json(_ p: ReleasePlan) throws -> [String: JSONValue] {
        let values = MetricTemplate.Values(plan: p)
        var fields: [String: JSONValue] = [
            "listener_arn": .string(p.spec.traffic.primaryForward),
            "forwards": .array(p.spec.traffic.forwards.map { .string($0.arn) }),
            "metrics": try JSONValue(encoding: ((try? p.spec.checks.metricChecks()) ?? []).map { PlanJSON.Metric($0, values) }),
        ]
        if let rule = p.spec.traffic.ruleArn { fields["rule_arn"] = .string(rule) }
        if let route = p.spec.testRoute {
            fields["test_route"] = try JSONValue(encoding: PlanJSON.TestRoute(header: route.header, value: DeploymentSpec.TestRoute.value,
                                                                             listener_arn: p.spec.testRouteForward ?? p.spec.traffic.primaryForward))
        }
        if let route53 = p.spec.traffic.route53 { fields["route53"] = try JSONValue(encoding: PlanJSON.Route53(route53, plan: p)) }
        if let shared = p.spec.traffic.shared, let plan = p.shared {
            fields["shared"] = try JSONValue(encoding: PlanJSON.Shared(shared, plan: p, start: plan.startHealthy))
        }
        return fields
    }
}
