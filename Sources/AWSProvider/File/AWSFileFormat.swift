import Foundation
import SwitchyardCore
import Yams

/// AWS's part of the deployment file: `region`, the three traffic backends' sections (ALB listeners and rules,
/// `traffic.route53`, `traffic.shared`), `fleet:` (Auto Scaling groups and launch templates), `checks.alarms` and
/// `checks.metrics` (CloudWatch), and the test route's `listener_arn`. The core reads the rest of the file.
public struct AWSFileFormat: ProviderFileFormat {
    public init() { AWSTrafficBackends.register() }

    public let schema: [String: [String]] = [
        "": ["region"],
        "traffic": ["listener_arn", "listener_arns", "rule_arn", "rule_arns", "target_groups", "route53", "shared", "settle"],
        "traffic.shared": ["target_group", "load_balancer_name"],
        "traffic.route53": ["hosted_zone_id", "record_name", "record_type", "records"],
        "traffic.route53.records": ["set_identifier", "target", "target_group"],
        "fleet": ["blue_auto_scaling_group", "capacity_timeout", "other_target_groups", "launch_template_default", "mode", "pair"],
        "checks": ["alarms", "metrics"],
        "checks.metrics": ["name", "namespace", "metric", "dimensions", "stat", "period", "expression", "using", "max", "min",
                           "max_ratio_to_blue", "compare", "tolerance", "confidence", "min_samples", "on_no_data"],
        "checks.metrics.using": ["namespace", "metric", "dimensions", "stat"],
        "checks.http.test_route": ["listener_arn"],
    ]

    public let requiredKeys = ["region"]

    public func location(_ reader: inout FileReader, _ top: [String: Node]) -> String? {
        guard let region = reader.string(top["region"], "region") else { return nil }
        guard FileReader.captures(region, FileReader.regionPattern) != nil else {
            reader.add(top["region"], "region", "is not an AWS region name like us-east-1 (got \"\(region)\")")
            return nil
        }
        return region
    }

    public func traffic(_ reader: inout FileReader, _ mapping: Node.Mapping, location: String?) -> DeploymentSpec.Traffic? {
        reader.traffic(mapping, region: location)
    }

    public func fleet(_ reader: inout FileReader, _ node: Node?) -> DeploymentSpec.Fleet? {
        guard let node else { return DeploymentSpec.Fleet() }
        return reader.mapping(node, "fleet").flatMap { reader.fleet($0) }
    }

    public func checks(_ reader: inout FileReader, _ f: [String: Node], into checks: inout DeploymentSpec.Checks) {
        if f["alarms"] != nil, let items = reader.sequence(f["alarms"], "checks.alarms") {
            var names: [String] = []
            for (index, item) in items.enumerated() {
                guard let name = reader.string(item, "checks.alarms[\(index + 1)]") else { continue }
                if names.contains(name) { reader.add(item, "checks.alarms[\(index + 1)]", "alarm \(name) is listed twice") }
                names.append(name)
            }
            checks.alarms = names
        }
        if f["metrics"] != nil { checks.setMetricChecks(reader.metricChecks(f["metrics"]) ?? []) }
    }

    public func testRouteForward(_ reader: inout FileReader, _ f: [String: Node], key: String) -> String? {
        guard f["listener_arn"] != nil, let text = reader.string(f["listener_arn"], "\(key).listener_arn") else { return nil }
        return reader.arn(f["listener_arn"], arn: text, key: "\(key).listener_arn", pattern: FileReader.listenerPattern, region: nil,
                          kind: "an Application Load Balancer listener ARN") == nil ? nil : text
    }

    public func crossCheck(_ reader: inout FileReader, top f: [String: Node], traffic: DeploymentSpec.Traffic, checks: DeploymentSpec.Checks) {
        let traits = traffic.traits
        guard traits.splitByCounts else { return }
        // One target group holds both fleets: its metrics (and the load balancer's) are blue's and green's at once,
        // so a check on them would compare green with itself and could never fail.
        for metric in (try? checks.metricChecks()) ?? [] {
            let shared = MetricTemplate.used(in: metric.query).intersection(["green_target_group", "blue_target_group", "load_balancer"])
            guard let first = shared.sorted().first else { continue }
            reader.add(f["checks"], "checks.metrics (\(metric.name))", "uses {\(first)}, but with traffic.\(traits.kind.rawValue) blue and green share one "
                + "target group, so its metrics are both fleets' at once and cannot judge green; use a metric by {green_asg} "
                + "(AWS/EC2 or your own, by AutoScalingGroupName) or checks.alarms")
        }
    }
}

