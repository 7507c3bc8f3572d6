import Foundation

/// A scale set's autoscale setting (`Microsoft.Insights/autoscaleSettings`, api-version pinned): what a release pins on
/// blue and copies to green, as `pinBlue` and `copyToGreen` do for an Auto Scaling group's policies.
///
/// Pinning raises each profile's `capacity.minimum` to the capacity blue has (as an Auto Scaling group's MinSize is
/// raised to its desired capacity): while traffic moves, the autoscaler may still scale blue out, never in below what
/// serves. Each profile's minimum and default as they were are kept (`floors`) so the pin is undone exactly. Green's copy is blue's setting with
/// its name and target changed, every rule that reads blue's own metrics reading green's, and `enabled: false` until
/// green is released (promotion), so nothing scales green while it is judged.
public struct AutoscaleSetting: Sendable, Equatable {
    public static let apiVersion = "2022-10-01"

    /// The setting's resource id.
    public var id: String
    public var name: String
    /// `properties.targetResourceUri`.
    public var target: String
    public var enabled: Bool
    /// Each profile's name and capacity, in the setting's order.
    public var profiles: [Profile]
    /// The setting as ARM answered it (JSON), from which every body below is made.
    public var document: Data

    public struct Profile: Sendable, Equatable {
        public var name: String
        public var minimum: Int
        public var maximum: Int
        public var `default`: Int
    }

