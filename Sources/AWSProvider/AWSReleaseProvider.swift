import AWS
import Foundation
import Logging
import Orchestrator
import SwitchyardCore

/// AWS as a `ReleaseProvider`: the planner, the listener tag guard as the fence, `AWSEffects` as the performer.
public struct AWSReleaseProvider: ReleaseProvider {
    public let aws: AWSClients
    public let logger: Logger

    /// How `plan` shows AWS's part of a release.
    public var presenter: any PlanPresenter { AWSPlanPresenter() }

    public init(aws: AWSClients, logger: Logger) {
        self.aws = aws
        self.logger = logger
    }

    public func plan(_ spec: DeploymentSpec, image ami: String, deploymentId: String, context: PlanContext) async throws -> PlannedRelease {
        var planner = Planner(aws: aws, logger: logger)
        planner.recordedRetention = context.recordedRetention
        planner.recordedDeadlines = context.recordedDeadlines
        planner.likelyGroups = context.likelyFleets
        let (plan, facts) = try await planner.planWithFacts(spec: spec, ami: ami, deploymentId: deploymentId, retirable: context.retirable,
                                                            endingRetention: context.endingRetention)
        return PlannedRelease(plan: plan, facts: facts)
    }

    public func fence(_ spec: DeploymentSpec) -> any TrafficFence { ListenerGuard(aws: aws, spec: spec) }

    /// Facts that are not this provider's (`PlanFacts`) are not used: the effects then look before each create.
    public func performer(facts: (any Sendable)?, clock: DeploymentClock) -> EffectPerformer {
        AWSEffects(aws: aws, logger: logger, clock: clock, facts: facts as? PlanFacts)
    }

    /// A plan error here is about the world, not the input (the listener the record names is gone): a failure.
    public func observe(_ d: Deployment) async throws -> Observation {
        do {
            return try await AWSEffects(aws: aws, logger: logger).observe(d)
        } catch let error as PlanError {
            throw ObservationRefused(deploymentId: d.id, reason: "\(error)")
        }
    }

    public func tickCost(_ plan: ReleasePlan) -> TickCost { TickCost.of(plan) }

    public func drainDelays(_ plan: ReleasePlan) async throws -> [String: Int] {
        try await Planner(aws: aws, logger: logger).deregistrationDelays([plan.blue.pool, plan.greenPool])
    }

    public func fleet(named name: String) async throws -> CapacityReport? {
        try await AWSEffects(aws: aws, logger: logger).currentGroup(name).map(CapacityReport.init)
    }

    public func isUnreachable(_ error: Error) -> Bool { Unreachable.isUnreachable(error) }
}

extension CapacityReport {
    /// A group's size as read: its desired capacity, its instances, and how many of them are InService.
    init(_ group: AutoScalingGroup) {
        self.init(desired: group.desiredCapacity, inService: group.instances.filter { $0.lifecycleState == "InService" }.count,
                  instances: group.instances.count)
    }
}

extension ListenerGuard: TrafficFence {
    public var resource: String { resourceArn }
    public func mark(for deploymentId: String) -> String { Self.key(for: deploymentId) }
    public func refusal(heldBy owner: String) -> Error { ListenerClaimed(resource: resourceArn, owner: owner) }
}
