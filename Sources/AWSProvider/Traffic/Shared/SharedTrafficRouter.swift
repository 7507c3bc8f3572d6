import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// The scale-out pattern's `TrafficRouter` (`traffic.shared`): blue's and green's groups stand in one target group, and
/// the load balancer spreads its requests over the healthy instances there, so green's share is its part of them. No
/// forward is written: a step is scaled to by `SharedEffects`, one look at a time (`SharedStep`), and the router's
/// part is what every backend's is at plan time and for the fence: it reads the target group as one forward that
/// carries the whole of the load balancer's traffic for it.
public struct SharedTrafficRouter: TrafficRouter {
    public let aws: AWSClients
    public let shared: DeploymentSpec.SharedTraffic

    public init(aws: AWSClients, shared: DeploymentSpec.SharedTraffic) {
        self.aws = aws
        self.shared = shared
    }

    public var traits: TrafficTraits { AWSTrafficBackends.traits(.shared) }
    public var description: String { shared.description }
    public var resources: [String] { [shared.targetGroup] }
    /// The shared target group (or Classic Load Balancer) carries the fence's claim: another writer would have to take it to move its instances.
    public var fenceResources: [String] { [shared.targetGroup] }

    /// The target group as one forward: 100 % while any registered instance is healthy there, else 0 %.
    public func currentWeights() async throws -> TrafficWeights {
        let health = try await InstancePool(shared.targetGroup).health(aws)
        let serving = health.contains { $0.state == "healthy" }
        return TrafficWeights(forwards: [ForwardWeights(resource: shared.pool, percent: [shared.targetGroup: serving ? 100 : 0])])
    }

    /// A split by instance counts is not written: it is scaled to over several looks (`SharedEffects.step`).
    public func setWeights(bluePool blueTargetGroup: String, greenPool greenTargetGroup: String, green: Int, stickiness: StickinessChange,
                           known: TrafficWeights?, write: WeightWrite) async throws -> TrafficWeights {
        throw TrafficCapabilityError.splitByCounts(.shared)
    }

    /// The pool read once; one that is not there is the file's error, by its key.
    public func discover(_ spec: DeploymentSpec) async throws -> TrafficDiscovery {
        do {
            return TrafficDiscovery(weights: try await currentWeights())
        } catch let error as AWSError where ["TargetGroupNotFound", "LoadBalancerNotFound"].contains(error.code.rawValue) {
            let key = shared.loadBalancerName == nil ? "traffic.shared.target_group" : "traffic.shared.load_balancer_name"
            throw PlanError.sharedPoolNotFound(key: key, pool: shared.pool, code: error.code.rawValue)
        }
    }

    public func carried(_ watched: [String], spec: DeploymentSpec) async throws -> [String: Int] {
        try await currentWeights().percent.filter { watched.contains($0.key) }
    }
}
