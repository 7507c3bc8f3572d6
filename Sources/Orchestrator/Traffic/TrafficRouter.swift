import Foundation
import SwitchyardCore

/// Where a service's traffic is split between blue and green: the one seam every traffic backend implements.
///
/// One implementation per provider, as Argo Rollouts has one traffic-routing reconciler per mesh or load balancer:
/// `ALBTrafficRouter` moves the forward actions of ALB listeners and rules; `Route53TrafficRouter` two weighted records;
/// `SharedTrafficRouter` reads one target group both fleets stand in, whose split is instance counts that the
/// provider's effects scale to (`TrafficTraits.splitByCounts`) rather than a weight this protocol writes.
/// `TrafficBackends` picks one, once, from the file's `traffic:` section; callers only ever use this protocol, and the
/// state machine only ever says "green at N %", never which kind of router carries it out. `TrafficConformanceTests`
/// is the suite every backend must pass.
///
/// It covers the whole life of a split: read it (`currentWeights`), set it and confirm the write (`setWeights`),
/// confirm it again later (`confirm`), find it at plan time with every forward that reaches the pair (`discover`,
/// `carried`), say when clients see a confirmed change (`settle`), name what the fence tags against another writer
/// (`fenceResources`), and offer a header route to green where the backend has one (`testRoute`).
public protocol TrafficRouter: Sendable {
    /// What this backend is and can do, as the core knows it.
    var traits: TrafficTraits { get }
    /// What is shifted, for messages: "listener arn:…", or "2 forwards (listener arn:…, listener rule arn:…)".
    var description: String { get }
    /// The ARNs (or names) of everything this router shifts, in order: they move together.
    var resources: [String] { get }
    /// The ELB resources (at most 20) that carry the fence's `switchyard:deployment` tag while a release runs: what
    /// another writer (another state file, a `--force-unlock`ed run) would have to take before it could shift them.
    var fenceResources: [String] { get }
    /// Reads every forward's split. Several forwards that disagree are reported as they are (`agreed` false).
    func currentWeights() async throws -> TrafficWeights
    /// Sends `green` percent to `greenPool` and the rest to `bluePool` on every forward, and confirms each
    /// from its write's answer (or a read when the answer lacks it). `write` says which forwards may be left unwritten
    /// because they read as there already: none for a rollback; for a step, only where the record agrees with the
    /// read (a read may be a stale one). A write
    /// that fails after others succeeded throws `TrafficError.partialWrite`: the forwards then disagree, which the
    /// next read shows, and a retry (or a rollback to blue) writes every one again.
    /// - Parameter known: the weights as this process just wrote or read them, to stand in for the read before the
    ///   write; nil reads them first.
    func setWeights(bluePool: String, greenPool: String, green: Int, stickiness: StickinessChange,
                    known: TrafficWeights?, write: WeightWrite) async throws -> TrafficWeights
    /// At plan time: the split as it stands, checked against the file (every forward to the pair named, the records as
    /// the file says), the sticky forwards, and what the backend knows of how long clients cache an answer.
    func discover(_ spec: DeploymentSpec) async throws -> TrafficDiscovery
    /// How long after a write's confirmation clients see it (the data-plane settle): the bake and the removal of a
    /// fleet the traffic left count from then.
    /// - Parameter cacheSeconds: `TrafficDiscovery.cacheSeconds` as the plan recorded it.
    func settle(_ spec: DeploymentSpec, cacheSeconds: Int?) -> TimeSpan
    /// Each watched target group's highest share on this router's forwards and on every other forward that reaches it:
    /// a group any of them sends traffic to is not to be removed.
    func carried(_ watched: [String], spec: DeploymentSpec) async throws -> [String: Int]
    /// The header route to green before it takes traffic, where the backend has one (`traits.hasTestRoute`).
    func testRoute(_ spec: DeploymentSpec) -> (any TestRoute)?
    /// Where green's probe goes, and the `Host` header it sends, for a `checks.http.url` as the file wrote it.
    func probe(_ url: String, greenPool: String) -> (url: String, hostHeader: String?)
}

