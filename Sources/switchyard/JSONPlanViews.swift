import AWSProvider
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

        // Written out so that `blue` is null, not left out, when the rule judges green alone (docs/commands.md).
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(rule, forKey: .rule)
            try c.encode(period_ms, forKey: .period_ms)
            try c.encode(min_samples, forKey: .min_samples)
            try c.encode(on_no_data, forKey: .on_no_data)
            try c.encode(green, forKey: .green)
            try c.encode(blue, forKey: .blue)
        }

        enum CodingKeys: String, CodingKey { case name, rule, period_ms, min_samples, on_no_data, green, blue }
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

        // `expression` is null for a plain metric, never missing.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(expression, forKey: .expression)
            try c.encode(metrics, forKey: .metrics)
        }

        enum CodingKeys: String, CodingKey { case expression, metrics }
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

        // `id` is null for a plain metric's one stat, never missing.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(namespace, forKey: .namespace)
            try c.encode(metric, forKey: .metric)
            try c.encode(stat, forKey: .stat)
            try c.encode(dimensions, forKey: .dimensions)
        }

        enum CodingKeys: String, CodingKey { case id, namespace, metric, stat, dimensions }
    }
}
