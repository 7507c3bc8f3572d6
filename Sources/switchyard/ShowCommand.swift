import ArgumentParser
import Foundation
import Orchestrator
import StateStore
import SwitchyardCore

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one deployment with its full event timeline (the audit trail).")

    @Argument(help: "The deployment id.", completion: Completions.deploymentIds) var id: String
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let (store, d) = try state.deployment(id)
            let events = try store.events(deploymentId: id)
            if output.json {
                let blue = Self.hasBlueToRead(d, now: Date()) ? await Self.readBlue(d) : nil
                Console.out(try JSONViews.encode(JSONViews.DeploymentView(d, events: events, blueRead: blue)))
            } else {
                let blue = Self.hasBlueToRead(d, now: Date()) ? await Self.readBlue(d) : nil
                Console.out(Self.describe(d, events: events, blue: blue.map { Self.describe($0, d) }))
            }
            return .success
        }
    }

    /// What a read of a blue kept for rollback found in AWS (`blue_read` in the JSON).
    struct BlueRead: Sendable {
        enum State: String, Sendable { case kept, gone, scaledTo0 = "scaled_to_0", unread }
        var state: State
        /// When AWS answered; nil when it could not be read.
        var at: Date?
        var inService = 0
        var desired = 0
        var error: String?
    }

    /// A completed release inside its retention whose record has not retired its blue: what rollback would go back to.
    static func hasBlueToRead(_ d: Deployment, now: Date) -> Bool {
        d.state == .completed && d.blueRetiredAt == nil && d.blueRetained(at: now)
    }

    /// A blue kept for rollback, read from AWS now: another state file, a person or gc may have retired it since the
    /// record was written. Within a few seconds, or not at all (then it is `unread`).
    static func readBlue(_ d: Deployment) async -> BlueRead {
        let name = d.plan.blue.group
        do {
            let provider = try Session.provider(for: d.plan.spec, logger: Session.logger(), within: 5)
            let fleet = try await provider.fleet(named: name)
            let at = Date()
            guard let fleet else { return BlueRead(state: .gone, at: at) }
            if fleet.desired == 0 { return BlueRead(state: .scaledTo0, at: at) }
            return BlueRead(state: .kept, at: at, inService: fleet.inService, desired: fleet.desired)
        } catch {
            return BlueRead(state: .unread, at: nil, error: "\(error)")
        }
    }

    /// The line `show` and `status` print for it.
    static func describe(_ read: BlueRead, _ d: Deployment) -> String {
        let name = d.plan.blue.group
        switch read.state {
        case .gone: return "blue \(name) is gone (read from AWS now): `switchyard rollback \(d.id)` cannot undo this release"
        case .scaledTo0: return "blue \(name) is scaled to 0 (read from AWS now): `switchyard rollback \(d.id)` cannot undo this release at once"
        case .kept:
            return "blue kept until \(Console.time(d.retentionDeadline ?? Date())) for instant rollback (\(read.inService)/\(read.desired) InService, read from AWS now)"
        case .unread:
            return "blue kept until \(Console.time(d.retentionDeadline ?? Date())) for instant rollback, as recorded (not read from AWS: \(read.error ?? "?"))"
        }
    }

    static func describe(_ d: Deployment, events: [StoredEvent], now: Date = Date(), blue: String? = nil) -> String {
        var lines = [
            "deployment \(d.id)  \(d.service)  \(d.state.rawValue)",
            "  ami       \(d.image) (blue ran \(d.plan.blue.image))",
            "  started   \(Console.time(d.createdAt)) by \(d.actor)",
            "  traffic   blue \(d.blueWeight)% / green \(d.greenWeight)%, step \(d.stepLabel)",
            "  blue      \(d.plan.blue.group) on \(d.plan.blue.pool)",
            "  green     \(d.plan.greenGroup) on \(d.plan.greenPool)"
                + (d.greenTemplateVersion.map { ", launch template version \($0)" } ?? ""),
        ]
        lines.append("  settle    \(d.plan.trafficSettle): a traffic change counts as live that long after it is confirmed")
        if let confirmed = d.weightsConfirmedAt, let live = d.bakeStartedAt, d.state == .shifting || d.state == .paused {
            lines.append("  step      \(d.stepLabel) at \(d.greenWeight)% green: confirmed \(Console.time(confirmed)), live from \(Console.time(live)) (its bake and checks count from then)")
        }
        if let wait = d.trafficWait(at: now) { lines.append("  now       \(Console.waiting(wait))") }
        if let r = d.removal, let deregistered = r.deregisteredAt {
            lines.append("  removal   \(r.group) deregistered \(Console.time(deregistered)) from \((r.pools ?? []).joined(separator: ", ")), "
                + "deregistration delay \(r.deregistrationDelaySeconds ?? 0) s, drain until \(r.drainUntil.map(Console.time) ?? "?")")
        }
        if let reason = d.rollbackReason { lines.append("  rollback  \(reason)") }
        if let reason = d.failureReason { lines.append("  failure   \(reason)") }
        if let blueRetiredAt = d.blueRetiredAt, d.state == .completed {
            lines.append("  blue \(d.plan.blue.group) retired \(Console.time(blueRetiredAt))")
        } else if let blue {
            lines.append("  " + blue)
        } else if let deadline = d.retentionDeadline, d.state == .completed, deadline > now {
            lines.append("  blue kept until \(Console.time(deadline)) for instant rollback, as recorded")
        }
        lines.append("  timeline")
        let start = events.first?.at ?? d.createdAt
        for e in events {
            let offset = String(format: "+%8.3fs", e.at.timeIntervalSince(start))
            let states = e.from == e.to ? e.to.rawValue : "\(e.from.rawValue) → \(e.to.rawValue)"
            lines.append("    \(offset)  \(states.padding(toLength: 38, withPad: " ", startingAt: 0)) \(e.message)  [\(e.actor)]")
            for key in e.details.keys.sorted() where ["evidence", "check", "other_failures", "confirmed_at", "live_at", "drain_until"].contains(key) {
                lines.append("               \(key): \(e.details[key] ?? "")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