/// The ALB listeners and rules of `traffic:` (the backend of a file that names no other), and the ARNs AWS's sections
/// are checked against.
extension FileReader {
    static let regionPattern = #"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$"#
    static let listenerPattern = #"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):listener/app/([^/]+/[^/]+/[^/]+)$"#
    static let rulePattern = #"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):listener-rule/app/([^/]+/[^/]+/[^/]+)/[^/]+$"#
    static let targetGroupPattern = #"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):targetgroup/[^/]+/[^/]+$"#

    /// The traffic backends with a section of their own under `traffic:`, by its key (one line each); a file that names
    /// none shifts ALB listeners and rules. Which one is chosen here, once: `DeploymentSpec.Traffic.kind` says it after.
    static let trafficSections: [(key: String, parse: @Sendable (inout FileReader, Node.Mapping, String?) -> DeploymentSpec.Traffic?)] = [
        ("route53", { reader, m, region in reader.route53Traffic(m, region: region) }),
        ("shared", { reader, m, region in reader.sharedTraffic(m, region: region) }),
    ]

    mutating func traffic(_ m: Node.Mapping, region: String?) -> DeploymentSpec.Traffic? {
        for (key, parse) in Self.trafficSections where m.contains(where: { $0.key.scalar?.string == key }) { return parse(&self, m, region) }
        let f = fields(m, at: "traffic",
                       required: ["target_groups"])
        let before = issues.count
        let settle = self.settle(f["settle"])
        let listener = f["listener_arn"] == nil ? nil : string(f["listener_arn"], "traffic.listener_arn")
        let listenerParts = listener.flatMap { arn(f["listener_arn"], arn: $0, key: "traffic.listener_arn", pattern: Self.listenerPattern, region: region, kind: "an Application Load Balancer listener ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID)") }
        var rule: String?
        if f["rule_arn"] != nil, let text = string(f["rule_arn"], "traffic.rule_arn") {
            rule = text
            if let parts = arn(f["rule_arn"], arn: text, key: "traffic.rule_arn", pattern: Self.rulePattern, region: region, kind: Self.ruleKind) {
                if let listenerParts, parts[2] != listenerParts[2] || parts[0] != listenerParts[0] {
                    add(f["rule_arn"], "traffic.rule_arn", "is a rule of another listener than traffic.listener_arn")
                }
            }
            if listener == nil && f["listener_arn"] == nil {
                add(f["rule_arn"], "traffic.rule_arn", "needs traffic.listener_arn (its listener); to name rules alone, use rule_arns")
            }
        }
        let listeners = f["listener_arns"] == nil ? nil : arnList(f["listener_arns"], key: "traffic.listener_arns", pattern: Self.listenerPattern, region: region,
                                                                  kind: "an Application Load Balancer listener ARN")
        let rules = f["rule_arns"] == nil ? nil : arnList(f["rule_arns"], key: "traffic.rule_arns", pattern: Self.rulePattern, region: region, kind: Self.ruleKind)
        if f["listener_arn"] == nil && f["listener_arns"] == nil && f["rule_arns"] == nil {
            add(.mapping(m), "traffic.listener_arn", "required key is missing (or name several with listener_arns / rule_arns)")
        }
        let usesLists = f["listener_arns"] != nil || f["rule_arns"] != nil
        var shiftedListeners = listeners ?? []
        var shiftedRules = rules ?? []
        if usesLists {
            // With the list keys, listener_arn is one more shifted listener, unless rule_arn narrows it to that rule.
            if let rule { shiftedRules.insert(rule, at: 0) } else if let listener { shiftedListeners.insert(listener, at: 0) }
            checkForwards(f, listeners: shiftedListeners, rules: shiftedRules)
        }
        let account = listenerParts?[1] ?? (shiftedListeners + shiftedRules).first.flatMap(Self.account(of:))
        let groups = targetGroups(f["target_groups"], region: region ?? listenerParts?[0], account: account)
        guard let groups, issues.count == before else { return nil }
        let primary = listener ?? shiftedListeners.first ?? shiftedRules.first.map(DeploymentSpec.TrafficForward.listenerOf(rule:))
        guard let primary else { return nil }
        return DeploymentSpec.Traffic(primaryForward: primary, ruleArn: rule, pools: groups,
                                      listenerArns: usesLists ? shiftedListeners : nil, ruleArns: usesLists ? shiftedRules : nil, settle: settle)
    }

