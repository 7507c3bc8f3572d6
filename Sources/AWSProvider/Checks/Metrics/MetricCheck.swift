import Foundation
import SwitchyardCore

/// One CloudWatch metric and statistic: the `MetricStat` of a `GetMetricData` query, before templating.
public struct MetricStat: Sendable, Hashable, Codable {
    public var namespace: String
    public var metric: String
    /// In the file's order; values may hold templates such as `{green_target_group}`.
    public var dimensions: [MetricDimension]
    /// `Sum`, `Average`, `SampleCount`, `Minimum`, `Maximum`, or an extended statistic such as `p99`.
    public var stat: String

    public init(namespace: String, metric: String, dimensions: [MetricDimension], stat: String) {
        self.namespace = namespace
        self.metric = metric
        self.dimensions = dimensions
        self.stat = stat
    }
}

/// A dimension of a CloudWatch metric.
public struct MetricDimension: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// What a metric check reads for one fleet: a metric, or a metric-math expression over metrics it names.
public enum MetricQuery: Sendable, Hashable, Codable {
    case stat(MetricStat)
    /// Metric math (`errors / requests`) whose ids are the named metrics, in the file's order.
    case expression(String, using: [NamedMetricStat])
}

/// A metric an expression refers to by id.
public struct NamedMetricStat: Sendable, Hashable, Codable {
    public var id: String
    public var stat: MetricStat

    public init(id: String, stat: MetricStat) {
        self.id = id
        self.stat = stat
    }
}

/// One `checks.metrics` entry: a query written for green (blue's is the mirror, see `MetricTemplate`) and its rule.
public struct MetricCheck: Sendable, Hashable, Codable {
    /// What the file does when a check has too few samples past a step's bake (the machine's `OnNoData`).
    public typealias NoData = OnNoData

    public var name: String
    public var query: MetricQuery
    /// The width of one data point.
    public var period: TimeSpan
    public var rule: MetricRule
    public var minSamples: Int
    public var onNoData: NoData

    public init(name: String, query: MetricQuery, period: TimeSpan = .seconds(60), rule: MetricRule, minSamples: Int = 3, onNoData: NoData = .pause) {
        self.name = name
        self.query = query
        self.period = period
        self.rule = rule
        self.minSamples = minSamples
        self.onNoData = onNoData
    }

    /// The checks a file can name alone (`metrics: [alb_5xx_rate]`), per target group behind the release's load balancer.
    public static let readyMade: [String: MetricCheck] = [
        "alb_5xx_rate": rate("alb_5xx_rate", errors: "HTTPCode_Target_5XX_Count"),
        "alb_4xx_rate": rate("alb_4xx_rate", errors: "HTTPCode_Target_4XX_Count"),
        "alb_p99_latency": MetricCheck(name: "alb_p99_latency", query: .stat(albStat("TargetResponseTime", stat: "p99")),
                                       rule: .ratioToBlue(max: 1.5), minSamples: 3),
    ]

    static func albStat(_ metric: String, stat: String) -> MetricStat {
        MetricStat(namespace: "AWS/ApplicationELB", metric: metric, dimensions: [
            MetricDimension(name: "LoadBalancer", value: "{load_balancer}"),
            MetricDimension(name: "TargetGroup", value: "{green_target_group}"),
        ], stat: stat)
    }

    /// Errors per request, judged like Kayenta judges a canary: a ratio to blue would fail on one error when blue has none.
    static func rate(_ name: String, errors: String) -> MetricCheck {
        MetricCheck(name: name, query: .expression("errors / requests", using: [
            NamedMetricStat(id: "errors", stat: albStat(errors, stat: "Sum")),
            NamedMetricStat(id: "requests", stat: albStat("RequestCount", stat: "Sum")),
        ]), rule: .mannWhitney(tolerance: 0.25, confidence: 0.98), minSamples: 3)
    }
}

/// Fills a metric query's templates for green or blue: pure, so `plan` can show exactly what a tick will ask.
public enum MetricTemplate {
    /// The templates a query may use.
    public static let names = ["green_target_group", "blue_target_group", "load_balancer", "green_asg", "blue_asg"]

    /// The release's values, as ARNs and group names; `fill` turns ARNs into CloudWatch's dimension forms.
    public struct Values: Sendable, Hashable {
        public var greenTargetGroupArn: String
        public var blueTargetGroupArn: String
        /// The load balancer's ARN, or one of its listeners' or rules' ARNs.
        public var loadBalancerArn: String
        public var greenASG: String
        public var blueASG: String
        /// Blue's own load balancer when the two stacks have one each (Route 53); nil when both share `loadBalancerArn`.
        public var blueLoadBalancerArn: String?

