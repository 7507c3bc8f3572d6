import Foundation
import StateStore
import SwitchyardCore

/// One kind of work the reconcile loop does on a stored deployment: a release (`DeploymentRunner`), housekeeping
/// (`Housekeeper`: blue retired after its retention, a test route a failed rollback left) or template gc
/// (`TemplateJanitor`). The input decides and performs effects; the loop owns the lease, the stop, the waits
/// and the fenced saves, the same for all three.
public protocol ReconcileInput: Sendable {
    /// What is next for `d`; nil (or `.done`) when this input has nothing left to do.
    func decide(_ d: Deployment, now: Date) -> Decision?
    /// Runs one effect and returns its event, which the loop applies and stores. A throw ends the loop, the record as
    /// it was.
    func perform(_ effect: Effect, for d: Deployment, in loop: ReconcileLoop) async throws -> Event
    /// Whether a signal stops the loop before its next decision on `d`. By default: while work is left.
    func stoppable(_ d: Deployment, now: Date) -> Bool
    /// What a signal does: the problem the loop ends with, or a throw. By default it says where the next run goes on.
    func stopped(_ d: Deployment, by signal: String, in loop: ReconcileLoop) throws -> String
    /// Runs before each decision, for what arrives from outside the loop (operator requests); the record after it.
    func refresh(_ d: Deployment, in loop: ReconcileLoop) throws -> Deployment
    /// Runs before the loop sleeps on a `.wait`; a throw ends the loop there (a release that detaches at its gate).
    func willWait(_ d: Deployment, in loop: ReconcileLoop) throws
    /// Runs once an effect's event is stored: nil goes on, a problem ends the loop here.
    func stored(_ event: Event, of effect: Effect, _ d: Deployment, in loop: ReconcileLoop) throws -> String?
    /// The audit-log entry as stored for `d` (a release stamps its step and weights on it).
    func entry(_ log: LogEntry, for d: Deployment) -> LogEntry
    /// The longest the loop sleeps before it decides again; nil: until the moment decided, or the lease's renewal.
    var poll: TimeInterval? { get }
}

extension ReconcileInput {
    public func stoppable(_ d: Deployment, now: Date) -> Bool {
        guard let decision = decide(d, now: now) else { return false }
        return decision != .done
    }

    public func stopped(_ d: Deployment, by signal: String, in loop: ReconcileLoop) throws -> String {
        "stopped by \(signal); the next gc or start goes on from here"
    }

    public func refresh(_ d: Deployment, in loop: ReconcileLoop) throws -> Deployment { d }
    public func willWait(_ d: Deployment, in loop: ReconcileLoop) throws {}
    public func stored(_ event: Event, of effect: Effect, _ d: Deployment, in loop: ReconcileLoop) throws -> String? { nil }
    public func entry(_ log: LogEntry, for d: Deployment) -> LogEntry { log }
    public var poll: TimeInterval? { nil }
}

/// The one reconcile loop: load → the input decides → run the effect → persist, until the input has nothing left to
/// do. Every state change is stored before the next effect; under a lease, every save is fenced by it and every
/// effect that changes the world renews it first.
public struct ReconcileLoop: Sendable {
    /// The lease this process holds on the deployment's service, renewed while the loop runs.
    public struct Holding: Sendable {
        public var holder: LeaseHolder
        public var ttl: TimeInterval
        public init(holder: LeaseHolder, ttl: TimeInterval = 15) {
            self.holder = holder
            self.ttl = ttl
        }
    }

    /// Where the loop stopped: the record as stored, and why it stopped short (nil: nothing left to do).
    public struct End: Sendable {
        public var deployment: Deployment
        public var problem: String?
    }

    public let store: StateStore
    public let clock: DeploymentClock
    public let actor: String
    public let holding: Holding?
    /// Set by a signal handler: the loop stops at the next safe point, between two effects.
    public let stop: StopRequest?
    /// Called after every stored change that has an audit-log entry, for progress output.
    public let onChange: @Sendable (Deployment, LogEntry, Date) -> Void
    /// Called after every stored change, logged or not (check results, observations), for a live view.
    public let onUpdate: @Sendable (Deployment) -> Void

    public init(store: StateStore, clock: DeploymentClock, actor: String, holding: Holding?, stop: StopRequest?,
                onChange: @escaping @Sendable (Deployment, LogEntry, Date) -> Void = { _, _, _ in },
                onUpdate: @escaping @Sendable (Deployment) -> Void = { _ in }) {
        self.store = store
        self.clock = clock
        self.actor = actor
        self.holding = holding
        self.stop = stop
        self.onChange = onChange
        self.onUpdate = onUpdate
    }

