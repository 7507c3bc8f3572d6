import Foundation
import Orchestrator
import SwitchyardCore

/// What a release asks AWS while a step bakes (the AWS provider's `TickCost`): one check tick every `checks.interval`,
/// each tick the reads below and nothing else, every read made once however many checks use its answer (green's target health serves the
/// target-health check; every alarm is in one `DescribeAlarms` per 100; every metric check, green's and blue's series,
/// is in one `GetMetricData` per 500 queries). Green's group, which says which targets are green's and which of them
/// are coming or going, is read again only on a tick whose target health differs from what the last group read
/// explained (a target came, went, or is not healthy), and at least once a minute (`groupRefresh`): in a steady bake a
/// tick is one read fewer. The HTTP probe and hooks ask AWS nothing. This is the documented figure `plan` prints
/// (docs/commands.md#plan); `AWSEffects.checks` makes exactly these reads (each check kind says its own, Sources/AWSProvider/Checks/), and the e2e request count
/// (e2e/test_requests.py) holds the two equal.
extension TickCost {
    /// The most seconds a tick judges green's targets by an earlier read of green's group.
    public static let groupRefresh: TimeInterval = 60

    /// The reads of one tick of every check kind the plan configures (`CheckKinds.registered`), in their order.
    public static func of(_ plan: ReleasePlan) -> TickCost {
        TickCost(reads: CheckKinds.registered.flatMap { $0.reads(plan) }, interval: max(plan.spec.checks.interval.seconds, 0.001),
                 look: sharedLook(plan))
    }

    /// One look of a shared pool's step (`SharedEffects.sharedStep`): the fence's tag, both groups, the pool's health.
    static func sharedLook(_ plan: ReleasePlan) -> [Read] {
        guard let shared = plan.spec.traffic.shared, plan.shared != nil else { return [] }
        return [Read(service: "elasticloadbalancing", action: "DescribeTags", calls: 1, purpose: "the fence's claim on \(shared.pool)"),
                Read(service: "autoscaling", action: "DescribeAutoScalingGroups", calls: 1, purpose: "blue's and green's instances"),
                Read(service: "elasticloadbalancing", action: InstancePool(shared.targetGroup).healthAction, calls: 1,
                     purpose: "each instance's health at the load balancer")]
    }

    static func batches(_ count: Int, of size: Int) -> Int { (count + size - 1) / size }
}
