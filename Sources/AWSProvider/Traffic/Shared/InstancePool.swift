import AWS
import Foundation
import SwitchyardCore

/// Where the scale-out pattern's two groups stand together (`traffic.shared`): one target group, or one Classic Load
/// Balancer. Everything that reads or changes registrations by the plan's pool id (`ReleasePlan.greenPool`,
/// a removal's target groups) comes here, so the steps, the checks, the removal and the planner read one vocabulary
/// (`TargetHealthDescription`'s states) whichever the load balancer is.
enum InstancePool: Sendable, Hashable {
    case targetGroup(String)
    case classic(String)

    /// The pool a plan's id names: a Classic Load Balancer's `loadbalancer/NAME`, else a target group's ARN.
    init(_ id: String) {
        self = DeploymentSpec.SharedTraffic.classicName(of: id).map(InstancePool.classic) ?? .targetGroup(id)
    }

    var id: String {
        switch self {
        case .targetGroup(let arn): return arn
        case .classic(let name): return DeploymentSpec.SharedTraffic.classicPrefix + name
        }
    }

    /// For sentences.
    var description: String { DeploymentSpec.SharedTraffic.named(id) }

    /// The read of each instance's health at the load balancer, as AWS names the action (for request counts).
    var healthAction: String {
        switch self {
        case .targetGroup: return "DescribeTargetHealth"
        case .classic: return "DescribeInstanceHealth"
        }
    }

    /// Each registered instance with the load balancer's state for it.
    func health(_ aws: AWSClients) async throws -> [TargetHealthDescription] {
        switch self {
        case .targetGroup(let arn): return try await aws.elb.describeTargetHealth(targetGroupArn: arn)
        case .classic(let name): return try await aws.classic.describeInstanceHealth(loadBalancerName: name).map(\.asTarget)
        }
    }

    func register(_ ids: [String], _ aws: AWSClients) async throws {
        switch self {
        case .targetGroup(let arn): try await aws.elb.registerTargets(targetGroupArn: arn, instanceIds: ids)
        case .classic(let name): try await aws.classic.registerInstances(loadBalancerName: name, instanceIds: ids)
        }
    }

    /// Deregisters: the load balancer sends them no new request and drains those in flight.
    func deregister(_ ids: [String], _ aws: AWSClients) async throws {
        switch self {
        case .targetGroup(let arn): try await aws.elb.deregisterTargets(targetGroupArn: arn, instanceIds: ids)
        case .classic(let name): try await aws.classic.deregisterInstances(loadBalancerName: name, instanceIds: ids)
        }
    }

    /// How long a deregistered instance may drain, as AWS has it: the target group's
    /// `deregistration_delay.timeout_seconds`, or the Classic Load Balancer's connection-draining timeout (0 when off).
    func drainSeconds(_ aws: AWSClients) async throws -> Int {
        switch self {
        case .targetGroup(let arn):
            return try await aws.elb.describeTargetGroupAttributes(arn: arn)["deregistration_delay.timeout_seconds"].flatMap { Int($0) } ?? 0
        case .classic(let name): return try await aws.classic.connectionDrainingSeconds(loadBalancerName: name)
        }
    }

    /// Whether a draining instance may be registered again before its drain is over: a target group takes it back
    /// (RegisterTargets on a draining target; aws-load-balancer-controller#288 saw exactly that); AWS's Classic guide
    /// documents no such thing, so a Classic Load Balancer's drained instances are registered after the drain.
    var reregistersDraining: Bool {
        if case .targetGroup = self { return true }
        return false
    }

    /// Whether the group is attached to the pool (its instances registered by Auto Scaling).
    func isAttached(_ group: AutoScalingGroup) -> Bool {
        switch self {
        case .targetGroup(let arn): return group.targetGroupARNs.contains(arn)
        case .classic(let name): return group.loadBalancerNames.contains(name)
        }
    }
}
