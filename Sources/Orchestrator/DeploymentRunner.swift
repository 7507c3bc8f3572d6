import Foundation
import Logging
import StateStore
import SwitchyardCore

/// The reconcile loop: load → the core decides → run the effect against AWS → persist, until a terminal state.
/// `start` and `resume` run the same loop; the stored record alone says where to go on.
public struct DeploymentRunner: Sendable {
    public let store: StateStore
    public let effects: EffectPerformer
    public let clock: DeploymentClock
    public let actor: String
    public let logger: Logger
    /// Called after every stored change that has an audit-log entry, for progress output.
    public let onChange: @Sendable (Deployment, LogEntry, Date) -> Void

    public init(store: StateStore, effects: EffectPerformer, clock: DeploymentClock, actor: String, logger: Logger,
                onChange: @escaping @Sendable (Deployment, LogEntry, Date) -> Void = { _, _, _ in }) {
        self.store = store
        self.effects = effects
        self.clock = clock
        self.actor = actor
        self.logger = logger
        self.onChange = onChange
    }

    /// Runs the deployment until it is terminal. Every state change is stored before the next AWS call.
    public func run(_ start: Deployment) async throws -> Deployment {
        var d = start
        while true {
            try Task.checkCancellation()
            d = try handleRequests(d)
            let now = clock.now()
            switch Machine.decide(d, now: now) {
            case .done:
                return d
            case .transition(let t):
                d = try persist(t, actor: actor)
            case .wait(let until):
                try await clock.sleep(until: until)
            case .perform(let effect):
                let event = try await outcome(of: effect, d)
                d = try persist(Machine.apply(d, event, now: clock.now()), actor: actor)
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

    private func persist(_ t: Transition, actor: String) throws -> Deployment {
        let now = clock.now()
        try store.save(t.deployment, log: t.log, actor: actor, at: now)
        if let log = t.log { onChange(t.deployment, log, now) }
        return t.deployment
    }
}