        public init(greenTargetGroupArn: String, blueTargetGroupArn: String, loadBalancerArn: String, greenASG: String, blueASG: String,
                    blueLoadBalancerArn: String? = nil) {
            self.blueLoadBalancerArn = blueLoadBalancerArn
            self.greenTargetGroupArn = greenTargetGroupArn
            self.blueTargetGroupArn = blueTargetGroupArn
            self.loadBalancerArn = loadBalancerArn
            self.greenASG = greenASG
            self.blueASG = blueASG
        }
    }

    /// Which fleet a query is filled for: blue's query is green's with every green template and blue template swapped.
    public enum Side: String, Sendable, Hashable, Codable {
        case green, blue
    }

    /// `…:targetgroup/web-a/0123` → `targetgroup/web-a/0123`, the `TargetGroup` dimension's form.
    public static func targetGroupDimension(_ arn: String) -> String {
        guard let range = arn.range(of: ":targetgroup/") else { return arn }
        return String(arn[arn.index(after: range.lowerBound)...])
    }

    /// `…:loadbalancer/app/web/50dc`, or a listener or rule ARN under it → `app/web/50dc`, the `LoadBalancer` dimension's form.
    public static func loadBalancerDimension(_ arn: String) -> String {
        for marker in [":loadbalancer/", ":listener/", ":listener-rule/"] {
            guard let range = arn.range(of: marker) else { continue }
            let parts = arn[range.upperBound...].split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 3 else { return arn }
            return parts.prefix(3).joined(separator: "/")
        }
        return arn
    }

    /// `text` with every template replaced by its value for `side`.
    public static func fill(_ text: String, _ values: Values, side: Side) -> String {
        let green = (targetGroupDimension(values.greenTargetGroupArn), values.greenASG)
        let blue = (targetGroupDimension(values.blueTargetGroupArn), values.blueASG)
        let (mine, theirs) = side == .green ? (green, blue) : (blue, green)
        let replacements = [
            "{green_target_group}": mine.0, "{blue_target_group}": theirs.0, "{green_asg}": mine.1, "{blue_asg}": theirs.1,
            "{load_balancer}": loadBalancerDimension(side == .blue ? values.blueLoadBalancerArn ?? values.loadBalancerArn : values.loadBalancerArn),
        ]
        // One pass over the text, so a value that happens to contain a template is never filled again.
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            if let close = rest[open...].firstIndex(of: "}"), let value = replacements[String(rest[open...close])] {
                out += value
                rest = rest[rest.index(after: close)...]
            } else {
                out.append("{")
                rest = rest[rest.index(after: open)...]
            }
        }
        return out + rest
    }

    /// The templates a query's dimensions and expression name.
    public static func used(in query: MetricQuery) -> Set<String> {
        let stats: [MetricStat]
        var texts: [String] = []
        switch query {
        case .stat(let stat): stats = [stat]
        case .expression(let expression, let using): stats = using.map(\.stat); texts.append(expression)
        }
        texts += stats.flatMap { $0.dimensions.map(\.value) }
        guard let regex = try? NSRegularExpression(pattern: #"\{([a-z_]+)\}"#) else { return [] }
        return Set(texts.flatMap { text in
            regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
                Range(match.range(at: 1), in: text).map { String(text[$0]) }
            }
        })
    }

    /// The templates in `text` that are not one of `names`, for the file's validation.
    public static func unknown(in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: #"\{([a-z_]+)\}"#) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }.filter { !names.contains($0) }
    }

    /// A metric with its dimensions filled for `side`.
    public static func fill(_ stat: MetricStat, _ values: Values, side: Side) -> MetricStat {
        var filled = stat
        filled.dimensions = stat.dimensions.map { MetricDimension(name: $0.name, value: fill($0.value, values, side: side)) }
        return filled
    }

    /// A query with every template filled for `side`.
    public static func fill(_ query: MetricQuery, _ values: Values, side: Side) -> MetricQuery {
        switch query {
        case .stat(let stat):
            return .stat(fill(stat, values, side: side))
        case .expression(let expression, let using):
            return .expression(fill(expression, values, side: side), using: using.map { NamedMetricStat(id: $0.id, stat: fill($0.stat, values, side: side)) })
        }
    }
}

extension DeploymentSpec.Checks {
    /// The file's `checks.metrics` as CloudWatch checks, read back from the record's copy of them. A record whose copy
    /// is not one (written by a switchyard that knew other fields) is an error, never a release without its checks.
    public func metricChecks() throws -> [MetricCheck] {
        metrics.isEmpty ? [] : try metrics.decode([MetricCheck].self)
    }

    /// Keeps these checks as the file's `checks.metrics`.
    public mutating func setMetricChecks(_ checks: [MetricCheck]) {
        // Encoding a value type of strings, numbers and enums cannot fail; were it to, the checks are not dropped.
        metrics = (try? JSONValue(encoding: checks)) ?? .null
    }
}
