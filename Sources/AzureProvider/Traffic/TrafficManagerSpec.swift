import Foundation
import SwitchyardCore

extension TrafficBackendKind {
    /// Two weighted endpoints of an Azure Traffic Manager profile, one per stack (`traffic.traffic_manager`).
    public static let trafficManager = TrafficBackendKind(rawValue: "traffic_manager")
}

extension DeploymentSpec {
    /// `traffic.traffic_manager`: a profile whose two weighted endpoints each front one stack's load balancer; green's
    /// share is its endpoint's weight over the enabled endpoints' sum, and a change reaches clients after the profile's
    /// DNS TTL (as Route 53's records do).
    public struct TrafficManagerTraffic: Sendable, Hashable, Codable {
        /// The profile's name, in the release's resource group.
        public var profile: String
        /// The two endpoints' names, in the file's order (which is blue's is read from their weights at plan time).
        public var endpoints: [String]

        public init(profile: String, endpoints: [String]) {
            self.profile = profile
            self.endpoints = endpoints
        }

        public var description: String { "Traffic Manager profile \(profile) (endpoints \(endpoints.joined(separator: ", ")))" }
    }
}

/// Azure's part of the file's `traffic`, as the core keeps it (`DeploymentSpec.Traffic.settings`): the
/// `trafficManager` section, the pools being its endpoints.
extension DeploymentSpec.Traffic {
    static let trafficManagerKey = "trafficManager"

    /// Two stacks behind a Traffic Manager profile's weighted endpoints.
    public init(trafficManager: DeploymentSpec.TrafficManagerTraffic, settle: TimeSpan? = nil) {
        self.init(pools: trafficManager.endpoints, settle: settle, settings: [:])
        AzureTrafficBackends.register()
        self.trafficManager = trafficManager
    }

    /// The profile and its endpoints, when this traffic is Traffic Manager's.
    public var trafficManager: DeploymentSpec.TrafficManagerTraffic? {
        get { settings[Self.trafficManagerKey].flatMap { try? $0.decode(DeploymentSpec.TrafficManagerTraffic.self) } }
        set { settings[Self.trafficManagerKey] = newValue.flatMap { try? JSONValue(encoding: $0) } }
    }
}

/// Azure's traffic backends, with what the core asks of each (`TrafficBackend`).
public enum AzureTrafficBackends {
    public static let backends: [TrafficBackend] = [
        TrafficBackend(
            traits: TrafficTraits(
                kind: .trafficManager, settlesByTTL: true, hasTestRoute: false,
                testRouteRefusal: "does not apply with traffic.traffic_manager: green is a whole stack behind its own endpoint, "
                    + "so the probe reaches it at its own load balancer (see checks.http.url) and no header route is needed",
                pairRefusal: "pair does not apply with traffic.traffic_manager: green is a new scale set cloned from blue",
                splitName: "Traffic Manager endpoints", fencedName: "the Traffic Manager profile is"),
            recordSection: DeploymentSpec.Traffic.trafficManagerKey,
            poolNamed: { "Traffic Manager endpoint \($0)" }),
    ]

    /// Registers Azure's backends with the core; the CLI does it at start. Idempotent.
    public static func register() { _ = registration }
    private static let registration: Void = {
        for backend in backends { TrafficBackends.register(backend) }
        CloudWords.register(words)
    }()

    /// How the core's messages call Azure's things: a scale set's model is what its instances are made from.
    public static let words = CloudWords(id: "azure", name: "Azure", pool: "Traffic Manager endpoint", template: "scale set model", image: "image",
        hookNames: ["SWITCHYARD_GREEN_POOL": "SWITCHYARD_GREEN_ENDPOINT", "SWITCHYARD_BLUE_POOL": "SWITCHYARD_BLUE_ENDPOINT",
                    "SWITCHYARD_GREEN_FLEET": "SWITCHYARD_GREEN_SCALE_SET", "SWITCHYARD_BLUE_FLEET": "SWITCHYARD_BLUE_SCALE_SET",
                    "SWITCHYARD_LOCATION": "SWITCHYARD_RESOURCE_GROUP_ID"], versionedTemplates: false)
}
