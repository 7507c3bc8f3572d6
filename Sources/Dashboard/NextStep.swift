import Foundation
import StateStore
import SwitchyardCore

/// The command a person would run next on a release, with why: what the page shows to copy, and which actions its
/// buttons offer when the server allows them.
public enum NextStep {
    public struct Item: Sendable, Equatable {
        public var command: String
        public var why: String
    }

    /// Who runs an active deployment, in words, from its lease.
    static func runner(_ lease: Lease?, now: Date) -> String {
        guard let lease else { return "no live process runs it" }
        return lease.isLive(at: now) ? "run by \(lease.describe(at: now))" : "no live process runs it (last run by \(lease.describe(at: now)))"
    }

    public static func commands(_ d: Deployment, lease: Lease?, now: Date) -> [Item] {
        let id = d.id
        let running = lease.map { $0.isLive(at: now) } ?? false
        if let to = d.movedTo { return [Item(command: "switchyard show \(id) --state \(to)", why: "It was moved to \(to) by `state copy --move`; it goes on there.")] }
        switch d.state {
        case .paused:
            return [Item(command: "switchyard promote \(id)", why: "It waits at a gate: let it go on to the next step."),
                    Item(command: "switchyard rollback \(id) --reason \"…\"", why: "Or send all traffic back to blue.")]
        case .completed:
            if d.blueRetained(at: now) {
                return [Item(command: "switchyard rollback \(id) --reason \"…\"",
                             why: "Blue is kept until \(Pages.time(d.retentionDeadline ?? now)): a rollback sends the traffic back to it at once.")]
            }
            return []
        case .rolledBack:
            return [Item(command: "switchyard start FILE --ami \(d.image)", why: "Rolled back: once the cause is fixed, release again (a new AMI, or this one).")]
        case .failed:
            if d.trafficUnsettled || d.failureReason?.contains("switchyard rollback") == true {
                return [Item(command: "switchyard rollback \(id)", why: "The rollback failed part-way; run it again to finish it.")]
            }
            return []
        case .rollingBack where !running:
            return [Item(command: "switchyard rollback \(id)", why: "Its rollback is not running anywhere: carry it on from here.")]
        case .rollingBack:
            return [Item(command: "switchyard status \(id)", why: "It is rolling back; follow it.")]
        default:
            if !running {
                return [Item(command: "switchyard resume \(id)", why: "No live process runs it: carry it on."),
                        Item(command: "switchyard rollback \(id) --reason \"…\"", why: "Or roll it back.")]
            }
            return [Item(command: "switchyard rollback \(id) --reason \"…\"", why: "It is running; if something looks wrong, send all traffic back to blue.")]
        }
    }

    /// The actions a button may ask for now: `promote` at a gate, `rollback` while it can still be rolled back.
    public static func actions(_ d: Deployment, now: Date) -> [String] {
        guard d.movedTo == nil else { return [] }
        var actions: [String] = []
        if d.state == .paused { actions.append("promote") }
        if !d.state.isTerminal || d.blueRetained(at: now) || (d.state == .failed && d.trafficUnsettled) { actions.append("rollback") }
        return actions
    }
}