/// What `TrafficRouter.discover` found at plan time.
public struct TrafficDiscovery: Sendable {
    /// The split as it stands, one entry per forward.
    public var weights: TrafficWeights
    /// Forwards (by ARN) with target-group stickiness on, and its duration in seconds.
    public var sticky: [String: Int]
    /// Seconds clients may cache an answer (the records' TTL); nil where the backend has no cache of its own.
    public var cacheSeconds: Int?
    /// Each stack's load balancer by its target group, where every stack has its own (Route 53).
    public var stackLoadBalancers: [String: String]?

    public init(weights: TrafficWeights, sticky: [String: Int] = [:], cacheSeconds: Int? = nil, stackLoadBalancers: [String: String]? = nil) {
        self.weights = weights
        self.sticky = sticky
        self.cacheSeconds = cacheSeconds
        self.stackLoadBalancers = stackLoadBalancers
    }
}

/// A header route to green (`checks.http.test_route`): made before green takes traffic, removed when the release ends.
public protocol TestRoute: Sendable {
    /// The route stands and sends the header's requests to `greenPool` only; returns its id (ALB: the rule's ARN).
    func ensure(greenPool: String, deploymentId: String) async throws -> String
    /// Removes every route of this pair, and says how many there were (none is nothing to do).
    @discardableResult
    func remove() async throws -> Int
}

/// A backend asked for something it does not have.
public enum TrafficCapabilityError: Error, Sendable, CustomStringConvertible {
    case noTestRoute(TrafficBackendKind)
    /// The backend's split is instance counts, scaled to over several looks, not a weight written in one request.
    case splitByCounts(TrafficBackendKind)

    public var description: String {
        switch self {
        case .noTestRoute(let kind): return "traffic.\(kind.rawValue) has no test route (checks.http.test_route)"
        case .splitByCounts(let kind): return "traffic.\(kind.rawValue) moves its split by instance counts, step by step, not by a weight write"
        }
    }
}

extension TrafficRouter {
    /// The file's `traffic.settle`, or the default: a backend without a cache of its own.
    public func settle(_ spec: DeploymentSpec, cacheSeconds: Int?) -> TimeSpan {
        spec.traffic.settle ?? DeploymentSpec.Traffic.defaultSettle
    }

    /// The URL as written: the backend's endpoint reaches green (a test route) or the file names green's endpoint.
    public func probe(_ url: String, greenPool: String) -> (url: String, hostHeader: String?) { (url, nil) }

    /// No header route.
    public func testRoute(_ spec: DeploymentSpec) -> (any TestRoute)? { nil }

    /// Every forward at `green` percent to `greenPool`, read and read again with backoff for up to
    /// `ReadConsistency.readBackLimit` before a forward short of it counts as a mismatch: a read right after the write
    /// may still show the step before. `retrying` is told of each read that fell short.
    public func confirm(green: Int, greenPool: String, clock: DeploymentClock,
                        retrying: (ForwardWeights, Int, TimeInterval) -> Void = { _, _, _ in }) async throws {
        let started = clock.now()
        var attempt = 0
        while true {
            let weights = try await currentWeights()
            attempt += 1
            // Every forward, not just one: green carries its share on each.
            guard let short = weights.forwards.first(where: { $0.percent[greenPool] != green }) else { return }
            guard let delay = ReadConsistency.readBackDelay(after: attempt, elapsed: clock.now().timeIntervalSince(started)) else {
                throw TrafficError.readBackMismatch(resource: short.resource, expectedGreen: green, found: short.percent)
            }
            retrying(short, attempt, delay)
            try await clock.sleep(until: clock.now().addingTimeInterval(delay))
        }
    }

    /// `setWeights` keeping stickiness as it is, reading first.
    @discardableResult
    public func setWeights(bluePool: String, greenPool: String, green: Int, known: TrafficWeights? = nil,
                           write: WeightWrite = .always) async throws -> TrafficWeights {
        try await setWeights(bluePool: bluePool, greenPool: greenPool, green: green, stickiness: .keep, known: known, write: write)
    }

    /// `setWeights` writing every forward (a rollback's rule).
    public func setWeights(bluePool: String, greenPool: String, green: Int, stickiness: StickinessChange,
                           known: TrafficWeights?) async throws -> TrafficWeights {
        try await setWeights(bluePool: bluePool, greenPool: greenPool, green: green, stickiness: stickiness, known: known, write: .always)
    }
}

