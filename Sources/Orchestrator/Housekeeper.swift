import Foundation
import Logging
import StateStore
import SwitchyardCore

/// Retires the blue groups of completed releases whose retention is over, and removes the test route a failed rollback
/// left standing. `start` and `gc` run it for the services
/// they touch (never a read command); it works on a service only while holding that service's lease, never while
/// another of its deployments is active, and never on a group whose target group carries traffic.
public struct Housekeeper: Sendable {
    public struct Outcome: Sendable {
        public var deployment: Deployment
        /// Nil when blue was retired (and logged); else why it was left alone this time.
        public var problem: String?
    }

    public let store: StateStore
    public let clock: DeploymentClock
    public let actor: String
    public let effects: @Sendable (DeploymentSpec) throws -> EffectPerformer

    public init(store: StateStore, clock: DeploymentClock, actor: String, effects: @escaping @Sendable (DeploymentSpec) throws -> EffectPerformer) {
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

    /// Retires the blue of each deployment `due` gave; one failure does not stop the others.
    public func collect(_ due: [Deployment]) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for d in due {
            guard let effect = Machine.housekeeping(d, now: clock.now()) else { continue }
            let holder = LeaseHolder(actor: actor)
            do {
                try store.acquireLease(deploymentId: d.id, service: d.service, holder: holder, at: clock.now(), ttl: 60)
            } catch {
                outcomes.append(Outcome(deployment: d, problem: String(describing: error)))
                continue
            }
            defer { try? store.releaseLease(service: d.service, holder: holder) }
            do {
                let event = try await effects(d.plan.spec).perform(effect, for: d)
                let t = Machine.apply(d, event, now: clock.now())
                // Fenced like the runner's saves: written only while this process still holds the service's lease.
                let saved = try store.save(t.deployment, log: t.log, actor: actor, at: clock.now(), holder: holder)
                outcomes.append(Outcome(deployment: saved, problem: nil))
            } catch {
                outcomes.append(Outcome(deployment: d, problem: String(describing: error)))
            }
        }
        return outcomes
    }
}
