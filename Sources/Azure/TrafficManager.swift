import Foundation
import HTTP

/// A Traffic Manager profile as a release reads it: how long resolvers keep its answer, how it routes, and its
/// endpoints.
public struct TrafficManagerProfile: Sendable, Equatable {
    public var id: String
    public var routingMethod: String
    /// `dnsConfig.ttl`: the seconds a resolver keeps an answer, so the least a weight change takes to reach clients.
    public var ttl: Int
    public var endpoints: [TrafficManagerEndpoint]
    /// The profile's tags: where a release leaves its fence mark (`switchyard:deployment:<id>`).
    public var tags: [String: String]

    public init(id: String, routingMethod: String, ttl: Int, endpoints: [TrafficManagerEndpoint], tags: [String: String] = [:]) {
        self.id = id
        self.tags = tags
        self.routingMethod = routingMethod
        self.ttl = ttl
        self.endpoints = endpoints
    }
}

/// One endpoint of a profile: its type (`azureEndpoints`, `externalEndpoints`, `nestedEndpoints`), weight (1–1000)
/// and whether it takes traffic at all.
public struct TrafficManagerEndpoint: Sendable, Equatable {
    public var name: String
    public var type: String
    public var weight: Int?
    public var enabled: Bool
    /// `endpointMonitorStatus`: what Traffic Manager's own probes say (`Online`, `Degraded`, `CheckingEndpoint`, …).
    public var monitorStatus: String?
    /// `targetResourceId`: for an `azureEndpoints` endpoint, the public IP address it fronts (nil for the others).
    public var target: String?
    /// `target`: the host an `externalEndpoints` endpoint answers with (an FQDN or an IP address).
    public var targetHost: String?

    public init(name: String, type: String, weight: Int?, enabled: Bool, monitorStatus: String? = nil, target: String? = nil, targetHost: String? = nil) {
        self.target = target
        self.targetHost = targetHost
        self.name = name
        self.type = type
        self.weight = weight
        self.enabled = enabled
        self.monitorStatus = monitorStatus
    }
}

/// A split as two weighted endpoints can hold it. Traffic Manager's weights run from 1 to 1000 and an endpoint's share
/// is its weight over the enabled endpoints' sum, so 0 % is an endpoint disabled, not a weight of 0 (which ARM
/// refuses): `percent × 10` for each side at a partial split, and at 0 / 100 the side with nothing disabled (its weight
/// left as it was).
public struct TrafficManagerSplit: Sendable, Equatable {
    public struct Side: Sendable, Equatable {
        public var weight: Int?
        public var enabled: Bool
        public init(weight: Int?, enabled: Bool) {
            self.weight = weight
            self.enabled = enabled
        }
    }
    public var blue: Side
    public var green: Side

    public init(blue: Side, green: Side) {
        self.blue = blue
        self.green = green
    }

    public init(greenPercent: Int) {
        let green = min(100, max(0, greenPercent))
        blue = green == 100 ? Side(weight: nil, enabled: false) : Side(weight: (100 - green) * 10, enabled: true)
        self.green = green == 0 ? Side(weight: nil, enabled: false) : Side(weight: green * 10, enabled: true)
    }

    /// Green's share in percent of what two endpoints read back: disabled is 0, else weight over the enabled sum.
    public static func greenPercent(blue: TrafficManagerEndpoint, green: TrafficManagerEndpoint) -> Int? {
        let b = blue.enabled ? (blue.weight ?? 1) : 0, g = green.enabled ? (green.weight ?? 1) : 0
        guard b + g > 0 else { return nil }
        return Int((Double(g) * 100 / Double(b + g)).rounded())
    }
}

/// Traffic Manager's ARM calls (api-version pinned for `Microsoft.Network/trafficManagerProfiles`).
public struct TrafficManager: Sendable {
    public static let apiVersion = "2026-09-01"
    public static let endpointTypes: Set<String> = ["azureEndpoints", "externalEndpoints", "nestedEndpoints"]
    let arm: ARMClient

    public init(arm: ARMClient) { self.arm = arm }

    static func profilePath(subscription: String, resourceGroup: String, profile: String) -> String {
        "/subscriptions/\(subscription)/resourceGroups/\(resourceGroup)/providers/Microsoft.Network/trafficManagerProfiles/\(profile)"
    }

