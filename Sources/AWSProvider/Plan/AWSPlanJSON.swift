import Foundation
import SwitchyardCore

/// AWS's fields of `plan --json` (docs/commands.md): the test route's listener, the Route 53 records, the shared pool's
/// counts and the metric checks with their queries filled in.
enum PlanJSON {
    struct TestRoute: Encodable {
        let header: String
        let value: String
        let listener_arn: String
    }

    /// With `traffic.shared`: the target group both fleets stand in, blue's healthy instances there at the start,
    /// and each step's counts if nothing else changes (each step reads them afresh).
    struct Shared: Encodable {
        /// The target group both fleets stand in, or (for a Classic Load Balancer) nil and `load_balancer_name` set.
        let target_group_arn: String?
        let load_balancer_name: String?
        let start_healthy: Int
        let steps: [Counts]

        struct Counts: Encodable {
            let weight: Int
            let blue: Int
            let green: Int
        }

        init(_ s: DeploymentSpec.SharedTraffic, plan p: ReleasePlan, start: Int) {
            target_group_arn = s.loadBalancerName == nil ? s.targetGroup : nil
            load_balancer_name = s.loadBalancerName
            start_healthy = start
            steps = p.weights.map { w in
                let split = SharedSplit.step(share: w, startHealthy: start, blueHealthy: 0, greenHealthy: 0)
                return Counts(weight: w, blue: split.blue, green: split.green)
            }
        }
    }

    /// With `traffic.route53`: the records and the wait each step adds before its bake.
    struct Route53: Encodable {
        let hosted_zone_id: String
        let record_name: String
        let record_type: String
        let records: [Record]
        let ttl_seconds: Int?
        let added_wait_ms: Int64

        struct Record: Encodable {
            let set_identifier: String
            let target: String
            let target_group_arn: String
            let load_balancer_arn: String?
        }

        init(_ r: DeploymentSpec.Route53Traffic, plan p: ReleasePlan) {
            hosted_zone_id = r.hostedZoneId
            record_name = r.recordName
            record_type = r.recordType
            records = r.records.map { Record(set_identifier: $0.setIdentifier, target: $0.target, target_group_arn: $0.targetGroup,
                                             load_balancer_arn: p.stackLoadBalancers?[$0.targetGroup]) }
            ttl_seconds = p.trafficSettleSeconds
            added_wait_ms = p.trafficSettle.milliseconds * Int64(p.spec.weightSteps.count)
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
