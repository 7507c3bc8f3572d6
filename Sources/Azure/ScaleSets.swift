import Foundation
import HTTP

/// A Uniform scale set's model as a release reads it (`GET …/virtualMachineScaleSets/{name}`): its size, image, the
/// backend pools its NICs join and its tags, with the whole answer kept for green's clone (`ScaleSetClone`).
public struct ScaleSetModel: Sendable, Equatable {
    public var id: String
    public var name: String
    /// `sku.capacity`: the instances it keeps.
    public var capacity: Int
    /// `storageProfile.imageReference.id`, when the model names an image by id.
    public var image: String?
    /// Every load balancer backend pool an IP configuration of the model joins.
    public var backendPools: [String]
    public var tags: [String: String]
    /// `properties.provisioningState`: `Succeeded`, `Creating`, `Updating`, `Failed`, `Deleting`, …
    public var provisioningState: String
    /// Its region as ARM names it (`westeurope`).
    public var location: String?
    /// The GET answer as ARM gave it.
    public var document: Data

    public init(document: Data) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: document)) as? [String: Any], let id = object["id"] as? String,
              let properties = object["properties"] as? [String: Any] else {
            throw ScaleSetReadError(scaleSet: "?", problem: "the answer is not a scale set (no id or properties)")
        }
        self.id = id
        name = object["name"] as? String ?? id.split(separator: "/").last.map(String.init) ?? id
        capacity = ((object["sku"] as? [String: Any])?["capacity"] as? NSNumber)?.intValue ?? 0
        tags = object["tags"] as? [String: String] ?? [:]
        location = object["location"] as? String
        provisioningState = properties["provisioningState"] as? String ?? "Succeeded"
        let profile = properties["virtualMachineProfile"] as? [String: Any] ?? [:]
        image = (((profile["storageProfile"] as? [String: Any])?["imageReference"]) as? [String: Any])?["id"] as? String
        var pools: [String] = []
        let nics = ((profile["networkProfile"] as? [String: Any])?["networkInterfaceConfigurations"] as? [[String: Any]]) ?? []
        for nic in nics {
            for ip in ((nic["properties"] as? [String: Any])?["ipConfigurations"] as? [[String: Any]]) ?? [] {
                for pool in ((ip["properties"] as? [String: Any])?["loadBalancerBackendAddressPools"] as? [[String: Any]]) ?? [] {
                    if let id = pool["id"] as? String, !pools.contains(where: { $0.lowercased() == id.lowercased() }) { pools.append(id) }
                }
            }
        }
        backendPools = pools
        self.document = document
    }

    /// Whether the model's NICs join this backend pool (ARM compares ids without regard to case).
    public func joins(_ pool: String) -> Bool { backendPools.contains { $0.lowercased() == pool.lowercased() } }
}

/// Scale sets' ARM calls (api-version pinned for `Microsoft.Compute/virtualMachineScaleSets`).
public enum ScaleSets {
    public static let apiVersion = ScaleSetMembers.apiVersion

    /// The scale set `id`, or nil when ARM answers that it is not there.
    public static func get(_ arm: ARMClient, _ id: String) async throws -> ScaleSetModel? {
        do {
            return try ScaleSetModel(document: try await arm.send("GET", id, apiVersion: apiVersion).body)
        } catch let error as ARMError where error.status == 404 {
            return nil
        }
    }

    /// Every scale set of a resource group (`/subscriptions/…/resourceGroups/RG`), every page read.
    public static func list(_ arm: ARMClient, resourceGroup: String) async throws -> [ScaleSetModel] {
        var out: [ScaleSetModel] = []
        for page in try await arm.pages(resourceGroup + "/providers/Microsoft.Compute/virtualMachineScaleSets", apiVersion: apiVersion) {
            let object = (try? JSONSerialization.jsonObject(with: page)) as? [String: Any]
            for item in object?["value"] as? [[String: Any]] ?? [] {
                out.append(try ScaleSetModel(document: try JSONSerialization.data(withJSONObject: item)))
            }
        }
        return out
    }

    /// Creates (or replaces) a scale set with a PUT and returns at ARM's first answer: its instances come up in the
    /// operation ARM started, which the release follows by reading them (`ScaleSetMembers`), not by holding a poll.
    public static func put(_ arm: ARMClient, _ id: String, body: Data) async throws {
        _ = try await arm.send("PUT", id, apiVersion: apiVersion, body: body)
    }

    /// Sets tags on a scale set with a PATCH of its tags (the others sent as they were read, so a service that replaces
    /// tags wholesale keeps them), followed to its end within `deadline`.
    public static func tag(_ arm: ARMClient, _ id: String, keeping current: [String: String], set: [String: String], deadline: TimeInterval = 120) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["tags": current.merging(set) { _, new in new }], options: [.sortedKeys])
        _ = try await arm.sendAndWait("PATCH", id, apiVersion: apiVersion, body: body, deadline: deadline)
    }

    /// Deletes a scale set and waits until ARM says the deletion is over; one already gone is done.
    public static func delete(_ arm: ARMClient, _ id: String, deadline: TimeInterval = 30 * 60) async throws {
        do {
            _ = try await arm.sendAndWait("DELETE", id, apiVersion: apiVersion, deadline: deadline)
        } catch let error as ARMError where error.status == 404 {
            return
        }
    }
}

