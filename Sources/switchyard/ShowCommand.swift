import ArgumentParser
import Foundation
import StateStore
import SwitchyardCore

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one deployment with its full event timeline (the audit trail).")

    @Argument(help: "The deployment id.") var id: String
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let (store, d) = try state.deployment(id)
            let events = try store.events(deploymentId: id)
            if output.json {
                Console.out(try JSONViews.encode(JSONViews.DeploymentView(d, events: events)))
            } else {
                Console.out(Self.describe(d, events: events))
            }
            return .success
        }
    }

    static func describe(_ d: Deployment, events: [StoredEvent]) -> String {
        var lines = [
            "deployment \(d.id)  \(d.service)  \(d.state.rawValue)",
            "  ami       \(d.ami) (blue ran \(d.plan.blue.imageId))",
            "  started   \(Console.time(d.createdAt)) by \(d.actor)",
            "  traffic   blue \(d.blueWeight)% / green \(d.greenWeight)%, step \(d.stepLabel)",
            "  blue      \(d.plan.blue.autoScalingGroup) on \(d.plan.blue.targetGroupArn)",
            "  green     \(d.plan.greenAutoScalingGroup) on \(d.plan.greenTargetGroupArn)"
                + (d.greenLaunchTemplateVersion.map { ", launch template version \($0)" } ?? ""),
        ]
        if let reason = d.rollbackReason { lines.append("  rollback  \(reason)") }
        if let reason = d.failureReason { lines.append("  failure   \(reason)") }
        if let deadline = d.retentionDeadline, d.state == .completed {
            lines.append("  blue kept until \(Console.time(deadline)) for instant rollback")
        }
        lines.append("  timeline")
        let start = events.first?.at ?? d.createdAt
        for e in events {
            let offset = String(format: "+%8.3fs", e.at.timeIntervalSince(start))
            let states = e.from == e.to ? e.to.rawValue : "\(e.from.rawValue) → \(e.to.rawValue)"
            lines.append("    \(offset)  \(states.padding(toLength: 38, withPad: " ", startingAt: 0)) \(e.message)  [\(e.actor)]")
            for key in e.details.keys.sorted() where key == "evidence" || key == "check" || key == "other_failures" {
                lines.append("               \(key): \(e.details[key] ?? "")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
