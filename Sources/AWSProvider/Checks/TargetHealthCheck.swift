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
                // In a shared target group the step's new instances register while green is judged; those it is
                // still bringing up get nothing from the load balancer yet (`TargetHealthReport.sharedStepView`).
                if let shared = d.plan.shared {
                    let confirmed = SharedSplit.step(share: d.greenWeight, startHealthy: d.shareBase ?? shared.startHealthy,
                                                     blueHealthy: 0, greenHealthy: 0).green
                    report = report.sharedStepView(confirmed: confirmed)
                }
                return [report.check(maxUnhealthy: d.plan.spec.checks.maxUnhealthyTargets)]
            } catch {
                return [CheckResult(name: "target-health", passed: false, evidence: "could not read green's target health: \(error)", threshold: readFailures)]
            }
        }
    }
}
