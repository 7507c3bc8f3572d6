import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// What a release asks AWS while a step bakes: one check tick every `checks.interval`, each tick the reads below and
/// nothing else, every read made once however many checks use its answer (green's target health serves the
/// target-health check; every alarm is in one `DescribeAlarms` per 100; every metric check, green's and blue's series,
/// is in one `GetMetricData` per 500 queries). Green's group, which says which targets are green's and which of them
/// are coming or going, is read again only on a tick whose target health differs from what the last group read
/// explained (a target came, went, or is not healthy), and at least once a minute (`groupRefresh`): in a steady bake a
/// tick is one read fewer. The HTTP probe and hooks ask AWS nothing. This is the documented figure `plan` prints
/// (docs/commands.md#plan); `AWSEffects.checks` makes exactly these reads (each check kind says its own, Sources/AWSProvider/Checks/), and the e2e request count
/// (e2e/test_requests.py) holds the two equal.
public struct TickCost: Sendable, Equatable {
    public struct Read: Sendable, Equatable {
        /// The signing name of the service: `autoscaling`, `elasticloadbalancing`, `monitoring`.
        public var service: String
        public var action: String
        public var calls: Int
        public var purpose: String
        /// Nil: every tick. Otherwise the read is made at least once in this many seconds, and else only on a tick
        /// whose other answers changed (the purpose says which).
        public var refresh: TimeInterval?
    }

    /// The most seconds a tick judges green's targets by an earlier read of green's group.
    public static let groupRefresh: TimeInterval = 60

    public var reads: [Read]
    public var interval: TimeInterval

    /// The requests of a tick in a steady bake: the reads made every tick.
    public var perTick: Int { reads.filter { $0.refresh == nil }.reduce(0) { $0 + $1.calls } }
    /// At most this many ticks start in any minute: one each interval.
    public var ticksPerMinute: Int { Int((60 / interval).rounded(.up)) }
    /// The requests of a minute of steady bake: every tick's reads, and each refreshed read as often as its refresh.
    public var perMinute: Int { reads.reduce(0) { $0 + perMinute(of: $1) } }
    /// The most a minute can hold, when every tick makes every read (green's targets changing at each one).
    public var perMinuteAtMost: Int { ticksPerMinute * reads.reduce(0) { $0 + $1.calls } }
    /// Requests a minute of steady bake by service: AWS's rate limits are per service (and per action), per account
    /// and region.
    public var perMinuteByService: [String: Int] {
        reads.reduce(into: [:]) { $0[$1.service, default: 0] += perMinute(of: $1) }
    }

    private func perMinute(of read: Read) -> Int {
        guard let refresh = read.refresh else { return read.calls * ticksPerMinute }
        return read.calls * min(ticksPerMinute, Int((60 / refresh).rounded(.up)))
    }

    /// The reads of one tick of every check kind the plan configures (`CheckKinds.registered`), in their order.
    public static func of(_ plan: ReleasePlan) -> TickCost {
        TickCost(reads: CheckKinds.registered.flatMap { $0.reads(plan) }, interval: max(plan.spec.checks.interval.seconds, 0.001))
    }

    static func batches(_ count: Int, of size: Int) -> Int { (count + size - 1) / size }
}
