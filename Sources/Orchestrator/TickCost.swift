import Foundation

/// What a release asks its cloud while a step bakes: one check tick every `checks.interval`, each tick the reads below
/// and nothing else, every read made once however many checks use its answer. The provider says which reads its check
/// kinds make (`ReleaseProvider.tickCost`; the AWS provider's is `TickCost.of`); `plan` prints the figure
/// (docs/commands.md#plan).
public struct TickCost: Sendable, Equatable {
    public struct Read: Sendable, Equatable {
        /// The service, as its provider names it (AWS: the signing name, `autoscaling`, `elasticloadbalancing`, `monitoring`).
        public var service: String
        public var action: String
        public var calls: Int
        public var purpose: String
        /// Nil: every tick. Otherwise the read is made at least once in this many seconds, and else only on a tick
        /// whose other answers changed (the purpose says which).
        public var refresh: TimeInterval?

        public init(service: String, action: String, calls: Int, purpose: String, refresh: TimeInterval? = nil) {
            self.service = service
            self.action = action
            self.calls = calls
            self.purpose = purpose
            self.refresh = refresh
        }
    }

    public var reads: [Read]
    public var interval: TimeInterval
    /// With a split by instance counts (`TrafficTraits.splitByCounts`): the reads of one look while a step is scaled to
    /// (one look every interval, a check tick between two), each followed by at most one write. Empty otherwise: a
    /// weight is written once and read back.
    public var look: [Read]

    public init(reads: [Read], interval: TimeInterval, look: [Read] = []) {
        self.reads = reads
        self.interval = interval
        self.look = look
    }

    /// The requests a minute of looks asks at most while a step is scaled to: every look's reads and its write, and
    /// the check ticks between them.
    public var lookPerMinuteAtMost: Int {
        look.isEmpty ? 0 : ticksPerMinute * (look.reduce(0) { $0 + $1.calls } + 1) + perMinuteAtMost
    }

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
}
