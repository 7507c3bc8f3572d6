import AWS
import Foundation
import SwitchyardCore

/// What a release asks AWS while a step bakes: one check tick every `checks.interval`, each tick the reads below and
/// nothing else, every read made once however many checks use its answer (green's group and its target health serve
/// the target-health check; every alarm is in one `DescribeAlarms` per 100; every metric check, green's and blue's
/// series, is in one `GetMetricData` per 500 queries). The HTTP probe and hooks ask AWS nothing. This is the
/// documented figure `plan` prints (docs/commands.md#plan); `AWSEffects.checks` makes exactly these reads, and the
/// e2e request count (e2e/test_requests.py) holds the two equal.
public struct TickCost: Sendable, Equatable {
    public struct Read: Sendable, Equatable {
        /// The signing name of the service: `autoscaling`, `elasticloadbalancing`, `monitoring`.
        public var service: String
        public var action: String
        public var calls: Int
        public var purpose: String
    }

    public var reads: [Read]
    public var interval: TimeInterval

    public var perTick: Int { reads.reduce(0) { $0 + $1.calls } }
    /// At most this many ticks start in any minute: one each interval.
    public var ticksPerMinute: Int { Int((60 / interval).rounded(.up)) }
    public var perMinute: Int { ticksPerMinute * perTick }
    /// Requests a minute by service: AWS's rate limits are per service (and per action), per account and region.
    public var perMinuteByService: [String: Int] {
        reads.reduce(into: [:]) { $0[$1.service, default: 0] += $1.calls * ticksPerMinute }
    }

    public static func of(_ plan: ReleasePlan) -> TickCost {
        let checks = plan.spec.checks
        var reads = [
            Read(service: "autoscaling", action: "DescribeAutoScalingGroups", calls: 1, purpose: "green's instances and their lifecycle"),
            Read(service: "elasticloadbalancing", action: "DescribeTargetHealth", calls: 1, purpose: "green's target health"),
        ]
        if !checks.alarms.isEmpty {
            reads.append(Read(service: "monitoring", action: "DescribeAlarms", calls: batches(checks.alarms.count, of: CloudWatch.maxAlarmNamesPerCall),
                              purpose: "the \(Spelling.count(checks.alarms.count, "alarm")) of checks.alarms"))
        }
        if !checks.metrics.isEmpty {
            let queries = MetricBatch.plan(checks.metrics, values: MetricTemplate.Values(plan: plan)).queries.count
            reads.append(Read(service: "monitoring", action: "GetMetricData", calls: batches(queries, of: CloudWatch.maxQueriesPerCall),
                              purpose: "\(Spelling.count(queries, "query", plural: "queries")) of checks.metrics"))
        }
        return TickCost(reads: reads, interval: max(checks.interval.seconds, 0.001))
    }

    static func batches(_ count: Int, of size: Int) -> Int { (count + size - 1) / size }
}