/// A load balancer as a release reads it: the public IPs of its frontends and its backend pools, so a Traffic
/// Manager endpoint (which targets a public IP) can be followed to the pools of the stack it fronts.
public struct LoadBalancerView: Sendable, Equatable {
    public var id: String
    public var frontendPublicIPs: [String]
    public var backendPools: [String]

    public init(id: String, frontendPublicIPs: [String], backendPools: [String]) {
        self.id = id
        self.frontendPublicIPs = frontendPublicIPs
        self.backendPools = backendPools
    }

    public static let apiVersion = "2026-03-01"

    /// Every load balancer of a resource group, every page read.
    public static func list(_ arm: ARMClient, resourceGroup: String) async throws -> [LoadBalancerView] {
        var out: [LoadBalancerView] = []
        for page in try await arm.pages(resourceGroup + "/providers/Microsoft.Network/loadBalancers", apiVersion: apiVersion) {
            let object = (try? JSONSerialization.jsonObject(with: page)) as? [String: Any]
            for item in object?["value"] as? [[String: Any]] ?? [] {
                guard let id = item["id"] as? String else { continue }
                let properties = item["properties"] as? [String: Any] ?? [:]
                let ips = (properties["frontendIPConfigurations"] as? [[String: Any]] ?? []).compactMap {
                    (($0["properties"] as? [String: Any])?["publicIPAddress"] as? [String: Any])?["id"] as? String
                }
                let pools = (properties["backendAddressPools"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                out.append(LoadBalancerView(id: id, frontendPublicIPs: ips, backendPools: pools))
            }
        }
        return out
    }

    /// Whether one of its frontends is this public IP.
    public func fronts(_ publicIP: String) -> Bool { frontendPublicIPs.contains { $0.lowercased() == publicIP.lowercased() } }
}

extension AutoscaleSetting {
    /// Writes a setting (a PUT of one of the bodies above); synchronous in Azure.
    public static func put(_ arm: ARMClient, id: String, body: Data) async throws -> AutoscaleSetting {
        try AutoscaleSetting(document: try await arm.send("PUT", id, apiVersion: apiVersion, body: body).body)
    }

    /// The setting `id`, or nil when it is not there.
    public static func get(_ arm: ARMClient, id: String) async throws -> AutoscaleSetting? {
        do {
            return try AutoscaleSetting(document: try await arm.send("GET", id, apiVersion: apiVersion).body)
        } catch let error as ARMError where error.status == 404 {
            return nil
        }
    }

    /// Deletes a setting; one already gone is done.
    public static func delete(_ arm: ARMClient, id: String) async throws {
        do {
            _ = try await arm.send("DELETE", id, apiVersion: apiVersion)
        } catch let error as ARMError where error.status == 404 {
            return
        }
    }

    /// Green's copy turned on at its release, with blue's floors from before the pin: the body that gives green blue's
    /// own scaling.
    public func released(floors recorded: [Floor]) throws -> Data {
        let restored = zip(recorded, profiles).map { floor, p in Floor(minimum: min(floor.minimum, p.maximum), default: min(max(floor.default, floor.minimum), p.maximum)) }
        return try body(floors: restored.count == profiles.count ? restored : floors, enabled: true)
    }
}

/// A public IP address as a release reads it: what an `externalEndpoints` endpoint's host names (its FQDN or its
/// address) leads to, and from there the load balancer whose frontend it is.
public struct PublicIPView: Sendable, Equatable {
    public var id: String
    public var fqdn: String?
    public var address: String?

    public init(id: String, fqdn: String?, address: String?) {
        self.id = id
        self.fqdn = fqdn
        self.address = address
    }

    /// Every public IP address of a resource group, every page read.
    public static func list(_ arm: ARMClient, resourceGroup: String) async throws -> [PublicIPView] {
        var out: [PublicIPView] = []
        for page in try await arm.pages(resourceGroup + "/providers/Microsoft.Network/publicIPAddresses", apiVersion: LoadBalancerView.apiVersion) {
            let object = (try? JSONSerialization.jsonObject(with: page)) as? [String: Any]
            for item in object?["value"] as? [[String: Any]] ?? [] {
                guard let id = item["id"] as? String else { continue }
                let properties = item["properties"] as? [String: Any] ?? [:]
                out.append(PublicIPView(id: id, fqdn: (properties["dnsSettings"] as? [String: Any])?["fqdn"] as? String,
                                        address: properties["ipAddress"] as? String))
            }
        }
        return out
    }

    /// Whether a host (an FQDN, with or without its final dot, or an address) names this public IP.
    public func answers(_ host: String) -> Bool {
        let wanted = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return fqdn.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) == wanted } == true || address == wanted
    }
}
