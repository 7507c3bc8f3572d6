import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// `checks.metrics`: CloudWatch metrics of green (and blue, for a comparison) judged against bounds, blue, or a rank
/// test; every check, green's and blue's series, in one `GetMetricData` per 500 queries. Not before traffic: green
/// has served nothing yet, and its target group's window may hold the errors of the fleet that stood in it before.
struct MetricsCheck: CheckKind {
    var section: String { "checks.metrics" }
    var beforeTraffic: Bool { false }

    func reads(_ plan: ReleasePlan) -> [TickCost.Read] {
        // A record's checks that cannot be read cost no reads: the tick's check fails on them instead (below).
        let checks = (try? plan.spec.checks.metricChecks()) ?? []
        guard !checks.isEmpty else { return [] }
        let queries = MetricBatch.plan(checks, values: MetricTemplate.Values(plan: plan)).queries.count
        return [TickCost.Read(service: "monitoring", action: "GetMetricData", calls: TickCost.batches(queries, of: CloudWatch.maxQueriesPerCall),
                              purpose: "\(Spelling.count(queries, "query", plural: "queries")) of checks.metrics")]
    }

    func check(_ d: Deployment, _ tick: CheckTick) -> ScheduledCheck? {
        tick.effects.metricChecks(d, tick)
    }
}

extension AWSEffects {
    /// The `checks.metrics` of a tick as one scheduled check: one `GetMetricData` call for every check, green's and
    /// blue's series together, one result per metric check whose evidence is the verdict's line (green's, blue's, the bound).
    /// "Not enough data" passes here; the machine applies the check's `on_no_data` once the step's bake is over.
    func metricChecks(_ d: Deployment, _ tick: CheckTick) -> ScheduledCheck? {
        let checks: [MetricCheck]
        do {
            checks = try d.plan.spec.checks.metricChecks()
        } catch {
            // Evidence against going on: a release is never judged without the checks its file asked for.
            let problem = "the record's checks.metrics cannot be read: \(error)"
            return tick.reading("metrics", resultNames: ["metrics"], from: []) { [CheckResult(name: "metrics", passed: false, evidence: problem)] }
        }
        guard !checks.isEmpty else { return nil }
        let names = checks.map { "metric:\($0.name)" }
        let batch = MetricBatch.plan(checks, values: MetricTemplate.Values(plan: d.plan))
        let end = clock.now()
        let start = Self.metricWindowStart(checks, end: end, liveAt: Self.stepLiveAt(d))
        let readFailures = tick.readFailures
        return tick.reading("metrics", resultNames: names, from: [.cloudWatch]) { [aws] in
            // The step went live less than a whole period ago: no period holds only its traffic yet.
            guard end.timeIntervalSince(start) >= 1 else {
                return zip(batch.verdicts([:]), checks).map { verdict, check in
                    CheckResult(name: "metric:\(verdict.check)", passed: verdict.outcome != .fail, evidence: verdict.text,
                                onNoData: verdict.outcome == .notEnoughData ? check.onNoData : nil)
                }
            }
            do {
                let results = try await aws.cloudWatch.getMetricData(queries: batch.queries.map(Self.dataQuery), start: start, end: end)
                let series = Dictionary(results.map { ($0.id, $0.values) }, uniquingKeysWith: { first, _ in first })
                return zip(batch.verdicts(series), checks).map { verdict, check in
                    CheckResult(name: "metric:\(verdict.check)", passed: verdict.outcome != .fail, evidence: verdict.text,
                                onNoData: verdict.outcome == .notEnoughData ? check.onNoData : nil)
                }
            } catch {
                return names.map { CheckResult(name: $0, passed: false, evidence: "could not read the metrics: \(error)", threshold: readFailures) }
            }
        }
    }

    /// How far back a tick reads: enough periods for the largest `min_samples` twice over, and never fewer than ten,
    /// so a check judges the recent past of both fleets over the same window rather than one data point.
    static func metricLookback(_ checks: [MetricCheck]) -> TimeInterval {
        checks.map { $0.period.seconds * Double(max(10, 2 * $0.minSamples)) }.max() ?? 600
    }

    /// When the traffic a metric check judges began: the current step's live time (its confirmation + traffic.settle)
    /// while green takes traffic at a step; nil before green's first weight and at a manual gate.
    static func stepLiveAt(_ d: Deployment) -> Date? {
        guard d.state == .shifting || d.state == .paused, d.greenWeight > 0 else { return nil }
        return d.bakeStartedAt
    }

    /// The window's start: the lookback, but never before the step's traffic was live, so a step is judged on its own
    /// traffic and not on the step before's (nor on another fleet's errors in green's target group from before the
    /// release). CloudWatch rounds a StartTime down (to the whole minute, or to a 1/5/10/30 s division of it for a
    /// high-resolution period) and counts each period from it, so the live time is rounded *up* to that boundary: no
    /// period that began before the step was live is read. Both fleets are read over the same window.
    static func metricWindowStart(_ checks: [MetricCheck], end: Date, liveAt: Date?) -> Date {
        let lookback = end.addingTimeInterval(-metricLookback(checks))
        guard let liveAt else { return lookback }
        let boundary = min(60, checks.map { $0.period.seconds }.max() ?? 60)
        let aligned = Date(timeIntervalSince1970: (liveAt.timeIntervalSince1970 / boundary).rounded(.up) * boundary)
        return max(lookback, aligned)
    }

    static func dataQuery(_ query: MetricBatch.Query) -> MetricDataQuery {
        switch query.body {
        case .stat(let stat, let period):
            let metric = MetricDataQuery.Stat(namespace: stat.namespace, metricName: stat.metric, dimensions: stat.dimensions.map { ($0.name, $0.value) },
                                              period: period, stat: stat.stat)
            return MetricDataQuery(id: query.id, body: .stat(metric), returnData: query.returnData, label: query.label)
        case .expression(let expression):
            return MetricDataQuery(id: query.id, body: .expression(expression), returnData: query.returnData, label: query.label)
        }
    }
}
