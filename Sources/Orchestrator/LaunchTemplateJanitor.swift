import AWS
import Foundation
import StateStore
import SwitchyardCore

/// Deletes the launch-template versions Switchyard created once their release is over and no group uses them: the
/// version of a rolled-back green, and of a promoted green that a later release retired. Run by `gc`.
public struct LaunchTemplateJanitor: Sendable {
    public struct Outcome: Sendable {
        public var deployment: Deployment
        public var version: Int
        /// Nil when the version was deleted (or was already gone); else why it was left.
        public var problem: String?
    }

    public let store: StateStore
    public let clock: DeploymentClock
    public let actor: String
    public let aws: @Sendable (DeploymentSpec) throws -> AWSClients

    public init(store: StateStore, clock: DeploymentClock, actor: String, aws: @escaping @Sendable (DeploymentSpec) throws -> AWSClients) {
        self.store = store
        self.clock = clock
        self.actor = actor
        self.aws = aws
    }

    /// Deployments whose green version no group uses, from the state file alone: rolled back, or promoted and later
    /// retired as the blue of another release.
    public func due(service: String?) throws -> [Deployment] {
        let all = try store.deployments(service: service, limit: 100_000, activeOnly: false)
        let retired = Set(all.filter { $0.state == .completed && $0.blueRetiredAt != nil }.map { "\($0.service)/\($0.plan.blue.autoScalingGroup)" })
        return all.filter { d in
            guard d.greenLaunchTemplateVersion != nil, d.launchTemplateVersionDeleted != true else { return false }
            if d.state == .rolledBack { return true }
            guard d.state == .completed else { return false }
            // A pair's groups serve release after release: only a later release that retired this green as its blue ends it.
            if d.plan.isPair {
                return all.contains { $0.service == d.service && $0.createdAt > d.createdAt && $0.blueRetiredAt != nil
                    && $0.plan.blue.autoScalingGroup == d.plan.greenAutoScalingGroup }
            }
            return retired.contains("\(d.service)/\(d.plan.greenAutoScalingGroup)")
        }
    }

    /// Deletes each version after checking that it is still Switchyard's, not the default, and that green is gone.
    /// One failure does not stop the others.
    public func collect(_ due: [Deployment]) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for d in due {
            guard let version = d.greenLaunchTemplateVersion else { continue }
            do {
                let problem = try await delete(version, of: d)
                if problem == nil {
                    let t = Machine.apply(d, .launchTemplateVersionDeleted(version), now: clock.now())
                    try store.save(t.deployment, log: t.log, actor: actor, at: clock.now())
                    outcomes.append(Outcome(deployment: t.deployment, version: version, problem: nil))
                } else {
                    outcomes.append(Outcome(deployment: d, version: version, problem: problem))
                }
            } catch {
                outcomes.append(Outcome(deployment: d, version: version, problem: String(describing: error)))
            }
        }
        return outcomes
    }

    private func delete(_ version: Int, of d: Deployment) async throws -> String? {
        let aws = try aws(d.plan.spec)
        let template = d.plan.blue.launchTemplateId
        if let pair = d.plan.pair {
            // The pair's groups stay: the version goes only when neither launches from it.
            let groups = try await aws.autoScaling.describeAutoScalingGroups(names: pair.groups)
            if let user = groups.first(where: { GroupCopier.launchTemplate(of: $0)?.version == String(version) }) {
                return "\(user.name) of the pair still launches from version \(version)"
            }
        } else if !(try await aws.autoScaling.describeAutoScalingGroups(names: [d.plan.greenAutoScalingGroup]).isEmpty) {
            return "green's group \(d.plan.greenAutoScalingGroup) still exists"
        }
        guard let found = try await aws.ec2.describeLaunchTemplateVersions(templateId: template, versions: [String(version)]).first else {
            return nil
        }
        guard found.versionDescription == AWSEffects.launchTemplateDescription(d) else {
            return "version \(version) of \(d.plan.blue.launchTemplateName) was not created by this deployment"
        }
        if found.isDefault { return "version \(version) is the default of \(d.plan.blue.launchTemplateName)" }
        let failed = try await aws.ec2.deleteLaunchTemplateVersions(templateId: template, versions: [version])
        return failed[version]
    }
}
