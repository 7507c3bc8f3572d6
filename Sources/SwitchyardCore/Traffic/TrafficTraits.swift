import Foundation

/// What a traffic backend is and can do, as the pure core needs to know it: decided once, from which section the
/// deployment file's `traffic:` names, so neither the machine nor the commands ask "is this Route 53?" again.
///
/// The provider that owns a backend registers its traits (`TrafficBackends.register`); the orchestrator's
/// `TrafficRouter` for the same backend returns the same traits.
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
    /// Blue and green stand in one pool and the split is their instance counts: a step is scaled to, not written, so
    /// it is reached over several looks (`Event.splitProgressing`), and a fleet leaves by its own instances'
    /// deregistration rather than by a forward that no longer sends it anything.
    public var splitByCounts: Bool = false
    /// What carries the split, in messages ("listener", "Route 53 records").
    public var splitName: String
    /// What the fence's tag sits on, in messages ("the listener is").
    public var fencedName: String
    /// Where a person finds who changed the split by hand, for the pause's message (AWS: CloudTrail's events).
    public var changeAudit: String?

    public init(kind: TrafficBackendKind, settlesByTTL: Bool, hasTestRoute: Bool, testRouteRefusal: String? = nil, pairRefusal: String? = nil,
                splitByCounts: Bool = false, splitName: String, fencedName: String, changeAudit: String? = nil) {
        self.changeAudit = changeAudit
        self.kind = kind
        self.settlesByTTL = settlesByTTL
        self.hasTestRoute = hasTestRoute
        self.testRouteRefusal = testRouteRefusal
        self.pairRefusal = pairRefusal
        self.splitByCounts = splitByCounts
        self.splitName = splitName
        self.fencedName = fencedName
    }
}

/// A traffic backend's name: the key of its section under the file's `traffic:` (`route53`, `shared`), or the name
/// of the provider's backend for a `traffic:` without a section. The core knows none by name; providers declare
/// theirs (`extension TrafficBackendKind { static let … }`) and register them (`TrafficBackends.register`).
public struct TrafficBackendKind: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// Everything the core asks of a backend it cannot know: its traits, where its settings sit in a record, and how
/// its pools and settings read in sentences and hooks. One per backend, registered by the provider that owns it.
public struct TrafficBackend: Sendable {
    public var traits: TrafficTraits
    /// The key of the record's `traffic` object that holds this backend's settings (`route53`); nil for the one
    /// backend of a provider whose settings are top-level keys there (the record written before sections existed).
    public var recordSection: String?
    /// A pool id with its kind, for sentences ("target group ARN", "Classic Load Balancer NAME").
    public var poolNamed: @Sendable (String) -> String
    /// A pool id as a person reads it in a list ("ARN", "Classic Load Balancer NAME").
    public var poolDisplay: @Sendable (String) -> String
    /// Variables a hook gets beyond the core's, and the core's it overrides (empty by default).
    public var hookEnvironment: @Sendable (DeploymentSpec.Traffic) -> [String: String]
    /// The record format a release on this traffic needs (`Deployment.recordFormat`): nil when any switchyard reads it.
    public var recordFormat: @Sendable (DeploymentSpec.Traffic) -> Int?

    public init(traits: TrafficTraits, recordSection: String?, poolNamed: @escaping @Sendable (String) -> String = { "pool \($0)" },
                poolDisplay: @escaping @Sendable (String) -> String = { $0 },
                hookEnvironment: @escaping @Sendable (DeploymentSpec.Traffic) -> [String: String] = { _ in [:] },
                recordFormat: @escaping @Sendable (DeploymentSpec.Traffic) -> Int? = { _ in nil }) {
        self.traits = traits
        self.recordSection = recordSection
        self.poolNamed = poolNamed
        self.poolDisplay = poolDisplay
        self.hookEnvironment = hookEnvironment
        self.recordFormat = recordFormat
    }

    public var kind: TrafficBackendKind { traits.kind }
}

/// The registered traffic backends: each provider registers its own once, before a file is read or a record
/// decoded (the CLI at start, a test suite in its support). Registering a kind again replaces it.
public enum TrafficBackends {
    private static let table = Registry<TrafficBackendKind, TrafficBackend>()

    public static func register(_ backend: TrafficBackend) { table.register(backend, as: backend.kind) }

    /// Every registered backend, by kind name.
    public static var all: [TrafficBackend] { table.values.sorted { $0.kind.rawValue < $1.kind.rawValue } }

    /// The backend of a kind; a kind nobody registered stops the process (a switchyard built without the provider
    /// that wrote the record must not guess how its traffic moves).
    public static func backend(_ kind: TrafficBackendKind) -> TrafficBackend {
        guard let backend = table[kind] else { preconditionFailure("no traffic backend \(kind) is registered (its provider registers it at start)") }
        return backend
    }

    /// The backend whose settings a record's `traffic` holds: the one whose section key is there, else the one
    /// registered without a section.
    static func backend(of settings: [String: JSONValue]) -> TrafficBackend {
        let backends = table.values
        if let sectioned = backends.first(where: { $0.recordSection.map { settings[$0] != nil } ?? false }) { return sectioned }
        guard let plain = backends.first(where: { $0.recordSection == nil }) else {
            preconditionFailure("no traffic backend is registered (its provider registers it at start)")
        }
        return plain
    }
}

extension DeploymentSpec.Traffic {
    /// Which backend carries this traffic: the one decision, from the section the file named (and the record keeps).
    public var kind: TrafficBackendKind { backend.kind }

    public var backend: TrafficBackend { TrafficBackends.backend(of: settings) }

    public var traits: TrafficTraits { backend.traits }

    /// A pool id with its kind, for sentences.
    public func poolNamed(_ pool: String) -> String { backend.poolNamed(pool) }

    /// A pool id as a person reads it in a list.
    public func poolDisplay(_ pool: String) -> String { backend.poolDisplay(pool) }
}
