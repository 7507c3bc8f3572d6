import AWS
import Foundation
import SwitchyardCore

extension AWSEffects {
    /// The `checks.metrics` of a tick as one scheduled check: one `GetMetricData` call for every check, green's and
    /// blue's series together, one result per metric check whose evidence is the verdict's line (green's, blue's, the bound).
    /// "Not enough data" passes here; the machine applies the check's `on_no_data` once the step's bake is over.
    func metricChecks(_ d: Deployment, readFailures: Int) -> ScheduledCheck? {
        let checks = d.plan.spec.checks.metrics
        guard !checks.isEmpty else { return nil }
        let names = checks.map { "metric:\($0.name)" }
        let batch = MetricBatch.plan(checks, values: MetricTemplate.Values(plan: d.plan))
        let end = clock.now()
        let start = end.addingTimeInterval(-Self.metricLookback(checks))
        return ScheduledCheck(name: "metrics", resultNames: names, timeoutThreshold: readFailures, timeout: max(d.plan.spec.checks.interval.seconds, Self.awsReadFloor)) { [aws] in
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
