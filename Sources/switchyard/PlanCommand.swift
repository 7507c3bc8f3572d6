import ArgumentParser
import Foundation
import Orchestrator
import SwitchyardCore

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a release would create and change, without changing anything.",
        discussion: """
            Validates the deployment file and the AMI against AWS, discovers blue from the listener, and prints \
            the green group, the launch template version, the target groups and the steps. Makes no change in \
            AWS and writes nothing to the state file.
            """)

    @OptionGroup var release: ReleaseOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let logger = Session.logger()
            let (spec, _) = try Session.loadSpec(path: release.file)
            let (aws, _) = try Session.aws(region: spec.region, logger: logger)
            // Blue groups of this service's earlier deployments: they may be retired from green's target group.
            let retirable = try state.openIfExists()?.blueGroups(service: spec.service) ?? []
            let plan = try await Planner(aws: aws, logger: logger)
                .planWithFacts(spec: spec, ami: try release.resolveAMI(region: spec.region).ami, deploymentId: "<deployment-id>",
                               retirable: retirable, endingRetention: release.endRetention).plan
            // A release running now (perhaps from another machine's state file) would make `start` exit 4: say so.
            let claimedBy = try await ListenerGuard(aws: aws, spec: spec).owner()
            if plan.blue.imageId == plan.ami {
                Console.error("warning: blue \(plan.blue.autoScalingGroup) already runs \(plan.ami): a release would replace its "
                    + "instances with new ones of the same image")
            }
            if output.json {
                Console.out(try JSONViews.encode(JSONViews.PlanView(plan, listenerClaimedBy: claimedBy)))
            } else {
                Console.out(Self.describe(plan))
                if let claimedBy {
                    Console.out("  warning   the listener is tagged \(ListenerGuard.tagKey)=\(claimedBy): `start` refuses while that "
                        + "deployment runs (or `--force-unlock \(claimedBy)` if it is dead)")
                }
            }
            return .success
        }
    }

    static func describe(_ p: ReleasePlan) -> String {
        var lines = [
            "Release of \(p.ami) for service \(p.spec.service) in \(p.spec.region)",
            "  traffic   \(p.spec.traffic.ruleArn.map { "listener rule \($0)" } ?? "listener \(p.spec.traffic.listenerArn)")",
            "  blue      \(p.blue.autoScalingGroup) on \(p.blue.targetGroupArn)",
            "            \(p.blue.imageId) (\(p.blue.architecture)), launch template \(p.blue.launchTemplateName) version \(p.blue.launchTemplateVersion)",
            "  green     \(p.greenAutoScalingGroup) on \(p.greenTargetGroupArn)",
            "            size min \(p.blue.minSize) / desired \(p.blue.desiredCapacity) / max \(p.blue.maxSize), new version of \(p.blue.launchTemplateName) with ImageId \(p.ami)",
        ]
        for group in p.retire {
            lines.append("  retire    \(group) (stands on green's target group with no traffic; scaled to 0 and deleted first)")
        }
        lines.append("  steps")
        var k = 0
        for step in p.spec.steps {
            switch step {
            case .weight(let w, let bake):
                k += 1
                lines.append("    \(k). blue \(100 - w)% / green \(w)% for \(bake)")
            case .pause:
                lines.append("       manual gate: waits for `switchyard promote`")
            }
        }
        lines.append("  total bake \(p.spec.totalBake); checks every \(p.spec.checks.interval); blue kept \(p.spec.promotion.blueRetention) after promotion")
        return lines.joined(separator: "\n")
    }
}
