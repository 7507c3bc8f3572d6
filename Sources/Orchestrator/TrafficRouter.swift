import SwitchyardCore

/// Where a service's traffic is split between blue and green: read the weights, set them, read them back.
///
/// One implementation per provider, as Argo Rollouts has one traffic-routing reconciler per mesh or load balancer:
/// `ALBTrafficRouter` moves the forward actions of ALB listeners and rules; `Route53TrafficRouter` two weighted records.
/// The state machine only ever says "green at N %", never which kind of router carries it out.
public protocol TrafficRouter: Sendable {
    /// What is shifted, for messages: "listener arn:…", or "2 forwards (listener arn:…, listener rule arn:…)".
    var description: String { get }
    /// The ARNs (or names) of everything this router shifts, in order: they move together.
    var resources: [String] { get }
    /// Reads every forward's split. Several forwards that disagree are reported as they are (`agreed` false).
    func currentWeights() async throws -> TrafficWeights
    /// Sends `green` percent to `greenTargetGroup` and the rest to `blueTargetGroup` on every forward, and confirms each
    /// from its write's answer (or a read when the answer lacks it). `write` says which forwards may be left unwritten
    /// because they read as there already: none for a rollback; for a step, only where the record agrees with the
    /// read (a read may be a stale one). A write
    /// that fails after others succeeded throws `TrafficError.partialWrite`: the forwards then disagree, which the
    /// next read shows, and a retry (or a rollback to blue) writes every one again.
    /// - Parameter known: the weights as this process just wrote or read them, to stand in for the read before the
    ///   write; nil reads them first.
    func setWeights(blueTargetGroup: String, greenTargetGroup: String, green: Int, stickiness: StickinessChange,
                    known: TrafficWeights?, write: WeightWrite) async throws -> TrafficWeights
}

extension TrafficRouter {
    /// `setWeights` keeping stickiness as it is, reading first.
    @discardableResult
    public func setWeights(blueTargetGroup: String, greenTargetGroup: String, green: Int, known: TrafficWeights? = nil,
                           write: WeightWrite = .always) async throws -> TrafficWeights {
        try await setWeights(blueTargetGroup: blueTargetGroup, greenTargetGroup: greenTargetGroup, green: green, stickiness: .keep, known: known, write: write)
    }

    /// `setWeights` writing every forward (a rollback's rule).
    public func setWeights(blueTargetGroup: String, greenTargetGroup: String, green: Int, stickiness: StickinessChange,
                           known: TrafficWeights?) async throws -> TrafficWeights {
        try await setWeights(blueTargetGroup: blueTargetGroup, greenTargetGroup: greenTargetGroup, green: green, stickiness: stickiness, known: known, write: .always)
    }
}

/// What a weight write does to target-group stickiness.
public enum StickinessChange: Sendable, Hashable {
    /// As it is (every step of a release).
    case keep
    /// Off on every forward whose green share this write takes away: a rollback, so clients bound to green by
    /// stickiness do not stay there whatever the weights say.
    case offWhereGreenLeaves
    /// Back on, with these durations in seconds, on the forwards named (by ARN) where it is off: after a rollback,
    /// once green is gone.
    case restore([String: Int])
}

/// Every forward's split between target groups, and what they amount to together.
public struct TrafficWeights: Sendable, Equatable {
    /// One entry per forward, in the router's order.
    public var forwards: [ForwardWeights]

    public init(forwards: [ForwardWeights]) { self.forwards = forwards }

    /// Each target group's highest share over all forwards: a group "carries traffic" if any forward sends it some.
    public var percent: [String: Int] {
        var out: [String: Int] = [:]
        for forward in forwards {
            for (arn, share) in forward.percent { out[arn] = max(out[arn] ?? 0, share) }
        }
        return out
    }

    /// Whether every forward splits the same way (ignoring target groups at 0 %).
    public var agreed: Bool {
        let splits = Set(forwards.map { $0.percent.filter { $0.value > 0 } })
        return splits.count <= 1
    }

    /// The target groups that receive any traffic on any forward.
    public var live: [String] { percent.filter { $0.value > 0 }.map(\.key).sorted() }

    /// Each forward's split, for messages: `listener arn:…: a=90%, b=10%; listener rule …: a=100%`.
    public var summary: String {
        forwards.map { "\($0.resource): " + ForwardWeights.text($0.percent) }.joined(separator: "; ")
    }
}
