import Foundation
import SwitchyardCore
import Yams

/// Azure's part of the deployment file (`provider: azure`): `azure:` (the subscription and resource group the release
/// runs in), `fleet.scale_set` (blue's Virtual Machine Scale Set; green is created beside it) and
/// `traffic.traffic_manager` (the Traffic Manager profile and its two weighted endpoints, one per stack). The core
/// reads the rest of the file, as for AWS; Azure has no check kinds of its own yet (instance health is the core's
/// `checks.max_unhealthy_targets`, the probe the core's `checks.http`).
public struct AzureFileFormat: ProviderFileFormat {
    public init() { AzureTrafficBackends.register() }

    public let schema: [String: [String]] = [
        "": ["azure"],
        "azure": ["subscription_id", "resource_group"],
        "traffic": ["traffic_manager", "settle"],
        "traffic.traffic_manager": ["profile", "endpoints"],
        "fleet": ["scale_set", "capacity_timeout"],
    ]

    public let requiredKeys = ["azure", "fleet"]

    static let subscriptionPattern = #"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"#
    /// ARM's rule for a resource group's name: 1 to 90 letters, digits, `_`, `-`, `.`, `(`, `)`, not ending in `.`.
    static let resourceGroupPattern = #"^[-\w._()]{1,90}$"#
    /// A scale set's name: 1 to 64 letters, digits, `_`, `-`, `.`, starting with a letter or digit and not ending in
    /// `.` or `-` (Azure's naming rules for Microsoft.Compute/virtualMachineScaleSets, Linux).
    static let scaleSetPattern = #"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$"#
    /// A Traffic Manager profile's name: 1 to 63 letters, digits, `_`, `-`, `.`, starting and ending with a letter or digit.
    static let profilePattern = #"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"#

    /// Where the release runs: the resource group's id, `/subscriptions/SUB/resourceGroups/RG`.
    public func location(_ reader: inout FileReader, _ top: [String: Node]) -> String? {
        guard let m = reader.mapping(top["azure"], "azure") else { return nil }
        let f = reader.fields(m, at: "azure", required: ["subscription_id", "resource_group"])
        let before = reader.issues.count
        let subscription = reader.string(f["subscription_id"], "azure.subscription_id")
        if let subscription, FileReader.captures(subscription, Self.subscriptionPattern) == nil {
            reader.add(f["subscription_id"], "azure.subscription_id",
                       "is not a subscription id (a GUID like 00000000-0000-0000-0000-000000000000; got \"\(subscription)\")")
        }
        let group = reader.string(f["resource_group"], "azure.resource_group")
        if let group, FileReader.captures(group, Self.resourceGroupPattern) == nil || group.hasSuffix(".") {
            reader.add(f["resource_group"], "azure.resource_group",
                       "is not a resource group name (1 to 90 letters, digits, _, -, ., ( and ), not ending in .; got \"\(group)\")")
        }
        guard let subscription, let group, reader.issues.count == before else { return nil }
        return AzureLocation(subscription: subscription.lowercased(), resourceGroup: group).id
    }

    public func traffic(_ reader: inout FileReader, _ mapping: Node.Mapping, location: String?) -> DeploymentSpec.Traffic? {
        let f = reader.fields(mapping, at: "traffic", required: ["traffic_manager"])
        let before = reader.issues.count
        let settle = reader.settle(f["settle"])
        guard let m = reader.mapping(f["traffic_manager"], "traffic.traffic_manager") else { return nil }
        let t = reader.fields(m, at: "traffic.traffic_manager", required: ["profile", "endpoints"])
        let profile = reader.string(t["profile"], "traffic.traffic_manager.profile")
        if let profile, FileReader.captures(profile, Self.profilePattern) == nil {
            reader.add(t["profile"], "traffic.traffic_manager.profile",
                       "is not a Traffic Manager profile name (1 to 63 letters, digits, _, - and ., starting and ending with a letter or digit; got \"\(profile)\")")
        }
        var endpoints: [String] = []
        if let items = reader.sequence(t["endpoints"], "traffic.traffic_manager.endpoints") {
            for (index, item) in items.enumerated() {
                let key = "traffic.traffic_manager.endpoints[\(index + 1)]"
                guard let name = reader.string(item, key) else { continue }
                if name.contains("/") || name.count > 260 {
                    reader.add(item, key, "is not an endpoint's name (its last path segment, at most 260 characters, no /; got \"\(name)\")")
                } else if endpoints.contains(name) {
                    reader.add(item, key, "endpoint \(name) is listed twice: blue and green are two endpoints, one per stack")
                }
                endpoints.append(name)
            }
            if items.count != 2 {
                reader.add(t["endpoints"], "traffic.traffic_manager.endpoints",
                           "must name exactly two endpoints of the profile, one per stack (blue's and green's; got \(items.count))")
            }
        }
        guard let profile, endpoints.count == 2, reader.issues.count == before else { return nil }
        return DeploymentSpec.Traffic(trafficManager: .init(profile: profile, endpoints: endpoints), settle: settle)
    }

    public func fleet(_ reader: inout FileReader, _ node: Node?) -> DeploymentSpec.Fleet? {
        // `fleet` is required (`requiredKeys`): its absence is reported there.
        guard let node, let m = reader.mapping(node, "fleet") else { return nil }
        let f = reader.fields(m, at: "fleet", required: ["scale_set"])
        let before = reader.issues.count
        let name = reader.string(f["scale_set"], "fleet.scale_set")
        if let name, FileReader.captures(name, Self.scaleSetPattern) == nil {
            reader.add(f["scale_set"], "fleet.scale_set",
                       "is not a scale set name (1 to 64 letters, digits, _, - and ., starting with a letter or digit, not ending in . or -; got \"\(name)\")")
        }
        var fleet = DeploymentSpec.Fleet(blueGroupName: name)
        if f["capacity_timeout"] != nil {
            fleet.capacityTimeout = reader.duration(f["capacity_timeout"], "fleet.capacity_timeout", positive: true) ?? fleet.capacityTimeout
        }
        guard name != nil, reader.issues.count == before else { return nil }
        return fleet
    }

    public func checks(_ reader: inout FileReader, _ f: [String: Node], into checks: inout DeploymentSpec.Checks) {}

    public func testRouteForward(_ reader: inout FileReader, _ f: [String: Node], key: String) -> String? { nil }

    public func crossCheck(_ reader: inout FileReader, top: [String: Node], traffic: DeploymentSpec.Traffic, checks: DeploymentSpec.Checks) {}
}

/// A resource group as the release's location (`DeploymentSpec.region` holds its id).
public struct AzureLocation: Sendable, Hashable {
    public var subscription: String
    public var resourceGroup: String

    public init(subscription: String, resourceGroup: String) {
        self.subscription = subscription
        self.resourceGroup = resourceGroup
    }

    /// `/subscriptions/SUB/resourceGroups/RG`: the prefix of every resource id the release names.
    public var id: String { "/subscriptions/\(subscription)/resourceGroups/\(resourceGroup)" }

    /// The location a spec's `region` holds, nil when it is not a resource group's id.
    public init?(id: String) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1].lowercased() == "subscriptions", parts[3].lowercased() == "resourcegroups",
              !parts[2].isEmpty, !parts[4].isEmpty else { return nil }
        self.init(subscription: String(parts[2]), resourceGroup: String(parts[4]))
    }
}
