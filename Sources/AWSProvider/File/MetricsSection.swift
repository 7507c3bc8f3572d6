import Foundation
import SwitchyardCore
import Yams

/// `checks.metrics`: named CloudWatch checks, each a ready-made name or a mapping with a query and one rule.
extension FileReader {
    static let metricNamePattern = #"^[a-z][a-z0-9_-]{0,62}$"#
    static let metricIdPattern = #"^[a-z][a-zA-Z0-9_]{0,254}$"#
    static let statPattern = #"^(SampleCount|Average|Sum|Minimum|Maximum|p(100|[0-9]{1,2}(\.[0-9]{1,2})?))$"#

    mutating func metricChecks(_ node: Node?) -> [MetricCheck]? {
        guard let items = sequence(node, "checks.metrics") else { return nil }
        let before = issues.count
        var checks: [MetricCheck] = []
        for (index, item) in items.enumerated() {
            let key = "checks.metrics[\(index + 1)]"
            guard let check = metricCheck(item, key: key) else { continue }
            if checks.contains(where: { $0.name == check.name }) { add(item, key, "a metric check named \(check.name) is listed twice") }
            checks.append(check)
        }
        return issues.count == before ? checks : nil
    }

    mutating func metricCheck(_ item: Node, key: String) -> MetricCheck? {
        if case .scalar = item {
            guard let name = string(item, key) else { return nil }
            guard let ready = MetricCheck.readyMade[name] else {
                add(item, key, "is not a ready-made check (known: \(MetricCheck.readyMade.keys.sorted().joined(separator: ", "))); "
                    + "write a mapping with name and a query to define one")
                return nil
            }
            return ready
        }
        guard let m = mapping(item, key) else { return nil }
        let f = fields(m, at: key, required: ["name"])
        let before = issues.count
        guard let name = string(f["name"], "\(key).name") else { return nil }
        if Self.captures(name, Self.metricNamePattern) == nil {
            add(f["name"], "\(key).name", "must be 1 to 63 characters of a-z, 0-9, _ and -, starting with a letter (got \"\(name)\")")
        }
        let ready = MetricCheck.readyMade[name]
        let query = metricQuery(f, key: key, default: ready?.query)
        let rule = metricRule(f, key: key, default: ready?.rule)
        var check = MetricCheck(name: name, query: query ?? .expression("", using: []), rule: rule ?? .bounds(min: nil, max: nil))
        if let ready { check = MetricCheck(name: name, query: check.query, period: ready.period, rule: check.rule, minSamples: ready.minSamples, onNoData: ready.onNoData) }
        if f["period"] != nil, let period = duration(f["period"], "\(key).period", positive: true) {
            let seconds = period.milliseconds / 1000
            if period.milliseconds % 1000 != 0 || !([1, 5, 10, 30].contains(seconds) || seconds % 60 == 0) {
                add(f["period"], "\(key).period", "must be 1s, 5s, 10s, 30s or a whole number of minutes, as CloudWatch allows (got \(period))")
            }
            check.period = period
        }
        if f["min_samples"] != nil { check.minSamples = int(f["min_samples"], "\(key).min_samples", range: 1...Int.max) ?? check.minSamples }
        if f["on_no_data"] != nil { check.onNoData = choice(f["on_no_data"], "\(key).on_no_data", MetricCheck.NoData.self) ?? check.onNoData }
        guard query != nil, rule != nil, issues.count == before else { return nil }
        return check
    }

    /// A metric (`namespace`, `metric`, `dimensions`, `stat`) or an `expression` over the metrics under `using`.
    mutating func metricQuery(_ f: [String: Node], key: String, default ready: MetricQuery?) -> MetricQuery? {
        let asMetric = f["namespace"] != nil || f["metric"] != nil || f["dimensions"] != nil || f["stat"] != nil
        let asExpression = f["expression"] != nil || f["using"] != nil
        if asMetric && asExpression {
            add(f["expression"] ?? f["using"], "\(key).expression", "a check reads either a metric (namespace, metric, dimensions, stat) or an expression with using, not both")
            return nil
        }
        if asExpression {
            guard let text = string(f["expression"], "\(key).expression") else {
                if f["expression"] == nil { add(f["using"], "\(key).expression", "using names the metrics of an expression; the expression is missing") }
                return nil
            }
            templates(f["expression"], text, key: "\(key).expression")
            var using: [NamedMetricStat] = []
            if f["using"] != nil, let entries = mapping(f["using"], "\(key).using") {
                for (idNode, value) in entries {
                    let id = idNode.scalar?.string ?? ""
                    let idKey = "\(key).using.\(id)"
                    if Self.captures(id, Self.metricIdPattern) == nil {
                        add(idNode, idKey, "an id starts with a lower-case letter and has only letters, digits and _ (CloudWatch's rule)")
                    }
                    guard let body = mapping(value, idKey) else { continue }
                    let fields = fields(body, at: idKey, section: "checks.metrics.using")
                    if let stat = metricStat(fields, node: value, key: idKey) { using.append(NamedMetricStat(id: id, stat: stat)) }
                }
            }
            return .expression(text, using: using)
        }
        if !asMetric {
            if let ready { return ready }
            add(f["name"], "\(key).metric", "required: a metric (namespace, metric, stat) or an expression")
            return nil
        }
        return metricStat(f, node: f["name"], key: key).map(MetricQuery.stat)
    }

