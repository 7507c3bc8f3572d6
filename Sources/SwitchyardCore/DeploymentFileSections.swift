import Foundation
import Yams

/// The sections of a deployment file and the rules for each key.
extension FileReader {
    static let servicePattern = #"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"#
    static let regionPattern = #"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$"#
    static let listenerPattern = #"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):listener/app/([^/]+/[^/]+/[^/]+)$"#
    static let rulePattern = #"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):listener-rule/app/([^/]+/[^/]+/[^/]+)/[^/]+$"#
    static let targetGroupPattern = #"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):targetgroup/[^/]+/[^/]+$"#

    static func captures(_ text: String, _ pattern: String) -> [String]? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return (1..<match.numberOfRanges).map { index in
            Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
        }
    }

    mutating func spec(_ top: Node.Mapping) -> DeploymentSpec? {
        let f = fields(top, at: "",
                       required: ["service", "region", "traffic", "steps"])
        let service = string(f["service"], "service")
        if let service, Self.captures(service, Self.servicePattern) == nil {
            add(f["service"], "service", "must be 1 to 32 characters of a-z, 0-9 and -, not starting or ending with - (got \"\(service)\")")
        }
        let region = string(f["region"], "region")
        let validRegion = region.flatMap { Self.captures($0, Self.regionPattern) == nil ? nil : $0 }
        if let region, validRegion == nil {
            add(f["region"], "region", "is not an AWS region name like us-east-1 (got \"\(region)\")")
        }
        let traffic = mapping(f["traffic"], "traffic").flatMap { self.traffic($0, region: validRegion) }
        let fleet = f["fleet"] == nil ? DeploymentSpec.Fleet() : mapping(f["fleet"], "fleet").flatMap { self.fleet($0) }
        let steps = self.steps(f["steps"])
        let checks = f["checks"] == nil ? DeploymentSpec.Checks() : mapping(f["checks"], "checks").flatMap { self.checks($0) }
        let promotion = f["promotion"] == nil ? DeploymentSpec.Promotion(blueRetention: .minutes(30))
            : mapping(f["promotion"], "promotion").flatMap { self.promotion($0) }
        let before = issues.count
        let notify = f["notify"] == nil ? nil : mapping(f["notify"], "notify").flatMap { self.notify($0) }
        let hooks = f["hooks"] == nil ? nil : mapping(f["hooks"], "hooks").flatMap { self.hooks($0) }
        if let refusal = traffic?.traits.pairRefusal, fleet?.mode == .pair { add(f["fleet"], "fleet.mode", refusal) }
        if let traits = traffic?.traits, !traits.hasTestRoute, checks?.http?.testRoute != nil {
            add(f["checks"], "checks.http.test_route", traits.testRouteRefusal ?? "does not apply with traffic.\(traits.kind.rawValue)")
        }
        if let traits = traffic?.traits, traits.splitByCounts {
            // One target group holds both fleets: its metrics (and the load balancer's) are blue's and green's at once,
            // so a check on them would compare green with itself and could never fail.
            for metric in checks?.metrics ?? [] {
                let shared = MetricTemplate.used(in: metric.query).intersection(["green_target_group", "blue_target_group", "load_balancer"])
                guard let first = shared.sorted().first else { continue }
                add(f["checks"], "checks.metrics (\(metric.name))", "uses {\(first)}, but with traffic.\(traits.kind.rawValue) blue and green share one "
                    + "target group, so its metrics are both fleets' at once and cannot judge green; use a metric by {green_asg} "
                    + "(AWS/EC2 or your own, by AutoScalingGroupName) or checks.alarms")
            }
        }
        guard let service, let region, let traffic, let fleet, let steps, let checks, let promotion, issues.count == before else { return nil }
        return DeploymentSpec(service: service, region: region, traffic: traffic, fleet: fleet, steps: steps, checks: checks, promotion: promotion,
                              notify: notify, hooks: hooks.flatMap { $0.isEmpty ? nil : $0 })
    }

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

    /// `traffic.settle`: a duration from 0s to 10m.
    mutating func settle(_ node: Node?) -> TimeSpan? {
        guard let node, let span = duration(node, "traffic.settle", positive: false) else { return nil }
        guard span <= DeploymentSpec.Traffic.maxSettle else {
            add(node, "traffic.settle", "must be at most \(DeploymentSpec.Traffic.maxSettle) (got \(span)): a listener change reaches every load balancer node within seconds")
            return nil
        }
        return span
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
            guard let arn = string(item, key) else { continue }
            guard let parts = Self.captures(arn, Self.targetGroupPattern) else {
                add(item, key, "is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)")
                continue
            }
            if let region, parts[0] != region {
                add(item, key, "is in region \(parts[0]), but the file's region is \(region)")
                continue
            }
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

    mutating func fleet(_ m: Node.Mapping) -> DeploymentSpec.Fleet? {
        let f = fields(m, at: "fleet")
        var fleet = DeploymentSpec.Fleet()
        var ok = true
        if f["blue_auto_scaling_group"] != nil {
            let name = string(f["blue_auto_scaling_group"], "fleet.blue_auto_scaling_group")
            if let name, name.count > 255 { add(f["blue_auto_scaling_group"], "fleet.blue_auto_scaling_group", "must be at most 255 characters") }
            fleet.blueGroupName = name
            ok = ok && name != nil
        }
        if f["capacity_timeout"] != nil {
            let span = duration(f["capacity_timeout"], "fleet.capacity_timeout", positive: true)
            fleet.capacityTimeout = span ?? fleet.capacityTimeout
            ok = ok && span != nil
        }
        if f["other_target_groups"] != nil {
            let choice = choice(f["other_target_groups"], "fleet.other_target_groups", DeploymentSpec.Fleet.OtherPools.self)
            fleet.otherPools = choice ?? fleet.otherPools
            ok = ok && choice != nil
        }
        if f["launch_template_default"] != nil {
            let choice = choice(f["launch_template_default"], "fleet.launch_template_default", DeploymentSpec.Fleet.TemplateDefault.self)
            fleet.templateDefault = choice ?? fleet.templateDefault
            ok = ok && choice != nil
        }
        ok = pairMode(f, into: &fleet) && ok
        return ok ? fleet : nil
    }

    /// One of an enumeration's raw values.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node?, _ key: String, _ type: T.Type) -> T? where T.RawValue == String {
        guard let text = string(node, key) else { return nil }
        guard let value = T(rawValue: text) else {
            add(node, key, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(text)\")")
            return nil
        }
        return value
    }

    mutating func steps(_ node: Node?) -> [DeploymentSpec.Step]? {
        guard let items = sequence(node, "steps") else { return nil }
        guard !items.isEmpty else {
            add(node, "steps", "must list at least one step; the last one has weight 100")
            return nil
        }
        var steps: [DeploymentSpec.Step?] = []
        for (index, item) in items.enumerated() {
            steps.append(step(item, key: "steps[\(index + 1)]"))
        }
        let valid = steps.compactMap { $0 }
        guard valid.count == steps.count else { return nil }
        return checkOrder(valid, items: items) ? valid : nil
    }

    mutating func step(_ item: Node, key: String) -> DeploymentSpec.Step? {
        if case .scalar(let scalar) = item {
            if scalar.string == "pause" { return .pause }
            add(item, key, "must be `pause` or a mapping with weight and bake, got \(Self.kind(item))")
            return nil
        }
        guard let m = mapping(item, key) else { return nil }
        let f = fields(m, at: key, required: ["weight"])
        let weight = int(f["weight"], "\(key).weight", range: 1...100)
        let bake = f["bake"] == nil ? TimeSpan.zero : duration(f["bake"], "\(key).bake", positive: false)
        guard let weight, let bake else { return nil }
        return .weight(weight, bake: bake)
    }

    /// Weights strictly rising, the last 100; pauses only between two weight steps.
    mutating func checkOrder(_ steps: [DeploymentSpec.Step], items: [Node]) -> Bool {
        let before = issues.count
        var last = 0
        for (index, step) in steps.enumerated() {
            let key = "steps[\(index + 1)]"
            switch step {
            case .weight(let w, _):
                if w <= last { add(items[index], "\(key).weight", "weights must rise step by step: \(w) does not follow \(last)") }
                last = max(last, w)
            case .pause:
                if index == 0 { add(items[index], key, "a pause cannot be the first step: it waits between two steps") }
                else if index == steps.count - 1 { add(items[index], key, "a pause cannot be the last step: put it before the 100% step") }
                else if steps[index - 1] == .pause { add(items[index], key, "two pauses in a row") }
            }
        }
        if let lastWeight = steps.last(where: { $0.weight != nil })?.weight, lastWeight != 100,
           let index = steps.lastIndex(where: { $0.weight != nil }) {
            add(items[index], "steps[\(index + 1)].weight", "the last step must send 100% to green (got \(lastWeight))")
        }
        if steps.allSatisfy({ $0 == .pause }) { add(items.first, "steps", "at least one step needs a weight") }
        return issues.count == before
    }

    mutating func checks(_ m: Node.Mapping) -> DeploymentSpec.Checks? {
        let f = fields(m, at: "checks")
        var checks = DeploymentSpec.Checks()
        let before = issues.count
        if f["interval"] != nil { checks.interval = duration(f["interval"], "checks.interval", positive: true) ?? checks.interval }
        if f["healthy_timeout"] != nil { checks.healthyTimeout = duration(f["healthy_timeout"], "checks.healthy_timeout", positive: true) ?? checks.healthyTimeout }
        if f["max_unhealthy_targets"] != nil {
            checks.maxUnhealthyTargets = int(f["max_unhealthy_targets"], "checks.max_unhealthy_targets", range: 0...Int.max) ?? 0
        }
        if f["alarms"] != nil, let items = sequence(f["alarms"], "checks.alarms") {
            var names: [String] = []
            for (index, item) in items.enumerated() {
                guard let name = string(item, "checks.alarms[\(index + 1)]") else { continue }
                if names.contains(name) { add(item, "checks.alarms[\(index + 1)]", "alarm \(name) is listed twice") }
                names.append(name)
            }
            checks.alarms = names
        }
        if f["http"] != nil, let http = mapping(f["http"], "checks.http") {
            checks.http = probe(http, interval: checks.interval)
        }
        if f["metrics"] != nil { checks.metrics = metricChecks(f["metrics"]) ?? [] }
        return issues.count == before ? checks : nil
    }

    mutating func probe(_ m: Node.Mapping, interval: TimeSpan) -> DeploymentSpec.HTTPProbe? {
        let f = fields(m, at: "checks.http", required: ["url"])
        var probe = DeploymentSpec.HTTPProbe(url: "")
        let before = issues.count
        if let url = string(f["url"], "checks.http.url") {
            if let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
               let host = parsed.host, !host.isEmpty {
                probe.url = url
            } else {
                add(f["url"], "checks.http.url", "must be an http:// or https:// URL with a host (got \"\(url)\")")
            }
        }
        if let node = f["expect_status"] {
            if case .sequence = node, let items = sequence(node, "checks.http.expect_status") {
                if items.isEmpty { add(node, "checks.http.expect_status", "must list at least one status") }
                probe.expectStatus = items.enumerated().compactMap { int($0.element, "checks.http.expect_status[\($0.offset + 1)]", range: 100...599) }
            } else if let status = int(node, "checks.http.expect_status", range: 100...599) {
                probe.expectStatus = [status]
            }
        }
        if f["timeout"] != nil { probe.timeout = duration(f["timeout"], "checks.http.timeout", positive: true) ?? probe.timeout }
        if probe.timeout >= interval {
            add(f["timeout"] ?? .mapping(m), "checks.http.timeout", "must be shorter than checks.interval (\(probe.timeout) is not shorter than \(interval)), or one slow probe delays the next tick")
        }
        if f["failure_threshold"] != nil {
            probe.failureThreshold = int(f["failure_threshold"], "checks.http.failure_threshold", range: 1...Int.max) ?? probe.failureThreshold
        }
        if let node = f["test_route"] { probe.testRoute = testRoute(node) }
        return issues.count == before ? probe : nil
    }

    static let headerPattern = #"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$"#

    /// `test_route: true` (the default header on the primary listener), or a mapping with `header` and `listener_arn`.
    mutating func testRoute(_ node: Node) -> DeploymentSpec.TestRoute? {
        let key = "checks.http.test_route"
        if case .scalar(let scalar) = node, Self.kind(node).hasPrefix("boolean") {
            let on = ["true", "yes", "on"].contains(scalar.string.lowercased())
            return on ? DeploymentSpec.TestRoute() : nil
        }
        guard let m = mapping(node, key) else { return nil }
        let f = fields(m, at: key)
        var route = DeploymentSpec.TestRoute()
        if f["header"] != nil, let header = string(f["header"], "\(key).header") {
            if Self.captures(header, Self.headerPattern) == nil {
                add(f["header"], "\(key).header", "must be an HTTP header name of at most 40 characters (letters, digits, -), got \"\(header)\"")
            } else {
                route.header = header
            }
        }
        if f["listener_arn"] != nil, let text = string(f["listener_arn"], "\(key).listener_arn") {
            if arn(f["listener_arn"], arn: text, key: "\(key).listener_arn", pattern: Self.listenerPattern, region: nil,
                   kind: "an Application Load Balancer listener ARN") != nil {
                route.forward = text
            }
        }
        return route
    }

    mutating func notify(_ m: Node.Mapping) -> DeploymentSpec.Notify? {
        let f = fields(m, at: "notify", required: ["webhooks"])
        var notify = DeploymentSpec.Notify(webhooks: [])
        let before = issues.count
        if f["webhooks"] != nil, let items = sequence(f["webhooks"], "notify.webhooks") {
            if items.isEmpty { add(f["webhooks"], "notify.webhooks", "must list at least one webhook") }
            for (index, item) in items.enumerated() {
                let key = "notify.webhooks[\(index + 1)]"
                guard let hook = mapping(item, key) else { continue }
                let h = fields(hook, at: key, required: ["url"])
                var webhook = DeploymentSpec.Notify.Webhook(url: "")
                if let url = string(h["url"], "\(key).url") {
                    // The URL often carries a secret (Slack's path, a token): never echo it back.
                    if let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
                       let host = parsed.host, !host.isEmpty {
                        webhook.url = url
                    } else {
                        add(h["url"], "\(key).url", "must be an http:// or https:// URL with a host")
                    }
                }
                if h["format"] != nil, let format = string(h["format"], "\(key).format") {
                    if let known = DeploymentSpec.Notify.Format(rawValue: format) {
                        webhook.format = known
                    } else {
                        add(h["format"], "\(key).format", "must be json or slack (got \"\(format)\")")
                    }
                }
                notify.webhooks.append(webhook)
            }
        }
        if f["timeout"] != nil {
            notify.timeout = duration(f["timeout"], "notify.timeout", positive: true) ?? notify.timeout
            if notify.timeout > .seconds(30) { add(f["timeout"], "notify.timeout", "must be at most 30s: a notification never holds a release up") }
        }
        if f["retries"] != nil { notify.retries = int(f["retries"], "notify.retries", range: 0...5) ?? notify.retries }
        return issues.count == before ? notify : nil
    }

    mutating func promotion(_ m: Node.Mapping) -> DeploymentSpec.Promotion? {
        let f = fields(m, at: "promotion")
        guard f["blue_retention"] != nil else { return DeploymentSpec.Promotion(blueRetention: .minutes(30)) }
        return duration(f["blue_retention"], "promotion.blue_retention", positive: false).map(DeploymentSpec.Promotion.init)
    }
}
