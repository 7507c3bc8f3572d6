import Foundation
import Yams

/// The sections of a deployment file and the rules for each key.
extension FileReader {
    static let servicePattern = #"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"#

    mutating func spec(_ top: Node.Mapping) -> DeploymentSpec? {
        let f = fields(top, at: "",
                       required: ["service"] + format.requiredKeys + ["traffic", "steps"])
        let service = string(f["service"], "service")
        if let service, Self.captures(service, Self.servicePattern) == nil {
            add(f["service"], "service", "must be 1 to 32 characters of a-z, 0-9 and -, not starting or ending with - (got \"\(service)\")")
        }
        let location = format.location(&self, f)
        let traffic = mapping(f["traffic"], "traffic").flatMap { format.traffic(&self, $0, location: location) }
        let fleet = format.fleet(&self, f["fleet"])
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
        if let traffic, let checks { format.crossCheck(&self, top: f, traffic: traffic, checks: checks) }
        guard let service, let location, let traffic, let fleet, let steps, let checks, let promotion, issues.count == before else { return nil }
        return DeploymentSpec(service: service, region: location, traffic: traffic, fleet: fleet, steps: steps, checks: checks, promotion: promotion,
                              notify: notify, hooks: hooks.flatMap { $0.isEmpty ? nil : $0 })
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
        if f["http"] != nil, let http = mapping(f["http"], "checks.http") {
            checks.http = probe(http, interval: checks.interval)
        }
        format.checks(&self, f, into: &checks)
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
        if let forward = format.testRouteForward(&self, f, key: key) { route.forward = forward }
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
