import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// Why a launch-template version `gc` would delete stays: still used, not this deployment's, or the default.
public struct TemplateVersionKept: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Template gc's one effect: the green launch-template version of a release that is over.
extension AWSEffects {
    /// Deletes the version after checking that no group launches from it, that it is still the one this deployment
    /// created and that it is not the template's default; a version already gone is done. Throws
    /// `TemplateVersionKept` naming why it stays.
    func removeLaunchTemplateVersion(_ version: Int, of d: Deployment) async throws {
        let template = d.plan.blue.templateId
        if let pair = d.plan.pair {
            // The pair's groups stay: the version goes only when neither launches from it.
            let groups = try await aws.autoScaling.describeAutoScalingGroups(names: pair.groups)
            if let user = groups.first(where: { GroupCopier.launchTemplate(of: $0)?.version == String(version) }) {
                throw TemplateVersionKept(description: "\(user.name) of the pair still launches from version \(version)")
            }
        } else if !(try await aws.autoScaling.describeAutoScalingGroups(names: [d.plan.greenGroup]).isEmpty) {
            throw TemplateVersionKept(description: "green's group \(d.plan.greenGroup) still exists")
        }
        guard let found = try await aws.ec2.describeLaunchTemplateVersions(templateId: template, versions: [String(version)]).first else {
            return
        }
        guard found.versionDescription == Self.launchTemplateDescription(d) else {
            throw TemplateVersionKept(description: "version \(version) of \(d.plan.blue.templateName) was not created by this deployment")
        }
        if found.isDefault { throw TemplateVersionKept(description: "version \(version) is the default of \(d.plan.blue.templateName)") }
        if let failed = try await aws.ec2.deleteLaunchTemplateVersions(templateId: template, versions: [version])[version] {
            throw TemplateVersionKept(description: failed)
        }
    }
}
