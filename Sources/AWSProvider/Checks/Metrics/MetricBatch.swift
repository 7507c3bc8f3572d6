import Foundation
import SwitchyardCore

/// A tick's metric checks as one batch of CloudWatch queries (green's and blue's series together), and the way back
/// from the answers to each check's verdict. Pure: the orchestrator sends `queries` in one `GetMetricData` call.
public struct MetricBatch: Sendable, Hashable {
    /// One query of the batch, in CloudWatch's terms but without its wire format.
    public struct Query: Sendable, Hashable {
        public enum Body: Sendable, Hashable {
            case stat(MetricStat, periodSeconds: Int)
            case expression(String)
        }

        public var id: String
        public var body: Body
        /// False for the metrics an expression reads: only the expression's series is judged.
        public var returnData: Bool
        public var label: String

        public init(id: String, body: Body, returnData: Bool, label: String) {
            self.id = id
            self.body = body
            self.returnData = returnData
            self.label = label
        }
    }

    /// The query ids that carry one check's series.
    public struct Series: Sendable, Hashable {
        public var check: MetricCheck
        public var green: String
        /// Nil when the rule does not read blue: blue's query is not even sent.
        public var blue: String?
    }

    public var queries: [Query]
    public var series: [Series]

    /// The batch for `checks` with their templates filled for this release; blue's queries only where a rule reads blue.
    public static func plan(_ checks: [MetricCheck], values: MetricTemplate.Values) -> MetricBatch {
        var batch = MetricBatch(queries: [], series: [])
        for (index, check) in checks.enumerated() {
            let green = batch.add(check, prefix: "c\(index + 1)", side: .green, values: values)
            let blue = check.rule.needsBlue ? batch.add(check, prefix: "c\(index + 1)", side: .blue, values: values) : nil
            batch.series.append(Series(check: check, green: green, blue: blue))
        }
        return batch
    }

    /// Adds one side's queries and returns the id of the one whose series is judged.
    private mutating func add(_ check: MetricCheck, prefix: String, side: MetricTemplate.Side, values: MetricTemplate.Values) -> String {
        let id = "\(prefix)\(side == .green ? "g" : "b")"
        let label = "\(check.name) \(side.rawValue)"
        let period = Int(check.period.milliseconds / 1000)
        switch MetricTemplate.fill(check.query, values, side: side) {
        case .stat(let stat):
            queries.append(Query(id: id, body: .stat(stat, periodSeconds: period), returnData: true, label: label))
        case .expression(let expression, let using):
            // Ids are unique across the whole call, so each side's metrics get the side's prefix, in the expression too.
            let renamed = Dictionary(uniqueKeysWithValues: using.map { ($0.id, "\(id)_\($0.id)") })
            for metric in using {
                queries.append(Query(id: renamed[metric.id] ?? metric.id, body: .stat(metric.stat, periodSeconds: period), returnData: false,
                                     label: "\(label) \(metric.id)"))
            }
            queries.append(Query(id: id, body: .expression(Self.rename(expression, renamed)), returnData: true, label: label))
        }
        return id
    }

    /// `expression` with every identifier in `names` replaced, leaving quoted text (SEARCH strings) alone.
    static func rename(_ expression: String, _ names: [String: String]) -> String {
        var out = ""
        var word = ""
        var quote: Character?
        func flush() {
            out += names[word] ?? word
            word = ""
        }
        for character in expression {
            if let open = quote {
                out.append(character)
                if character == open { quote = nil }
            } else if character.isLetter || character.isNumber || character == "_" {
                word.append(character)
            } else {
                flush()
                if character == "'" || character == "\"" { quote = character }
                out.append(character)
            }
        }
        flush()
        return out
    }

    /// Each check's verdict from the answers (query id → data points, oldest first); a missing series is no data.
    public func verdicts(_ results: [String: [Double]]) -> [MetricVerdict] {
        series.map { series in
            let check = series.check
            return MetricJudge.judge(check.name, rule: check.rule, minSamples: check.minSamples, green: results[series.green] ?? [],
                                     blue: series.blue.flatMap { results[$0] } ?? [])
        }
    }
}

extension MetricTemplate.Values {
    /// The release's values: its target groups, the load balancer of its primary listener (with Route 53, each stack's
    /// own), its two groups.
    public init(plan: ReleasePlan) {
        let stacks = plan.stackLoadBalancers
        self.init(greenTargetGroupArn: plan.greenPool, blueTargetGroupArn: plan.blue.pool,
                  loadBalancerArn: stacks?[plan.greenPool] ?? plan.spec.traffic.primaryForward, greenASG: plan.greenGroup,
                  blueASG: plan.blue.group, blueLoadBalancerArn: stacks?[plan.blue.pool])
    }
}

extension MetricCheck {
    /// What `plan` shows of a check: its rule, then green's and (when the rule reads blue) blue's query, templates filled.
    public func describe(_ values: MetricTemplate.Values) -> [String] {
        let rule: String
        switch self.rule {
        case .bounds(let low, let high):
            rule = "green's mean " + [low.map { "at least \(MetricJudge.format($0))" }, high.map { "at most \(MetricJudge.format($0))" }]
                .compactMap { $0 }.joined(separator: " and ")
        case .ratioToBlue(let ratio):
            rule = "green's mean at most \(MetricJudge.format(ratio)) × blue's"
        case .mannWhitney(let tolerance, let confidence):
            rule = "green against blue by Mann-Whitney (tolerance \(MetricJudge.format(tolerance)), confidence \(MetricJudge.format(confidence)))"
        }
        var lines = ["\(name): \(rule); every \(period), min_samples \(minSamples), on_no_data \(onNoData.rawValue)"]
        let sides: [MetricTemplate.Side] = self.rule.needsBlue ? [.green, .blue] : [.green]
        for side in sides {
            lines.append("  \(side.rawValue): " + Self.describe(MetricTemplate.fill(query, values, side: side)))
        }
        return lines
    }

    static func describe(_ query: MetricQuery) -> String {
        switch query {
        case .stat(let stat):
            return describe(stat)
        case .expression(let expression, let using):
            return ([expression] + using.map { "\($0.id) = \(describe($0.stat))" }).joined(separator: "; ")
        }
    }

    static func describe(_ stat: MetricStat) -> String {
        let dimensions = stat.dimensions.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
        return "\(stat.namespace) \(stat.metric) \(stat.stat)" + (dimensions.isEmpty ? "" : " {\(dimensions)}")
    }
}
