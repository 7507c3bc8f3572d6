import Foundation

/// What a read of traffic may be trusted for. AWS's Describe calls are eventually consistent (EC2 devguide, "eventual
/// consistency"): right after a ModifyListener or ModifyRule, DescribeListeners and DescribeRules may show the forward
/// as it was before, for seconds. So a write is confirmed by its own answer (ModifyListener and ModifyRule answer the
/// actions they now have), never by the read before it, and a read is believed only where the record agrees or the
/// read was taken after the window in which it could still show the state from before this deployment's last write.
/// Pure: the orchestrator brings the reads, the record and the time.
public enum ReadConsistency {
    /// How long after a write a read may still show the state from before it, unless `SWITCHYARD_READ_SETTLE` says
    /// otherwise. AWS publishes no figure; ELB's reads are seen to catch up within a second or two.
    public static let defaultWindow: TimeInterval = 5

    /// How long promotion's read-back is retried before a forward short of 100 % green counts as a mismatch.
    public static let readBackLimit: TimeInterval = 10

    /// The wait before the read-back after `attempt` reads (1 after the first), `elapsed` seconds after the first:
    /// 0.25 s doubling to at most 2 s, until `readBackLimit`; nil once it is spent.
    public static func readBackDelay(after attempt: Int, elapsed: TimeInterval) -> TimeInterval? {
        guard elapsed < readBackLimit else { return nil }
        let delay = min(0.25 * pow(2, Double(max(attempt - 1, 0))), 2)
        return min(delay, readBackLimit - elapsed)
    }

    /// Whether a forward that reads `readGreen`/`readBlue` percent may be left unwritten on the way to `target` % green.
    /// A rollback always writes (the write is idempotent and its answer is the confirmation); any other write is
    /// skipped only when the read shows the target and the record says this deployment put it there: a read that
    /// contradicts the record may be a stale one.
    public static func mayLeaveUnwritten(_ rule: WeightWrite, readGreen: Int?, readBlue: Int?, target: Int) -> Bool {
        guard case .unlessThereAlready(let recorded) = rule else { return false }
        return recorded == target && readGreen == target && readBlue == 100 - target
    }

    /// A rollback's rule: always written once the release may have written a weight (a read before it may be from
    /// before that write); before that, the listener is left alone where the read shows it on blue, as the record does.
    public static func rollbackWrite(_ d: Deployment) -> WeightWrite {
        d.reached(.greenServed) || d.greenWeight > 0 || d.stepIndex > 0 || d.promotedAt != nil ? .always : .unlessThereAlready(recordedGreen: 0)
    }

    /// Whether a fleet standing on `watched` target groups may be removed. The record (`recorded`, each target group's
    /// share as this deployment last wrote it) is trusted first: a group it says carries traffic is never removed,
    /// whatever a read says. A read (`read`, taken at `readAt`) counts only once `window` has passed since the last
    /// write that moved the traffic (`lastWrite`): before that it may show the state from before that write, in
    /// either direction.
    public static func removal(watched: [String], recorded: [String: Int], read: [String: Int], readAt: Date, lastWrite: Date?,
                               window: TimeInterval) -> RemovalVerdict {
        let byRecord = watched.filter { (recorded[$0] ?? 0) > 0 }
        if !byRecord.isEmpty { return .carries(byRecord, source: .record) }
        if let lastWrite, readAt < lastWrite.addingTimeInterval(window) { return .readAgain(at: lastWrite.addingTimeInterval(window)) }
        let byRead = watched.filter { (read[$0] ?? 0) > 0 }
        if !byRead.isEmpty { return .carries(byRead, source: .read) }
        return .removable
    }

    /// What `removal` decided.
    public enum RemovalVerdict: Sendable, Hashable {
        case removable
        /// These target groups carry traffic, by the record or by a read taken after the window.
        case carries([String], source: Source)
        /// The read came too soon after the last write to be believed: read again at this moment.
        case readAgain(at: Date)
    }

    public enum Source: String, Sendable, Hashable {
        case record, read
    }

    /// Each target group's share as the record has it: blue's and green's from `greenWeight`.
    public static func recorded(_ d: Deployment) -> [String: Int] {
        // One target group shared by both (`traffic.shared`) carries whatever either has.
        Dictionary([(d.plan.blue.pool, d.blueWeight), (d.plan.greenPool, d.greenWeight)], uniquingKeysWith: max)
    }

    /// The last confirmed write that moved a fleet's traffic, as the record has it.
    public static func lastWrite(_ d: Deployment) -> Date? {
        [d.removal?.trafficLeftAt, d.trafficRestoredAt, d.weightsConfirmedAt, d.promotedAt].compactMap { $0 }.max()
    }
}

/// When a weight write may be left out because the forward reads as there already.
public enum WeightWrite: Sendable, Hashable {
    /// Always written: a rollback's.
    case always
    /// Left out where the read shows the target and the record's green share (given) is the target too.
    case unlessThereAlready(recordedGreen: Int)
}
