import Foundation
import Logging
import StateStore
import SwitchyardCore

/// The reconcile loop: load → the core decides → run the effect against AWS → persist, until a terminal state.
/// `start`, `resume` and `rollback` run the same loop; the stored record alone says where to go on.
public struct DeploymentRunner: Sendable {
    /// The lease this process holds on the deployment's service, renewed while the loop runs.
    public struct Holding: Sendable {
        public var holder: LeaseHolder
        public var ttl: TimeInterval
        public init(holder: LeaseHolder, ttl: TimeInterval = 15) {
            self.holder = holder
            self.ttl = ttl
        }
    }

    public let store: StateStore
    public let effects: EffectPerformer
    public let clock: DeploymentClock
    public let actor: String
    public let logger: Logger
    public let holding: Holding?
    /// The longest the loop sleeps before it looks for operator requests again.
    public let requestPoll: TimeInterval
    /// Called after every stored change that has an audit-log entry, for progress output.
    public let onChange: @Sendable (Deployment, LogEntry, Date) -> Void

    public init(store: StateStore, effects: EffectPerformer, clock: DeploymentClock, actor: String, logger: Logger,
                holding: Holding? = nil, requestPoll: TimeInterval = 0.25,
                onChange: @escaping @Sendable (Deployment, LogEntry, Date) -> Void = { _, _, _ in }) {
        self.store = store
        self.effects = effects
        self.clock = clock
        self.actor = actor
        self.logger = logger
        self.holding = holding
        self.requestPoll = requestPoll
        self.onChange = onChange
    }

    /// Runs the deployment until it is terminal. Every state change is stored before the next AWS call.
    public func run(_ start: Deployment) async throws -> Deployment {
        var d = start
        var renewed = clock.now()
        while true {
            try Task.checkCancellation()
            if let holding, clock.now().timeIntervalSince(renewed) >= holding.ttl / 3 {
                renewed = clock.now()
                try store.renewLease(service: d.service, deploymentId: d.id, holder: holding.holder, at: renewed, ttl: holding.ttl)
            }
            d = try handleRequests(d)
            let now = clock.now()
            switch Machine.decide(d, now: now) {
            case .done:
                return d
            case .transition(let t):
                d = try persist(t, actor: actor)
            case .wait(let until):
                // Wake often enough to see requests from other terminals and to renew the lease.
                var wake = until
                if requestPoll > 0 { wake = min(wake, now.addingTimeInterval(requestPoll)) }
                if let holding { wake = min(wake, renewed.addingTimeInterval(holding.ttl / 3)) }
                try await clock.sleep(until: wake)
            case .perform(let effect):
                let event = try await outcome(of: effect, d)
                d = try persist(Machine.apply(d, event, now: clock.now()), actor: actor)
                if case .groupRetired(let name) = event { try endRetention(of: name, by: d) }
            }
        }
    }

    /// The effect's event, or `effectFailed`; a cancelled task stops the loop with the record as it was.
    private func outcome(of effect: Effect, _ d: Deployment) async throws -> Event {
        do {
            return try await effects.perform(effect, for: d)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("effect failed", metadata: ["deployment.id": "\(d.id)", "effect": "\(effect.title)", "error": "\(error)"])
            return .effectFailed(effect, message: String(describing: error))
        }
    }

    /// Applies rollback and promote requests written by other terminals, oldest first.
    private func handleRequests(_ d: Deployment) throws -> Deployment {
        var d = d
        for request in try store.pendingRequests(deploymentId: d.id) {
            let event: Event
            switch request.kind {
            case .rollback: event = .rollbackRequested(reason: request.reason ?? "no reason given", actor: request.actor)
            case .promote: event = .promoteRequested
            }
            d = try persist(Machine.apply(d, event, now: clock.now()), actor: request.actor)
            try store.markHandled(requestId: request.id, at: clock.now())
        }
        return d
    }

    /// A group this deployment retired from green's target group may be an earlier release's retained blue: that
    /// release's audit trail says its retention ended early, and why.
    private func endRetention(of group: String, by d: Deployment) throws {
        for earlier in try store.deployments(service: d.service, limit: 50, activeOnly: false)
        where earlier.id != d.id && earlier.state == .completed && earlier.blueRetiredAt == nil && earlier.plan.blue.autoScalingGroup == group {
            _ = try persist(Machine.apply(earlier, .blueRetired(by: d.id), now: clock.now()), actor: actor)
        }
    }

    private func persist(_ t: Transition, actor: String) throws -> Deployment {
        let now = clock.now()
        try store.save(t.deployment, log: t.log, actor: actor, at: now)
        if let log = t.log { onChange(t.deployment, log, now) }
        return t.deployment
    }
}
