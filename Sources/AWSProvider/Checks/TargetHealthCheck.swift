import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// `checks.max_unhealthy_targets`: green's InService instances healthy in its target group, always on. Before traffic
/// the health gate reads it as an effect of its own (`observeGreenHealth`), so it runs only while green takes traffic.
struct TargetHealthCheck: CheckKind {
    var section: String { "checks.max_unhealthy_targets" }
    var beforeTraffic: Bool { false }

    func reads(_ plan: ReleasePlan) -> [TickCost.Read] {
        let pool = InstancePool(plan.greenPool)
        let purpose: String
        switch pool {
        case .targetGroup: purpose = "green's target health"
        case .classic: purpose = "green's instance health on the Classic Load Balancer"
        }
        return [TickCost.Read(service: "elasticloadbalancing", action: pool.healthAction, calls: 1, purpose: purpose),
                TickCost.Read(service: "autoscaling", action: "DescribeAutoScalingGroups", calls: 1,
                              purpose: "green's instances and their lifecycle, when green's target health changed", refresh: TickCost.groupRefresh)]
    }

    func check(_ d: Deployment, _ tick: CheckTick) -> ScheduledCheck? {
        let effects = tick.effects, readFailures = tick.readFailures
        return tick.reading("target-health", from: [.autoScaling, .elasticLoadBalancing, .classicLoadBalancing]) {
            do {
                var report = try await effects.observeTargetHealth(d, reuse: true)
                // In a shared target group the next step's new instances register while this one is judged: `initial`
                // is a registration still being health-checked, which the load balancer sends nothing to yet (one
                // that never passes holds the step until it rolls back on its own bound).
                if d.plan.shared != nil { report.targets.removeAll { $0.inService && $0.state == "initial" } }
                return [report.check(maxUnhealthy: d.plan.spec.checks.maxUnhealthyTargets)]
            } catch {
                return [CheckResult(name: "target-health", passed: false, evidence: "could not read green's target health: \(error)", threshold: readFailures)]
            }
        }
    }
}
