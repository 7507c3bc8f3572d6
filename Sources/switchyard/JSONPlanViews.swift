import Foundation
import SwitchyardCore

/// The parts of `plan --json` that show what the release will ask CloudWatch and which commands it will run.
extension JSONViews.PlanView {
    /// One hook as the file gave it, with its defaults filled in.
    struct Hook: Encodable {
        let run: [String]
        let timeout_ms: Int64
        let on_failure: String

        init(_ hook: SwitchyardCore.Hook) {
            run = hook.run
            timeout_ms = hook.timeout.milliseconds
            on_failure = hook.onFailure.rawValue
        }
    }

    /// A metric check: its rule in words, and the queries a tick sends, with every template filled in.
    struct Metric: Encodable {
        let name: String
        let rule: String
        let period_ms: Int64
        let min_samples: Int
        let on_no_data: String
        let green: Query
        /// Nil when the rule judges green alone (`max`/`min`).
        let blue: Query?

        init(_ check: MetricCheck, _ values: MetricTemplate.Values) {
            name = check.name
            rule = check.describe(values).first ?? check.name
            period_ms = check.period.milliseconds
            min_samples = check.minSamples
            on_no_data = check.onNoData.rawValue
            green = Query(MetricTemplate.fill(check.query, values, side: .green))
            blue = check.rule.needsBlue ? Query(MetricTemplate.fill(check.query, values, side: .blue)) : nil
        }
    }

    /// A metric, or an expression over the metrics it names.
    struct Query: Encodable {
        let expression: String?
        let metrics: [Stat]

        init(_ query: MetricQuery) {
            switch query {
            case .stat(let stat):
                expression = nil
                metrics = [Stat(id: nil, stat)]
            case .expression(let text, let using):
                expression = text
                metrics = using.map { Stat(id: $0.id, $0.stat) }
            }
        }
    }

    struct Stat: Encodable {
        let id: String?
        let namespace: String
        let metric: String
        let stat: String
        let dimensions: [String: String]

        init(id: String?, _ stat: MetricStat) {
            self.id = id
            namespace = stat.namespace
            metric = stat.metric
            self.stat = stat.stat
            dimensions = Dictionary(stat.dimensions.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
    }
}
