import Foundation
import StateStore
import SwitchyardCore

/// Deletes the green templates Switchyard created (AWS: launch-template versions) once their release is over and no
/// fleet uses them: the template of a rolled-back green, and of a promoted green that a later release retired. Run by `gc`, as an input of
/// the reconcile loop: one effect (`removeGreenTemplate`) per deployment, under the service's lease, performed
/// by the provider's performer (`effects`), as the `Housekeeper`'s retirements are.
public struct TemplateJanitor: Sendable {
    public struct Outcome: Sendable {
        public var deployment: Deployment
        public var version: Int
        /// Nil when the version was deleted (or was already gone); else why it was left.
        public var problem: String?
    }

    public let store: StateStore
    public let clock: DeploymentClock
    public let actor: String
    public let effects: @Sendable (DeploymentSpec) throws -> EffectPerformer

    public init(store: StateStore, clock: DeploymentClock, actor: String,
                effects: @escaping @Sendable (DeploymentSpec) throws -> EffectPerformer) {
        self.store = store
        self.clock = clock
        self.actor = actor
        self.effects = effects
    }

    /// Deployments whose green version no group uses, from the state file alone: rolled back, or promoted and later
    /// retired as the blue of another release.
    public func due(service: String?) throws -> [Deployment] {
        let all = try store.deployments(service: service, limit: 100_000, activeOnly: false)
        let retired = Set(all.filter { $0.state == .completed && $0.blueRetiredAt != nil }.map { "\($0.service)/\($0.plan.blue.group)" })
        return all.filter { d in
            guard d.greenTemplateVersion != nil, !d.reached(.templateVersionDeleted) else { return false }
            if d.state == .rolledBack { return true }
            guard d.state == .completed else { return false }
            // A pair's groups serve release after release: only a later release that retired this green as its blue ends it.
            if d.plan.isPair {
                return all.contains { $0.service == d.service && $0.createdAt > d.createdAt && $0.blueRetiredAt != nil
                    && $0.plan.blue.group == d.plan.greenGroup }
            }
            return retired.contains("\(d.service)/\(d.plan.greenGroup)")
        }
    }

    /// Deletes each version after checking that it is still Switchyard's, not the default, and that green is gone.
    /// One failure does not stop the others.
    public func collect(_ due: [Deployment]) async -> [Outcome] {
        let versions = Dictionary(due.compactMap { d in d.greenTemplateVersion.map { (d.id, $0) } }, uniquingKeysWith: { first, _ in first })
        let ends = await ReconcileLoop.eachUnderLease(
            due, store: store, clock: clock, actor: actor, ttl: Self.leaseTTL, stop: nil, onChange: { _, _, _ in },
            due: { $0.greenTemplateVersion != nil },
            input: { [effects] d in Versions(performer: try effects(d.plan.spec)) })
        return ends.map { Outcome(deployment: $0.deployment, version: versions[$0.deployment.id] ?? 0, problem: $0.problem) }
    }

    /// How long the gc lease lives without a renewal.
    static let leaseTTL: TimeInterval = 60

    /// Template gc as an input of the reconcile loop: the green version goes, once.
    struct Versions: ReconcileInput {
        let performer: EffectPerformer

        func decide(_ d: Deployment, now: Date) -> Decision? {
            guard !d.reached(.templateVersionDeleted), let version = d.greenTemplateVersion else { return nil }
            return .perform(.removeGreenTemplate(version))
        }

        func perform(_ effect: Effect, for d: Deployment, in loop: ReconcileLoop) async throws -> Event {
            try await performer.perform(effect, for: d)
        }
    }
}
