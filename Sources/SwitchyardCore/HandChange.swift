import Foundation

/// A forward found other than this deployment last wrote it: a person (the console, the CLI, another tool) changed
/// the traffic mid-release. CloudTrail's ModifyListener / ModifyRule events for `resource` say who.
public struct TrafficChange: Sendable, Hashable, Codable {
    /// The listener or rule, as `listener arn:…` or `listener rule arn:…`.
    public var resource: String
    /// Each target group's share as this deployment last wrote (or accepted) it.
    public var expected: [String: Int]
    /// Each target group's share as AWS showed it, twice, the read-consistency window apart.
    public var found: [String: Int]

    public init(resource: String, expected: [String: Int], found: [String: Int]) {
        self.resource = resource
        self.expected = expected
        self.found = found
    }

    /// `a=90%, b=10%`, the target groups at 0 % left out, sorted by ARN.
    static func text(_ percent: [String: Int]) -> String {
        percent.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)%" }.joined(separator: ", ")
    }

    public var summary: String {
        "\(resource) forwards \(Self.text(found)); this deployment last wrote \(Self.text(expected))"
    }
}

extension ReadConsistency {
    /// The split a step's read is compared with: what this deployment last wrote, or the hand-set one it let stand.
    public static func expected(_ d: Deployment) -> [String: Int] { d.trafficBaseline ?? recorded(d) }

    /// Whether a forward read as `read` is a change by hand before a write to `target` % green: it differs from what
    /// the deployment last wrote (target groups at 0 % do not count) and is not the target either (a write that landed
    /// before a crash, or a person who did the step already: writing it again changes nothing), nor the split of the
    /// step before (`previous` % green, when given): a step's write stopped half-way across several forwards, then
    /// resumed, leaves some forwards there while the record has adopted the new step.
    public static func isHandChange(_ read: [String: Int], expected: [String: Int], blue: String, green: String, target: Int,
                                    previous: Int? = nil) -> Bool {
        let shares = read.filter { $0.value > 0 }
        func split(_ g: Int) -> [String: Int] { [blue: 100 - g, green: g].filter { $0.value > 0 } }
        return shares != expected.filter({ $0.value > 0 }) && shares != split(target) && previous.map({ shares != split($0) }) ?? true
    }

    /// Green's share at the weight step before the current one (0 before the first).
    public static func previousStep(_ d: Deployment) -> Int {
        d.plan.spec.steps.prefix(d.stepIndex).compactMap(\.weight).last ?? 0
    }
}

extension Machine {
    /// A change by hand pauses a running release, traffic left as the person set it; `promote` writes the next step
    /// over it, `resume --accept-current` adopts it as the record's and goes on, `rollback` sends everything to blue.
    static func applyHandChange(_ d: Deployment, _ event: Event, now: Date) -> Transition? {
        switch (d.state, event) {
        case (.shifting, .trafficChangedByHand(let change)):
            var next = d
            next.state = .paused
            next.handChange = change
            next.phaseStartedAt = now
            next.updatedAt = now
            let audit = d.plan.spec.traffic.traits.changeAudit.map { " (\($0))" } ?? ""
            let message = "traffic changed by hand: \(change.summary). The release is paused and traffic left as it is"
                + "\(audit): `switchyard promote \(d.id)` writes the next "
                + "step over it, `switchyard resume \(d.id) --accept-current` adopts it and goes on, `switchyard rollback \(d.id)` "
                + "sends everything back to blue"
            return Transition(deployment: next, log: LogEntry(from: .shifting, to: .paused, message: message, details: [
                "resource": change.resource, "expected": TrafficChange.text(change.expected), "found": TrafficChange.text(change.found)]))
        case (.paused, .acceptCurrentRequested(let actor)) where d.handChange != nil:
            return leaveHandPause(d, accept: actor, now: now)
        default:
            return nil
        }
    }

    /// Back to `shifting` at the step that was about to be written, comparing the next read with what the person set.
    /// Accepting also makes green's share as found the record's.
    static func leaveHandPause(_ d: Deployment, accept actor: String?, now: Date) -> Transition {
        var next = d
        let change = d.handChange
        next.state = .shifting
        next.handChange = nil
        next.promoteRequested = false
        next.trafficBaseline = change?.found
        next.phaseStartedAt = now
        next.updatedAt = now
        let found = change.map { TrafficChange.text($0.found) } ?? "?"
        if let actor {
            next.greenWeight = change?.found[d.plan.greenPool] ?? 0
            return Transition(deployment: next, log: LogEntry(from: .paused, to: .shifting, message:
                "the traffic set by hand (\(found)) accepted by \(actor) as the record's: blue \(next.blueWeight)% / green \(next.greenWeight)%; the release goes on",
                details: ["actor": actor, "accepted": found]))
        }
        return Transition(deployment: next, log: LogEntry(from: .paused, to: .shifting, message:
            "promoted past the change by hand (\(found)): the next step is written over it"))
    }
}
