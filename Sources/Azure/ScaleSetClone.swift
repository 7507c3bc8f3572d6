import Foundation

/// Green's scale set from blue's, as ARM showed it (`GET …/virtualMachineScaleSets/{blue}`): the same SKU, zones,
/// identity, upgrade policy, network and extensions, with only the image changed and its NICs in green's stack's
/// backend pools. What ARM never returns cannot be copied and is said so (`notCopied`): `osProfile.adminPassword`,
/// `osProfile.customData`, and each extension's `protectedSettings` (`protectedSettingsFromKeyVault`, a reference,
/// is returned and copied). A release must decide on those before it creates green; this type only says them.
public struct ScaleSetClone: Sendable, Equatable {
    /// The PUT body of green's scale set, as JSON.
    public var body: Data
    /// What blue may have had that green does not get, one sentence each.
    public var notCopied: [String]

    /// Properties ARM computes: read from blue, never sent for green.
    static let readOnly = ["provisioningState", "uniqueId", "timeCreated"]
    static let topLevel = ["location", "sku", "zones", "identity", "plan", "extendedLocation", "tags"]

    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notAScaleSet(String)
        case flexible
        case noBackendPool

        public var description: String {
            switch self {
            case .notAScaleSet(let why): return "blue's scale set cannot be read as one: \(why)"
            case .flexible: return "blue's scale set is orchestrationMode Flexible: its instances are VMs of their own, and a clone of its model would not copy them; only Uniform scale sets are supported"
            case .noBackendPool: return "no IP configuration of blue's model stands in a load balancer backend pool, so green's would stand in none"
            }
        }
    }

    /// - Parameters:
    ///   - blue: blue's GET answer.
    ///   - image: the new image's id (a gallery image version or a managed image).
    ///   - computerNamePrefix: green's instances' name prefix (blue's would give two fleets the same host names).
    ///   - backendPools: green's stack's backend pool ids, replacing blue's in every IP configuration that had any.
    public init(blue: Data, image: String, computerNamePrefix: String, backendPools: [String], tags: [String: String] = [:]) throws {
        guard let model = (try? JSONSerialization.jsonObject(with: blue)) as? [String: Any],
              var properties = model["properties"] as? [String: Any],
              var vmProfile = properties["virtualMachineProfile"] as? [String: Any] else {
            throw Problem.notAScaleSet("no properties.virtualMachineProfile")
        }
        if (properties["orchestrationMode"] as? String)?.lowercased() == "flexible" { throw Problem.flexible }
        var notCopied: [String] = []
        for key in Self.readOnly { properties[key] = nil }
        var storage = vmProfile["storageProfile"] as? [String: Any] ?? [:]
        storage["imageReference"] = ["id": image]
        vmProfile["storageProfile"] = storage
        var os = vmProfile["osProfile"] as? [String: Any] ?? [:]
        os["computerNamePrefix"] = computerNamePrefix
        let windows = os["windowsConfiguration"] != nil
        let passwordOff = ((os["linuxConfiguration"] as? [String: Any])?["disablePasswordAuthentication"] as? Bool) == true
        if windows || !passwordOff {
            notCopied.append("osProfile.adminPassword: ARM never returns it; blue's may not be known")
        }
        notCopied.append("osProfile.customData: ARM never returns it; if blue's instances boot with it, green's would not")
        vmProfile["osProfile"] = os
        var network = vmProfile["networkProfile"] as? [String: Any] ?? [:]
        var pooled = false
        network["networkInterfaceConfigurations"] = (network["networkInterfaceConfigurations"] as? [[String: Any]] ?? []).map { nic in
            var nic = nic
            var nicProps = nic["properties"] as? [String: Any] ?? [:]
            nicProps["ipConfigurations"] = (nicProps["ipConfigurations"] as? [[String: Any]] ?? []).map { ip in
                var ip = ip
                var ipProps = ip["properties"] as? [String: Any] ?? [:]
                if let pools = ipProps["loadBalancerBackendAddressPools"] as? [Any], !pools.isEmpty {
                    ipProps["loadBalancerBackendAddressPools"] = backendPools.map { ["id": $0] }
                    pooled = true
                }
                ip["properties"] = ipProps
                return ip
            }
            nic["properties"] = nicProps
            return nic
        }
        guard pooled, !backendPools.isEmpty else { throw Problem.noBackendPool }
        vmProfile["networkProfile"] = network
        if var extensions = vmProfile["extensionProfile"] as? [String: Any], let list = extensions["extensions"] as? [[String: Any]] {
            extensions["extensions"] = list.map { ext -> [String: Any] in
                var ext = ext
                var extProps = ext["properties"] as? [String: Any] ?? [:]
                extProps["provisioningState"] = nil
                if extProps["protectedSettingsFromKeyVault"] == nil {
                    notCopied.append("extension \(ext["name"] as? String ?? "?"): its protectedSettings, if it has any: ARM never returns them (a Key Vault reference would be copied)")
                }
                ext["properties"] = extProps
                ext["id"] = nil
                return ext
            }
            vmProfile["extensionProfile"] = extensions
        }
        properties["virtualMachineProfile"] = vmProfile
        var out: [String: Any] = ["properties": properties]
        for key in Self.topLevel { if let value = model[key] { out[key] = value } }
        if var identity = out["identity"] as? [String: Any] {
            identity["principalId"] = nil
            identity["tenantId"] = nil
            if let users = identity["userAssignedIdentities"] as? [String: Any] {
                identity["userAssignedIdentities"] = Dictionary(uniqueKeysWithValues: users.keys.map { ($0, [String: Any]()) })
            }
            out["identity"] = identity
        }
        if !tags.isEmpty {
            out["tags"] = (out["tags"] as? [String: Any] ?? [:]).merging(tags) { _, new in new }
        }
        body = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes])
        self.notCopied = notCopied
    }
}