    /// Runs `input` on the deployment until it has nothing left to do, a signal stops it, or a stored event ends it.
    public func run(_ start: Deployment, _ input: some ReconcileInput) async throws -> End {
        var d = start
        var renewed = clock.now()
        // A heartbeat beside the loop, so a long AWS call (retries with backoff) never lets the lease expire.
        let heartbeat = holding.map { holding in
            Task { [store, clock] in
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: UInt64(holding.ttl / 3 * 1_000_000_000))
                    if Task.isCancelled { return }
                    try? store.renewLease(service: start.service, deploymentId: start.id, holder: holding.holder, at: clock.now(), ttl: holding.ttl)
                }
            }
        }
        defer { heartbeat?.cancel() }
        while true {
            try Task.checkCancellation()
            if let signal = stop?.signal, input.stoppable(d, now: clock.now()) {
                return End(deployment: d, problem: try input.stopped(d, by: signal, in: self))
            }
            if let holding, clock.now().timeIntervalSince(renewed) >= holding.ttl / 3 {
                renewed = clock.now()
                try store.renewLease(service: d.service, deploymentId: d.id, holder: holding.holder, at: renewed, ttl: holding.ttl)
            }
            d = try input.refresh(d, in: self)
            let now = clock.now()
            switch input.decide(d, now: now) ?? .done {
            case .done:
                return End(deployment: d, problem: nil)
            case .transition(let t):
                d = try persist(t, input)
            case .wait(let until):
                try input.willWait(d, in: self)
                // Wake often enough to see what the input polls for and to renew the lease.
                var wake = until
                if let poll = input.poll { wake = min(wake, now.addingTimeInterval(poll)) }
                if let holding { wake = min(wake, renewed.addingTimeInterval(holding.ttl / 3)) }
                try await clock.sleep(until: wake)
            case .perform(let effect):
                if let holding, effect.needsLease {
                    // Fence: the lease must still be ours right before the world is changed or a hook starts (a process
                    // stopped past its lease, then taken over, stops here instead of acting on a stale record).
                    renewed = clock.now()
                    try store.renewLease(service: d.service, deploymentId: d.id, holder: holding.holder, at: renewed, ttl: holding.ttl)
                }
                let event = try await input.perform(effect, for: d, in: self)
                d = try persist(Machine.apply(d, event, now: clock.now()), input)
                if let problem = try input.stored(event, of: effect, d, in: self) { return End(deployment: d, problem: problem) }
            }
        }
    }

    /// Stores a transition with its entry, fenced by the lease when the loop holds one; `actor` defaults to the loop's.
    public func persist(_ t: Transition, _ input: some ReconcileInput, actor: String? = nil) throws -> Deployment {
        let now = clock.now()
        let log = t.log.map { input.entry($0, for: t.deployment) }
        let saved = try store.save(t.deployment, log: log, actor: actor ?? self.actor, at: now, holder: holding?.holder)
        if let log { onChange(saved, log, now) }
        onUpdate(saved)
        return saved
    }

    /// Runs an input on each deployment in turn, each under its service's lease, taken for it by a holder of its own
    /// (renewed every third of `ttl`) and given up after. A lease another live process holds, or any failure, is that
    /// deployment's problem and does not stop the others. `due` skips a deployment whose work is over by now;
    /// `input` is made once the lease is held (a failure to make it is the deployment's problem too).
    public static func eachUnderLease<Input: ReconcileInput>(
        _ deployments: [Deployment], store: StateStore, clock: DeploymentClock, actor: String, ttl: TimeInterval, stop: StopRequest?,
        onChange: @escaping @Sendable (Deployment, LogEntry, Date) -> Void, due: (Deployment) -> Bool,
        input: (Deployment) throws -> Input
    ) async -> [End] {
        var ends: [End] = []
        for d in deployments where due(d) {
            let holding = Holding(holder: LeaseHolder(actor: actor), ttl: ttl)
            do {
                try store.acquireLease(deploymentId: d.id, service: d.service, holder: holding.holder, at: clock.now(), ttl: ttl)
            } catch {
                ends.append(End(deployment: d, problem: String(describing: error)))
                continue
            }
            defer { try? store.releaseLease(service: d.service, holder: holding.holder) }
            let loop = ReconcileLoop(store: store, clock: clock, actor: actor, holding: holding, stop: stop, onChange: onChange)
            do {
                ends.append(try await loop.run(d, try input(d)))
            } catch {
                ends.append(End(deployment: (try? store.deployment(id: d.id)) ?? d, problem: String(describing: error)))
            }
        }
        return ends
    }
}
