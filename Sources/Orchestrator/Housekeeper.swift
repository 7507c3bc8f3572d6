import Foundation
import Logging
import StateStore
import SwitchyardCore

/// Retires the blue groups of completed releases whose retention is over, and removes the test route a failed rollback
/// left standing: an input of the reconcile loop (`ReconcileLoop`). `start` and `gc` run it for the services they
/// touch (never a read command); it works on a service only while holding that service's lease, never while another
/// of its deployments is active, and never on a group whose target group carries traffic.
public struct Housekeeper: Sendable {
    public struct Outcome: Sendable {
        public var deployment: Deployment
        /// Nil when blue was retired (and logged); else why it was left alone this time (where its retirement got to
        /// is in the record, and the next `gc` or `start` goes on from there).
        public var problem: String?
    }

    public let store: StateStore
    public let clock: DeploymentClock
    public let actor: String
    public let effects: @Sendable (DeploymentSpec) throws -> EffectPerformer
    /// Called after every stored change that has an audit-log entry (a retirement's settle, drain and end), for output.
    public let onChange: @Sendable (Deployment, LogEntry, Date) -> Void
    /// Set by a signal handler: a retirement stops between two steps or abandons its request in flight (its deadlines
    /// are stored, its trail says where; the next `gc` or `start` goes on).
    public let stop: StopRequest?

    public init(store: StateStore, clock: DeploymentClock, actor: String, effects: @escaping @Sendable (DeploymentSpec) throws -> EffectPerformer,
                onChange: @escaping @Sendable (Deployment, LogEntry, Date) -> Void = { _, _, _ in }, stop: StopRequest? = nil) {
        self.stop = stop
        self.onChange = onChange
        self.store = store
        self.clock = clock
        self.actor = actor
        self.effects = effects
    }

    /// The completed deployments (of one service, or all) whose blue is due for retirement.
    public func due(service: String?) throws -> [Deployment] {
        let now = clock.now()
        let busy = Set(try store.deployments(service: service, limit: 10_000, activeOnly: true).map(\.service))
        let candidates = try store.retainedBlues(service: service) + store.leftoverTestRoutes(service: service)
        return candidates.filter { Machine.housekeeping($0, now: now) != nil && !busy.contains($0.service) }
    }

    /// Retires the blue of each deployment `due` gave; one failure does not stop the others. Each retirement is a
    /// progression stored in the record (begun, settled, deregistered, drained, removed), run by the reconcile loop
    /// under the service's lease renewed while it waits: killed at any point, the next `gc` or `start` goes on from the
    /// stored deadlines.
    public func collect(_ due: [Deployment]) async -> [Outcome] {
        await ReconcileLoop.eachUnderLease(due, store: store, clock: clock, actor: actor, ttl: Self.leaseTTL, stop: stop, onChange: onChange,
                                           due: { Machine.housekeeping($0, now: clock.now()) != nil },
                                           input: { Chores(performer: try effects($0.plan.spec)) })
            .map { Outcome(deployment: $0.deployment, problem: $0.problem) }
    }

    /// How long the housekeeping lease lives without a renewal; renewed every third of it.
    static let leaseTTL: TimeInterval = 60

    /// Housekeeping as an input of the reconcile loop: `Machine.housekeeping` until nothing is due, or a removal
    /// stuck on a target still serving (the record keeps where it got to).
    struct Chores: ReconcileInput {
        let performer: EffectPerformer

        func decide(_ d: Deployment, now: Date) -> Decision? { Machine.housekeeping(d, now: now) }

        /// A signal abandons the request in flight at once (a deregistration may wait a minute for an answer, a busy
        /// deletion ten): the trail says in which step it stopped, and that AWS may or may not have done it; the next
        /// `gc` or `start` goes on from the stored deadlines, looking before it acts.
        func perform(_ effect: Effect, for d: Deployment, in loop: ReconcileLoop) async throws -> Event {
            guard let stop = loop.stop else { return try await performer.perform(effect, for: d) }
            do {
                return try await stop.abandoning { [performer] in try await performer.perform(effect, for: d) }
            } catch let stopped as StoppedBySignal {
                let log = LogEntry(from: d.state, to: d.state, message: "interrupted by \(stopped.signal) during \(effect.title): its \(d.plan.spec.cloud.name) request was "
                                       + "abandoned (\(d.plan.spec.cloud.name) may or may not have done it; the next `switchyard gc` or `start` looks before it acts again)",
                                   details: ["signal": stopped.signal, "effect": effect.title])
                _ = try loop.persist(Transition(deployment: d, log: log), self)
                throw HousekeepingInterrupted(signal: stopped.signal, effect: effect.title, cloud: d.plan.spec.cloud.name)
            }
        }

        func stored(_ event: Event, of effect: Effect, _ d: Deployment, in loop: ReconcileLoop) throws -> String? { d.removal?.stuck }

        /// In short slices, so a stop request is seen within a second.
        var poll: TimeInterval? { 1 }
    }
}

/// Housekeeping stopped by a signal in the middle of a cloud's request (abandoned; the trail says where).
public struct HousekeepingInterrupted: Error, Sendable, CustomStringConvertible {
    public var signal: String
    public var effect: String
    public var cloud: String = "the cloud"
    public var description: String { "interrupted by \(signal) during \(effect): its \(cloud) request was abandoned" }
}

/// A retention deadline one of this state's records gives a group: the deployment that kept it as its blue, and until
/// when. The planner keeps such a group whatever its `switchyard:retain-until` tag reads (a tag written moments ago
/// may not read back yet).
public struct RecordedRetention: Sendable, Hashable {
    public var until: Date
    public var deployment: String

    public init(until: Date, deployment: String) {
        self.until = until
        self.deployment = deployment
    }

    /// Every deadline the records give each group, passed or not: what the planner matches a rounded tag against.
    public static func deadlines(_ deployments: [Deployment]) -> [String: [Date]] {
        var out: [String: [Date]] = [:]
        for d in deployments {
            guard let until = d.retentionDeadline else { continue }
            out[d.plan.blue.group, default: []].append(until)
        }
        return out
    }

    /// The blues of completed releases still retained at `now`, by group; the latest deadline when several name one.
    public static func of(_ deployments: [Deployment], now: Date) -> [String: RecordedRetention] {
        var out: [String: RecordedRetention] = [:]
        for d in deployments where d.blueRetained(at: now) {
            guard let until = d.retentionDeadline else { continue }
            let group = d.plan.blue.group
            if until > out[group]?.until ?? .distantPast { out[group] = RecordedRetention(until: until, deployment: d.id) }
        }
        return out
    }
}