    /// The profile with its endpoints, in one GET.
    public func profile(subscription: String, resourceGroup: String, name: String) async throws -> TrafficManagerProfile {
        let path = Self.profilePath(subscription: subscription, resourceGroup: resourceGroup, profile: name)
        let answer = try await arm.send("GET", path, apiVersion: Self.apiVersion)
        guard let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any],
              let properties = object["properties"] as? [String: Any] else {
            throw ARMError(method: "GET", path: path, status: answer.status, code: "UnreadableAnswer", message: "the profile's answer is not a JSON object with properties",
                           requestId: answer.header("x-ms-request-id"), attempts: 1)
        }
        let ttl = ((properties["dnsConfig"] as? [String: Any])?["ttl"] as? NSNumber)?.intValue ?? 0
        let endpoints = (properties["endpoints"] as? [[String: Any]] ?? []).compactMap(Self.endpoint)
        return TrafficManagerProfile(id: object["id"] as? String ?? path, routingMethod: properties["trafficRoutingMethod"] as? String ?? "",
                                     ttl: ttl, endpoints: endpoints, tags: object["tags"] as? [String: String] ?? [:])
    }

    /// An endpoint of the profile's answer, or of an endpoint's own.
    static func endpoint(_ object: [String: Any]) -> TrafficManagerEndpoint? {
        guard let name = object["name"] as? String else { return nil }
        let properties = object["properties"] as? [String: Any] ?? [:]
        let type = (object["type"] as? String ?? "").split(separator: "/").last.map(String.init) ?? ""
        return TrafficManagerEndpoint(name: name, type: type, weight: (properties["weight"] as? NSNumber)?.intValue,
                                      enabled: (properties["endpointStatus"] as? String ?? "Enabled").lowercased() == "enabled",
                                      monitorStatus: properties["endpointMonitorStatus"] as? String,
                                      target: properties["targetResourceId"] as? String, targetHost: properties["target"] as? String)
    }

    /// Sets one endpoint's weight (1–1000; nil leaves it) and status with a PATCH of just those properties, and returns
    /// the endpoint as ARM answered it: the write's own read-back.
    public func set(subscription: String, resourceGroup: String, profile: String, endpoint: TrafficManagerEndpoint.Reference, weight: Int?,
                    enabled: Bool) async throws -> TrafficManagerEndpoint {
        let path = Self.profilePath(subscription: subscription, resourceGroup: resourceGroup, profile: profile) + "/\(endpoint.type)/\(endpoint.name)"
        if let weight, !(1...1000).contains(weight) {
            throw ARMError(method: "PATCH", path: path, status: 0, code: "WeightOutOfRange", message: "a Traffic Manager weight is 1 to 1000 (got \(weight))",
                           requestId: nil, attempts: 0)
        }
        var properties: [String: Any] = ["endpointStatus": enabled ? "Enabled" : "Disabled"]
        if let weight { properties["weight"] = weight }
        let body = try JSONSerialization.data(withJSONObject: ["properties": properties], options: [.sortedKeys])
        let answer = try await arm.send("PATCH", path, apiVersion: Self.apiVersion, body: body)
        guard let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any], let read = Self.endpoint(object) else {
            throw ARMError(method: "PATCH", path: path, status: answer.status, code: "UnreadableAnswer", message: "the endpoint's answer names no endpoint",
                           requestId: answer.header("x-ms-request-id"), attempts: 1)
        }
        return read
    }
}

extension TrafficManager {
    /// Sets the profile's tags with a PATCH, ARM applying it as a JSON merge patch: `set` added or replaced, `remove`
    /// sent as null (deleted). The other tags are sent as they were read, so a service that replaces tags wholesale
    /// on PATCH keeps them too. Returns the tags as ARM answered (the write's own read-back).
    public func setTags(subscription: String, resourceGroup: String, profile: String, keeping current: [String: String],
                        set: [String: String] = [:], remove: [String] = []) async throws -> [String: String] {
        let path = Self.profilePath(subscription: subscription, resourceGroup: resourceGroup, profile: profile)
        var tags: [String: Any] = current.filter { !remove.contains($0.key) }.merging(set) { _, new in new }
        for key in remove where set[key] == nil { tags[key] = NSNull() }
        let body = try JSONSerialization.data(withJSONObject: ["tags": tags], options: [.sortedKeys])
        let answer = try await arm.send("PATCH", path, apiVersion: Self.apiVersion, body: body)
        let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
        return object?["tags"] as? [String: String] ?? [:]
    }
}

extension TrafficManagerEndpoint {
    /// Which endpoint a write names: its type (one of `TrafficManager.endpointTypes`) and name.
    public struct Reference: Sendable, Equatable {
        public var type: String
        public var name: String
        public init(type: String, name: String) {
            self.type = type
            self.name = name
        }
    }

    public var reference: Reference { Reference(type: type, name: name) }
}