    /// A metric from its keys (of a check, or of an entry under `using`); `node` places a missing key's issue.
    mutating func metricStat(_ f: [String: Node], node: Node?, key: String) -> MetricStat? {
        for name in ["namespace", "metric"] where f[name] == nil { add(node, "\(key).\(name)", "required key is missing") }
        let before = issues.count
        let namespace = string(f["namespace"], "\(key).namespace")
        let metric = string(f["metric"], "\(key).metric")
        var stat = "Average"
        if f["stat"] != nil, let text = string(f["stat"], "\(key).stat") {
            stat = text
            if Self.captures(text, Self.statPattern) == nil {
                add(f["stat"], "\(key).stat", "must be SampleCount, Average, Sum, Minimum, Maximum or a percentile such as p99 or p99.9 (got \"\(text)\")")
            }
        }
        var dimensions: [MetricDimension] = []
        if f["dimensions"] != nil, let entries = mapping(f["dimensions"], "\(key).dimensions") {
            if entries.count > 30 { add(f["dimensions"], "\(key).dimensions", "CloudWatch allows at most 30 dimensions (got \(entries.count))") }
            for (nameNode, value) in entries {
                let name = nameNode.scalar?.string ?? ""
                guard let text = string(value, "\(key).dimensions.\(name)") else { continue }
                templates(value, text, key: "\(key).dimensions.\(name)")
                dimensions.append(MetricDimension(name: name, value: text))
            }
        }
        guard let namespace, let metric, issues.count == before else { return nil }
        return MetricStat(namespace: namespace, metric: metric, dimensions: dimensions, stat: stat)
    }

    mutating func templates(_ node: Node?, _ text: String, key: String) {
        for name in MetricTemplate.unknown(in: text) {
            add(node, key, "{\(name)} is not a template; known: \(MetricTemplate.names.map { "{\($0)}" }.joined(separator: ", "))")
        }
    }

    /// Exactly one rule: `max`/`min`, `max_ratio_to_blue`, or `compare: mann_whitney` with `tolerance` and `confidence`.
    mutating func metricRule(_ f: [String: Node], key: String, default ready: MetricRule?) -> MetricRule? {
        let before = issues.count
        let high = f["max"] == nil ? nil : number(f["max"], "\(key).max")
        let low = f["min"] == nil ? nil : number(f["min"], "\(key).min")
        let ratio = f["max_ratio_to_blue"] == nil ? nil : number(f["max_ratio_to_blue"], "\(key).max_ratio_to_blue")
        let kinds = [f["max"] != nil || f["min"] != nil, f["max_ratio_to_blue"] != nil, f["compare"] != nil].filter { $0 }.count
        if kinds > 1 {
            add(f["max_ratio_to_blue"] ?? f["compare"], key, "a check has one rule: max/min, max_ratio_to_blue or compare; make two checks to apply two")
        }
        if let ratio, ratio <= 0 { add(f["max_ratio_to_blue"], "\(key).max_ratio_to_blue", "must be above 0 (got \(ratio))") }
        if let low, let high, low > high { add(f["min"], "\(key).min", "is above max (\(low) > \(high))") }
        var readyCompares = false
        if case .mannWhitney? = ready { readyCompares = kinds == 0 }
        if f["compare"] == nil && !readyCompares {
            for name in ["tolerance", "confidence"] where f[name] != nil { add(f[name], "\(key).\(name)", "belongs to compare: mann_whitney") }
        } else if let method = string(f["compare"], "\(key).compare"), method != "mann_whitney" {
            add(f["compare"], "\(key).compare", "must be mann_whitney (got \"\(method)\")")
        }
        var tolerance = 0.25, confidence = 0.98
        if case .mannWhitney(let t, let c)? = ready { (tolerance, confidence) = (t, c) }
        if f["tolerance"] != nil, let value = number(f["tolerance"], "\(key).tolerance") {
            if value < 0 { add(f["tolerance"], "\(key).tolerance", "must be 0 or more (got \(value))") }
            tolerance = value
        }
        if f["confidence"] != nil, let value = number(f["confidence"], "\(key).confidence") {
            if !(value > 0.5 && value < 1) { add(f["confidence"], "\(key).confidence", "must be between 0.5 and 1, such as 0.98 (got \(value))") }
            confidence = value
        }
        guard issues.count == before else { return nil }
        if kinds == 0 {
            if readyCompares { return .mannWhitney(tolerance: tolerance, confidence: confidence) }
            if let ready { return ready }
            add(f["name"], key, "needs a rule: max, min, max_ratio_to_blue or compare: mann_whitney")
            return nil
        }
        if let ratio { return .ratioToBlue(max: ratio) }
        if f["compare"] != nil { return .mannWhitney(tolerance: tolerance, confidence: confidence) }
        return .bounds(min: low, max: high)
    }

    /// A number, integer or decimal.
    mutating func number(_ node: Node?, _ key: String) -> Double? {
        guard let node else { return nil }
        let kind = Self.kind(node)
        guard case .scalar(let scalar) = node, kind.hasPrefix("integer") || kind.hasPrefix("number"), let value = Double(scalar.string), value.isFinite else {
            add(node, key, "must be a number, got \(kind)")
            return nil
        }
        return value
    }
}