    /// No forward named twice, and all of one account.
    mutating func checkForwards(_ f: [String: Node], listeners: [String], rules: [String]) {
        for (key, list) in [("listener_arns", listeners), ("rule_arns", rules)] {
            for (index, arn) in list.enumerated() where list[..<index].contains(arn) {
                add(f[key], "traffic.\(key)", "names \(arn) twice")
            }
        }
        let accounts = Set((listeners + rules).compactMap(Self.account(of:)))
        if accounts.count > 1 {
            add(f["listener_arns"] ?? f["rule_arns"], "traffic",
                "names listeners or rules of several accounts (\(accounts.sorted().joined(separator: ", "))); one release shifts one account's load balancers")
        }
    }

    /// The account of a listener or rule ARN.
    static func account(of arn: String) -> String? {
        (captures(arn, rulePattern) ?? captures(arn, listenerPattern))?[1]
    }

    static let targetGroupKind = "a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)"
    static let ruleKind = "a listener rule ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/NAME/ID/ID/ID)"

    /// The ARN's captures (region, account, …), or nil after an issue when it is not of the kind or region.
    mutating func arn(_ node: Node?, arn: String, key: String, pattern: String, region: String?, kind: String) -> [String]? {
        guard let parts = Self.captures(arn, pattern) else {
            add(node, key, "is not \(kind)")
            return nil
        }
        if let region, parts[0] != region {
            add(node, key, "is in region \(parts[0]), but the file's region is \(region)")
            return nil
        }
        return parts
    }

    /// A non-empty list of ARNs of one kind.
    mutating func arnList(_ node: Node?, key: String, pattern: String, region: String?, kind: String) -> [String]? {
        guard let items = sequence(node, key) else { return nil }
        if items.isEmpty { add(node, key, "must list at least one ARN (or leave the key out)") }
        var arns: [String] = []
        for (index, item) in items.enumerated() {
            let itemKey = "\(key)[\(index + 1)]"
            guard let text = string(item, itemKey), arn(item, arn: text, key: itemKey, pattern: pattern, region: region, kind: kind) != nil else { continue }
            arns.append(text)
        }
        return arns
    }

    /// Exactly two different target groups, in the file's region and the listener's account.
    mutating func targetGroups(_ node: Node?, region: String?, account: String?) -> [String]? {
        guard let items = sequence(node, "traffic.target_groups") else { return nil }
        guard items.count == 2 else {
            add(node, "traffic.target_groups", "must list exactly two target groups, one for blue and one for green (got \(items.count))")
            return nil
        }
        var arns: [String] = []
        for (index, item) in items.enumerated() {
            let key = "traffic.target_groups[\(index + 1)]"
            guard let arn = string(item, key),
                  let parts = self.arn(item, arn: arn, key: key, pattern: Self.targetGroupPattern, region: region, kind: Self.targetGroupKind) else { continue }
            if let account, parts[1] != account {
                add(item, key, "is in account \(parts[1]), but the listener is in account \(account)")
                continue
            }
            arns.append(arn)
        }
        if arns.count == 2, arns[0] == arns[1] {
            add(items[1], "traffic.target_groups[2]", "is the same target group as the first; blue and green need two different ones")
            return nil
        }
        return arns.count == 2 ? arns : nil
    }
}
