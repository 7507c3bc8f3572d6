import Azure
import Foundation
import SwitchyardCore

/// Which of the file's two Traffic Manager endpoints is blue, from the profile as it reads now: the one that carries
/// all the traffic. Anything else is refused before a release starts, as the Route 53 mode refuses it: a partial split
/// is a release in flight or a hand edit, and neither may be guessed.
public struct EndpointRoles: Sendable, Equatable {
    public var blue: TrafficManagerEndpoint
    public var green: TrafficManagerEndpoint
    /// The profile's DNS TTL in seconds: the least each step's change takes to reach clients.
    public var ttl: Int

    /// The roles, or a refusal naming the profile and what it shows.
    public static func read(_ profile: TrafficManagerProfile, traffic: DeploymentSpec.TrafficManagerTraffic) -> Result<EndpointRoles, PlanRefusal> {
        let name = traffic.profile
        guard profile.routingMethod.lowercased() == "weighted" else {
            return .failure(PlanRefusal("Traffic Manager profile \(name) routes by \(profile.routingMethod.isEmpty ? "an unknown method" : profile.routingMethod), "
                + "not Weighted: its endpoints' weights would not move traffic; set its routing method to Weighted"))
        }
        let found = traffic.endpoints.map { wanted in profile.endpoints.first { $0.name == wanted } }
        let missing = zip(traffic.endpoints, found).filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty, let a = found[0], let b = found[1] else {
            let has = profile.endpoints.map(\.name).joined(separator: ", ")
            return .failure(PlanRefusal("Traffic Manager profile \(name) has no endpoint \(missing.joined(separator: " or ")) (it has: \(has.isEmpty ? "none" : has))"))
        }
        if let nested = [a, b].first(where: { $0.type == "nestedEndpoints" }) {
            return .failure(PlanRefusal("endpoint \(nested.name) of Traffic Manager profile \(name) is a nested profile: each endpoint must front one stack "
                + "(azureEndpoints or externalEndpoints)"))
        }
        // Both enabled is a split, however small one weight is (1 against 1000 rounds to 0 % but still sends a
        // resolver in a thousand to the stack green would be made in).
        if a.enabled && b.enabled {
            let share = Double(b.weight ?? 1) * 100 / Double((a.weight ?? 1) + (b.weight ?? 1))
            return .failure(PlanRefusal("Traffic Manager profile \(name) has both endpoints enabled (\(a.name) weight \(a.weight ?? 1), \(b.name) weight \(b.weight ?? 1): "
                + "\(String(format: "%.1f", 100 - share))% / \(String(format: "%.1f", share))%): a release in flight or a hand edit; put all of it on one endpoint "
                + "(the other disabled) before releasing"))
        }
        guard let green = TrafficManagerSplit.greenPercent(blue: a, green: b) else {
            return .failure(PlanRefusal("neither endpoint of Traffic Manager profile \(name) is enabled: no stack takes traffic, so there is no blue to release beside"))
        }
        switch green {
        case 0: return .success(EndpointRoles(blue: a, green: b, ttl: profile.ttl))
        case 100: return .success(EndpointRoles(blue: b, green: a, ttl: profile.ttl))
        default:
            return .failure(PlanRefusal("Traffic Manager profile \(name) splits traffic \(100 - green)% \(a.name) / \(green)% \(b.name): a release in "
                + "flight or a hand edit; put all of it on one endpoint (the other disabled) before releasing"))
        }
    }
}

/// Why a release cannot be planned as the cloud stands; nothing was changed.
public struct PlanRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