    /// Reads one setting's ARM document. Capacities are strings in ARM's model; one that is not an integer is an error
    /// naming the setting and the profile.
    public init(document: Data) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: document)) as? [String: Any],
              let id = object["id"] as? String, let properties = object["properties"] as? [String: Any] else {
            throw AutoscaleSettingError(setting: "?", problem: "the answer is not an autoscale setting (no id or properties)")
        }
        self.id = id
        self.name = object["name"] as? String ?? id.split(separator: "/").last.map(String.init) ?? id
        self.target = properties["targetResourceUri"] as? String ?? ""
        self.enabled = properties["enabled"] as? Bool ?? true
        self.document = document
        var profiles: [Profile] = []
        for (index, raw) in (properties["profiles"] as? [[String: Any]] ?? []).enumerated() {
            let capacity = raw["capacity"] as? [String: Any] ?? [:]
            func number(_ key: String) throws -> Int {
                guard let value = Self.integer(capacity[key]) else {
                    throw AutoscaleSettingError(setting: id, problem: "profiles[\(index)].capacity.\(key) is not an integer (\(capacity[key].map { "\($0)" } ?? "missing"))")
                }
                return value
            }
            profiles.append(Profile(name: raw["name"] as? String ?? "profile \(index)", minimum: try number("minimum"),
                                    maximum: try number("maximum"), default: try number("default")))
        }
        self.profiles = profiles
    }

    static func integer(_ value: Any?) -> Int? {
        if let text = value as? String { return Int(text) }
        if let number = value as? Int { return number }
        return nil
    }

    /// Whether the setting targets this resource (ARM compares resource ids without regard to case).
    public func targets(_ resourceId: String) -> Bool { target.lowercased() == resourceId.lowercased() }

    /// A profile's lower bound and default: what a pin raises and its undoing puts back.
    public struct Floor: Sendable, Hashable, Codable {
        public var minimum: Int
        public var `default`: Int

        public init(minimum: Int, default: Int) {
            self.minimum = minimum
            self.default = `default`
        }
    }

    /// Each profile's floor as the setting has it: what a release records before it pins, for `unpinned(floors:)`.
    public var floors: [Floor] { profiles.map { Floor(minimum: $0.minimum, default: $0.default) } }

    /// The PUT body that keeps blue at `capacity` or more: each profile's minimum raised to it (never above its
    /// maximum), its default raised with it. Nil when every profile already holds it (nothing to write).
    public func pinned(atLeast capacity: Int) throws -> Data? {
        let raised = profiles.map { p -> Floor in
            let low = min(max(p.minimum, capacity), p.maximum)
            return Floor(minimum: low, default: min(max(p.default, low), p.maximum))
        }
        return raised == floors ? nil : try body(floors: raised, enabled: enabled)
    }

    /// The PUT body that gives each profile its recorded floor back (the pin undone); nil when they stand already.
    /// A setting whose profiles changed in number meanwhile is not guessed at: an error naming it.
    public func unpinned(floors recorded: [Floor]) throws -> Data? {
        guard recorded.count == profiles.count else {
            throw AutoscaleSettingError(setting: id, problem: "its profiles changed during the release (\(recorded.count) recorded, \(profiles.count) now); its minimums are left as they are")
        }
        let restored = zip(recorded, profiles).map { floor, p in Floor(minimum: min(floor.minimum, p.maximum), default: min(max(floor.default, floor.minimum), p.maximum)) }
        return restored == floors ? nil : try body(floors: restored, enabled: enabled)
    }

    /// Green's copy: blue's setting under `name`, targeting `greenScaleSet`, each rule that reads blue's own metrics
    /// (`metricTrigger.metricResourceUri` = blue) reading green's, disabled until green is released.
    public func greenCopy(name: String, greenScaleSet: String) throws -> Data {
        var copy = try writable()
        var properties = copy["properties"] as? [String: Any] ?? [:]
        properties["name"] = name
        properties["targetResourceUri"] = greenScaleSet
        properties["enabled"] = false
        properties["profiles"] = (properties["profiles"] as? [[String: Any]] ?? []).map { profile in
            var profile = profile
            profile["rules"] = (profile["rules"] as? [[String: Any]] ?? []).map { rule in
                var rule = rule
                if var trigger = rule["metricTrigger"] as? [String: Any], let source = trigger["metricResourceUri"] as? String, targets(source) {
                    trigger["metricResourceUri"] = greenScaleSet
                    rule["metricTrigger"] = trigger
                }
                return rule
            }
            return profile
        }
        copy["properties"] = properties
        return try JSONSerialization.data(withJSONObject: copy, options: [.sortedKeys])
    }

    /// The body that turns green's copy on (its release at promotion): the copy as it is, enabled.
    public func enabledBody() throws -> Data { try body(floors: floors, enabled: true) }

    /// The setting as a PUT carries it: what ARM computes or reports (id, name, type, etag, systemData) left out.
    private func writable() throws -> [String: Any] {
        guard var object = try JSONSerialization.jsonObject(with: document) as? [String: Any] else { return [:] }
        for key in ["id", "name", "type", "etag", "systemData"] { object.removeValue(forKey: key) }
        return object
    }

    func body(floors: [Floor], enabled: Bool) throws -> Data {
        var object = try writable()
        var properties = object["properties"] as? [String: Any] ?? [:]
        var profiles = properties["profiles"] as? [[String: Any]] ?? []
        for index in profiles.indices where index < floors.count {
            var capacity = profiles[index]["capacity"] as? [String: Any] ?? [:]
            capacity["minimum"] = String(floors[index].minimum)
            capacity["default"] = String(floors[index].default)
            profiles[index]["capacity"] = capacity
        }
        properties["profiles"] = profiles
        properties["enabled"] = enabled
        object["properties"] = properties
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// The one setting of a resource group that targets `scaleSet`, every page of the listing read; nil when none
    /// does. Two that target it is an error: which one scales it would be Azure's choice, not the release's.
    public static func find(_ arm: ARMClient, resourceGroup: String, target scaleSet: String) async throws -> AutoscaleSetting? {
        var found: [AutoscaleSetting] = []
        for page in try await arm.pages(resourceGroup + "/providers/Microsoft.Insights/autoscalesettings", apiVersion: apiVersion) {
            let object = (try? JSONSerialization.jsonObject(with: page)) as? [String: Any]
            for item in object?["value"] as? [[String: Any]] ?? [] {
                let setting = try AutoscaleSetting(document: try JSONSerialization.data(withJSONObject: item))
                if setting.targets(scaleSet) { found.append(setting) }
            }
        }
        guard found.count <= 1 else {
            throw AutoscaleSettingError(setting: found.map(\.id).joined(separator: ", "),
                                        problem: "all target \(scaleSet); a release pins exactly one autoscale setting per scale set")
        }
        return found.first
    }
}

/// An autoscale setting a release cannot use as it is, with its id.
public struct AutoscaleSettingError: Error, Sendable, CustomStringConvertible, Equatable {
    public var setting: String
    public var problem: String

    public var description: String { "autoscale setting \(setting): \(problem)" }
}
