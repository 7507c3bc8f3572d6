/// What a traffic backend is and can do, as the pure core needs to know it: decided once, from which section the
/// deployment file's `traffic:` names, so neither the machine nor the commands ask "is this Route 53?" again.
///
/// The orchestrator's `TrafficRouter` for the same backend returns these traits; `TrafficBackendKind.traits` is the one
/// table of them.
public struct TrafficTraits: Sendable, Hashable {
    public var kind: TrafficBackendKind
    /// A confirmed change reaches clients after the records' TTL (DNS caches), which is the settle, rather than after
    /// `traffic.settle` alone.
    public var settlesByTTL: Bool
    /// The backend has a header route to green before it takes traffic (`checks.http.test_route`).
    public var hasTestRoute: Bool
    /// Why `checks.http.test_route` does not apply, when `hasTestRoute` is false.
    public var testRouteRefusal: String?
    /// Why `fleet.mode: pair` does not apply, when the backend has not been proven with it; nil when it has.
    public var pairRefusal: String?
    /// Blue and green stand in one target group and the split is their instance counts: a step is scaled to, not
    /// written, so it is reached over several looks (`Event.splitProgressing`), and a fleet leaves by its own instances'
    /// deregistration rather than by a forward that no longer sends it anything.
    public var splitByCounts: Bool = false
    /// What carries the split, in messages ("listener", "Route 53 records").
    public var splitName: String
    /// What the fence's tag sits on, in messages ("the listener is").
    public var fencedName: String
}

/// The traffic backends, one per section of the file's `traffic:` (`route53:`, …; ALB listeners and rules when none).
public enum TrafficBackendKind: String, Sendable, Hashable, Codable, CaseIterable {
    case alb
    case route53
    case shared

    /// The one table of every backend's traits.
    public var traits: TrafficTraits {
        switch self {
        case .alb:
            return TrafficTraits(kind: self, settlesByTTL: false, hasTestRoute: true, testRouteRefusal: nil, pairRefusal: nil,
                                 splitName: "listener", fencedName: "the listener is")
        case .route53:
            return TrafficTraits(
                kind: self, settlesByTTL: true, hasTestRoute: false,
                testRouteRefusal: "does not apply with traffic.route53: green is a whole stack with its own load balancer, "
                    + "so the probe reaches it at its own endpoint (see checks.http.url) and no listener rule is needed",
                pairRefusal: "pair does not apply with traffic.route53 yet: a pair release has only been proven behind one load balancer's "
                    + "listener; use the default fleet mode (clone) with Route 53",
                splitName: "Route 53 records", fencedName: "the stacks' target groups are")
        case .shared:
            var traits = TrafficTraits(
                kind: self, settlesByTTL: false, hasTestRoute: false,
                testRouteRefusal: "does not apply with traffic.shared: blue and green stand in one target group, so no listener rule can "
                    + "send a header's requests to green alone; the probe's url must name green's own endpoint",
                pairRefusal: "pair does not apply with traffic.shared: the scale-out pattern creates green beside blue in the shared "
                    + "target group and scales the two; use the default fleet mode (clone)",
                splitName: "shared load balancer", fencedName: "the shared target group or load balancer is")
            traits.splitByCounts = true
            return traits
        }
    }
}

extension DeploymentSpec.Traffic {
    /// Which backend carries this traffic: the one decision, from the section the file named.
    public var kind: TrafficBackendKind { route53 != nil ? .route53 : shared != nil ? .shared : .alb }

    public var traits: TrafficTraits { kind.traits }
}