/// What a weight write does to target-group stickiness.
public enum StickinessChange: Sendable, Hashable {
    /// As it is (every step of a release).
    case keep
    /// Off on every forward whose green share this write takes away: a rollback, so clients bound to green by
    /// stickiness do not stay there whatever the weights say.
    case offWhereGreenLeaves
    /// Back on, with these durations in seconds, on the forwards named (by ARN) where it is off: after a rollback,
    /// once green is gone.
    case restore([String: Int])
}

/// Every forward's split between target groups, and what they amount to together.
public struct TrafficWeights: Sendable, Equatable {
    /// One entry per forward, in the router's order.
    public var forwards: [ForwardWeights]

    public init(forwards: [ForwardWeights]) { self.forwards = forwards }

    /// Each target group's highest share over all forwards: a group "carries traffic" if any forward sends it some.
    public var percent: [String: Int] {
        var out: [String: Int] = [:]
        for forward in forwards {
            for (arn, share) in forward.percent { out[arn] = max(out[arn] ?? 0, share) }
        }
        return out
    }

    /// Whether every forward splits the same way (ignoring target groups at 0 %).
    public var agreed: Bool {
        let splits = Set(forwards.map { $0.percent.filter { $0.value > 0 } })
        return splits.count <= 1
    }

    /// The target groups that receive any traffic on any forward.
    public var live: [String] { percent.filter { $0.value > 0 }.map(\.key).sorted() }

    /// Each forward's split, for messages: `listener arn:…: a=90%, b=10%; listener rule …: a=100%`.
    public var summary: String {
        forwards.map { "\($0.resource): " + ForwardWeights.text($0.percent) }.joined(separator: "; ")
    }
}

/// One forward's split between target groups: a listener's or rule's forward action, a pair of weighted records.
public struct ForwardWeights: Sendable, Equatable {
    /// The listener, rule or records, for messages.
    public var resource: String
    /// Share of each target group in percent.
    public var percent: [String: Int]
    /// Seconds target-group stickiness binds a client, where it is on; nil where it is off or the backend has none.
    public var stickySeconds: Int?
    /// What the backend read beyond the split, so its next write keeps everything else as it was (an ALB forward's
    /// actions); opaque to every caller but that backend.
    public var native: (any NativeForward)?

    public init(resource: String, percent: [String: Int], stickySeconds: Int? = nil, native: (any NativeForward)? = nil) {
        self.resource = resource
        self.percent = percent
        self.stickySeconds = stickySeconds
        self.native = native
    }

    public static func == (a: ForwardWeights, b: ForwardWeights) -> Bool {
        guard a.resource == b.resource, a.percent == b.percent, a.stickySeconds == b.stickySeconds else { return false }
        switch (a.native, b.native) {
        case (nil, nil): return true
        case (let x?, let y?): return x.isEqual(to: y)
        default: return false
        }
    }

    /// The target groups that receive any traffic.
    public var live: [String] { percent.filter { $0.value > 0 }.map(\.key).sorted() }

    /// `a=90%, b=10%`, sorted by ARN.
    package static func text(_ percent: [String: Int]) -> String {
        percent.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)%" }.joined(separator: ", ")
    }
}

/// A backend's own reading of a forward, kept inside `ForwardWeights.native`.
public protocol NativeForward: Sendable {
    func isEqual(to other: any NativeForward) -> Bool
}

extension NativeForward where Self: Equatable {
    public func isEqual(to other: any NativeForward) -> Bool { (other as? Self) == self }
}

/// The forwards did not end up as asked.
public enum TrafficError: Error, Sendable, CustomStringConvertible {
    case readBackMismatch(resource: String, expectedGreen: Int, found: [String: Int])
    /// Some forwards took the new split and one refused it: they now disagree until a retry or a rollback writes all.
    case partialWrite(written: [String], failed: String, expectedGreen: Int, error: String)

    public var description: String {
        switch self {
        case .readBackMismatch(let resource, let green, let found):
            return "\(resource) was set to \(green)% green but reads back as \(ForwardWeights.text(found))"
        case .partialWrite(let written, let failed, let green, let error):
            return "\(written.joined(separator: ", ")) moved to \(green)% green, but \(failed) did not (\(error)); "
                + "the forwards disagree until every one is written again (a retry or a rollback writes them all)"
        }
    }
}
