import Foundation

/// One instance of a Uniform scale set as ARM shows it with its instance view (`virtualMachines?$expand=instanceView`):
/// its provisioning state, its power state, and, where the Application Health extension runs, the health it reports.
public struct ScaleSetMember: Sendable, Equatable {
    /// What the Application Health extension reports (`instanceView.vmHealth.status.code`, `HealthState/<state>`).
    public enum Health: String, Sendable, Equatable {
        case healthy, unhealthy, unknown, initializing
    }

    public var instanceId: String
    /// `properties.provisioningState` as ARM writes it: `Succeeded`, `Creating`, `Updating`, `Deleting`, `Failed`, …
    public var provisioningState: String
    /// The instance view's `PowerState/<state>`: `running`, `starting`, `stopping`, `stopped`, `deallocated`, …; nil
    /// when the view names none.
    public var powerState: String?
    /// The Application Health extension's report; nil when the scale set has none (then nothing but provisioning and
    /// power says the instance serves).
    public var health: Health?
    /// `properties.latestModelApplied`: the instance runs the scale set's current model.
    public var latestModelApplied: Bool
    /// The image it was built from (`storageProfile.imageReference.id`), when ARM names one.
    public var imageId: String?

    public init(instanceId: String, provisioningState: String, powerState: String?, health: Health?, latestModelApplied: Bool, imageId: String?) {
        self.instanceId = instanceId
        self.provisioningState = provisioningState
        self.powerState = powerState
        self.health = health
        self.latestModelApplied = latestModelApplied
        self.imageId = imageId
    }

    /// Ready to serve: provisioned, running, and, where the Application Health extension runs, reported healthy
    /// (`initializing` is its grace period and `unknown` a probe it could not read: neither is a yes).
    public var inService: Bool {
        provisioningState.lowercased() == "succeeded" && powerState == "running" && (health == nil || health == .healthy)
    }

    /// Evidence against it: its provisioning failed, or the extension reports it unhealthy. An instance still being
    /// created is neither in service nor failing.
    public var failing: Bool { provisioningState.lowercased() == "failed" || health == .unhealthy }

    /// How it stands, for messages: `0 running healthy`, `3 Creating`.
    public var summary: String {
        if provisioningState.lowercased() != "succeeded" { return "\(instanceId) \(provisioningState)" }
        return ([instanceId, powerState ?? "no power state"] + (health.map { [$0.rawValue] } ?? [])).joined(separator: " ")
    }
}

/// A scale set's instances, read in one listing (every page of it), and what they add up to.
public struct ScaleSetCapacity: Sendable, Equatable {
    public var members: [ScaleSetMember]

    public init(members: [ScaleSetMember]) { self.members = members }

    public var inService: Int { members.filter(\.inService).count }
    public var failing: [ScaleSetMember] { members.filter(\.failing) }
    /// Instances not on the scale set's current model (an update not rolled to them yet).
    public var outdated: [ScaleSetMember] { members.filter { !$0.latestModelApplied } }

    /// `2/3 in service (2 running healthy, 1 Creating)`: counts by how each stands, in instance order.
    public var summary: String {
        var counts: [(String, Int)] = []
        for member in members {
            let how = member.summary.split(separator: " ").dropFirst().joined(separator: " ")
            if let at = counts.firstIndex(where: { $0.0 == how }) { counts[at].1 += 1 } else { counts.append((how, 1)) }
        }
        let parts = counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        return "\(inService)/\(members.count) in service" + (parts.isEmpty ? "" : " (\(parts))")
    }
}

/// Reads a scale set's instances with their instance views (api-version pinned for `Microsoft.Compute`).
public enum ScaleSetMembers {
    public static let apiVersion = "2026-04-01"

    /// Every instance of the scale set `id` (`/subscriptions/…/virtualMachineScaleSets/NAME`), every page followed.
    public static func read(_ arm: ARMClient, scaleSet id: String) async throws -> ScaleSetCapacity {
        let pages = try await arm.pages(id + "/virtualMachines", apiVersion: apiVersion, query: [URLQueryItem(name: "$expand", value: "instanceView")])
        var members: [ScaleSetMember] = []
        for page in pages { members += try parse(page: page, scaleSet: id) }
        return ScaleSetCapacity(members: members.sorted { (Int($0.instanceId) ?? .max, $0.instanceId) < (Int($1.instanceId) ?? .max, $1.instanceId) })
    }

    /// The same, or nil when ARM answers that the scale set is not there.
    public static func readIfPresent(_ arm: ARMClient, scaleSet id: String) async throws -> ScaleSetCapacity? {
        do { return try await read(arm, scaleSet: id) } catch let error as ARMError where error.status == 404 { return nil }
    }

    /// One page's `value`: each instance as `ScaleSetMember`. An instance ARM answers without an id or a provisioning
    /// state is an error naming the scale set, not an instance counted as anything.
    public static func parse(page: Data, scaleSet id: String) throws -> [ScaleSetMember] {
        guard let object = (try? JSONSerialization.jsonObject(with: page)) as? [String: Any], let value = object["value"] as? [[String: Any]] else {
            throw ScaleSetReadError(scaleSet: id, problem: "the instance listing is not an object with a value list")
        }
        return try value.map { vm in
            let properties = vm["properties"] as? [String: Any] ?? [:]
            guard let instanceId = vm["instanceId"] as? String, let provisioning = properties["provisioningState"] as? String else {
                throw ScaleSetReadError(scaleSet: id, problem: "an instance without instanceId or provisioningState: \(vm["id"] as? String ?? "no id")")
            }
            let view = properties["instanceView"] as? [String: Any] ?? [:]
            let codes = (view["statuses"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            let power = codes.first { $0.hasPrefix("PowerState/") }.map { String($0.dropFirst("PowerState/".count)) }
            let healthCode = ((view["vmHealth"] as? [String: Any])?["status"] as? [String: Any])?["code"] as? String
            let health = healthCode.flatMap { code in
                code.lowercased().hasPrefix("healthstate/") ? ScaleSetMember.Health(rawValue: String(code.dropFirst("HealthState/".count)).lowercased()) : nil
            }
            if let healthCode, health == nil {
                throw ScaleSetReadError(scaleSet: id, problem: "instance \(instanceId) reports health \(healthCode), which is none of the Application Health extension's states")
            }
            let image = ((properties["storageProfile"] as? [String: Any])?["imageReference"] as? [String: Any])?["id"] as? String
            return ScaleSetMember(instanceId: instanceId, provisioningState: provisioning, powerState: power, health: health,
                                  latestModelApplied: properties["latestModelApplied"] as? Bool ?? false, imageId: image)
        }
    }
}

/// A scale set's instance listing that cannot be read as one (a malformed answer), with the scale set's id.
public struct ScaleSetReadError: Error, Sendable, CustomStringConvertible, Equatable {
    public var scaleSet: String
    public var problem: String

    public var description: String { "scale set \(scaleSet): \(problem)" }
}
