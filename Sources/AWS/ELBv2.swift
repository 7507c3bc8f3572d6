import Foundation

/// A target group and its weight inside a forward action.
public struct WeightedTargetGroup: Sendable, Hashable {
    public var arn: String
    public var weight: Int?

    public init(arn: String, weight: Int?) {
        self.arn = arn
        self.weight = weight
    }
}

/// Target-group stickiness of a forward action.
public struct Stickiness: Sendable, Hashable {
    public var enabled: Bool
    public var durationSeconds: Int?

    public init(enabled: Bool, durationSeconds: Int?) {
        self.enabled = enabled
        self.durationSeconds = durationSeconds
    }
}

/// The weighted form of a forward action.
public struct ForwardConfig: Sendable, Hashable {
    public var targetGroups: [WeightedTargetGroup]
    public var stickiness: Stickiness?

    public init(targetGroups: [WeightedTargetGroup], stickiness: Stickiness?) {
        self.targetGroups = targetGroups
        self.stickiness = stickiness
    }
}

/// A listener or rule action. Only forward actions are modelled in full.
public struct ListenerAction: Sendable, Hashable {
    public var type: String
    public var order: Int?
    public var targetGroupArn: String?
    public var forward: ForwardConfig?

    public init(type: String, order: Int?, targetGroupArn: String?, forward: ForwardConfig?) {
        self.type = type
        self.order = order
        self.targetGroupArn = targetGroupArn
        self.forward = forward
    }

    /// Reads both shapes: a plain `TargetGroupArn` and a weighted `ForwardConfig`.
    static func decode(_ m: XMLNode) -> ListenerAction {
        let forward = m.child("ForwardConfig").map { config in
            ForwardConfig(
                targetGroups: config.all("TargetGroups/member").map { WeightedTargetGroup(arn: $0.value("TargetGroupArn") ?? "", weight: $0.int("Weight")) },
                stickiness: config.child("TargetGroupStickinessConfig").map {
                    Stickiness(enabled: $0.bool("Enabled") ?? false, durationSeconds: $0.int("DurationSeconds"))
                })
        }
        let arn = m.value("TargetGroupArn").flatMap { $0.isEmpty ? nil : $0 }
        return ListenerAction(type: m.value("Type") ?? "", order: m.int("Order"), targetGroupArn: arn, forward: forward)
    }

    /// The query parameters of this action under `prefix` (e.g. `DefaultActions.member.1`).
    func parameters(prefix: String) -> [String: String] {
        var p = ["\(prefix).Type": type]
        if let order { p["\(prefix).Order"] = String(order) }
        if let targetGroupArn { p["\(prefix).TargetGroupArn"] = targetGroupArn }
        if let forward {
            for (index, group) in forward.targetGroups.enumerated() {
                let g = "\(prefix).ForwardConfig.TargetGroups.member.\(index + 1)"
                p["\(g).TargetGroupArn"] = group.arn
                if let weight = group.weight { p["\(g).Weight"] = String(weight) }
            }
            if let stickiness = forward.stickiness {
                p["\(prefix).ForwardConfig.TargetGroupStickinessConfig.Enabled"] = stickiness.enabled ? "true" : "false"
                if let duration = stickiness.durationSeconds {
                    p["\(prefix).ForwardConfig.TargetGroupStickinessConfig.DurationSeconds"] = String(duration)
                }
            }
        }
        return p
    }
}

public struct Listener: Sendable, Hashable {
    public var arn: String
    public var loadBalancerArn: String
    public var port: Int?
    public var `protocol`: String?
    public var defaultActions: [ListenerAction]
}

public struct ListenerRule: Sendable, Hashable {
    public var arn: String
    public var priority: String
    public var actions: [ListenerAction]
    public var conditions: [RuleCondition]
    /// The listener's default rule, which DescribeRules lists with the listener's default actions.
    public var isDefault: Bool

    public init(arn: String, priority: String, actions: [ListenerAction], conditions: [RuleCondition] = [], isDefault: Bool = false) {
        self.arn = arn
        self.priority = priority
        self.actions = actions
        self.conditions = conditions
        self.isDefault = isDefault
    }
}

/// One condition of a listener rule. Only the fields Switchyard reads or writes are modelled: the field, its plain
/// values (`path-pattern`, `host-header` …), and an `http-header` condition's name and values.
public struct RuleCondition: Sendable, Hashable {
    public var field: String
    public var values: [String]
    public var httpHeaderName: String?

    public init(field: String, values: [String], httpHeaderName: String? = nil) {
        self.field = field
        self.values = values
        self.httpHeaderName = httpHeaderName
    }

    /// `http-header` with this name and these values.
    public static func httpHeader(_ name: String, values: [String]) -> RuleCondition {
        RuleCondition(field: "http-header", values: values, httpHeaderName: name)
    }

    static func decode(_ m: XMLNode) -> RuleCondition {
        let field = m.value("Field") ?? ""
        let config: String? = switch field {
        case "path-pattern": "PathPatternConfig"
        case "host-header": "HostHeaderConfig"
        case "http-header": "HttpHeaderConfig"
        case "http-request-method": "HttpRequestMethodConfig"
        case "source-ip": "SourceIpConfig"
        default: nil
        }
        var values = m.all("Values/member").map(\.text)
        if values.isEmpty, let config { values = m.all("\(config)/Values/member").map(\.text) }
        return RuleCondition(field: field, values: values, httpHeaderName: m.value("HttpHeaderConfig/HttpHeaderName"))
    }

    /// The query parameters of this condition under `prefix` (e.g. `Conditions.member.1`), in the field's own config.
    func parameters(prefix: String) -> [String: String] {
        var p = ["\(prefix).Field": field]
        if field == "http-header" {
            p["\(prefix).HttpHeaderConfig.HttpHeaderName"] = httpHeaderName ?? ""
            for (index, value) in values.enumerated() { p["\(prefix).HttpHeaderConfig.Values.member.\(index + 1)"] = value }
        } else {
            for (index, value) in values.enumerated() { p["\(prefix).Values.member.\(index + 1)"] = value }
        }
        return p
    }

    /// For messages: `path-pattern /api/*`, `http-header X-Route: green`.
    public var summary: String {
        if let httpHeaderName { return "\(field) \(httpHeaderName): \(values.joined(separator: ", "))" }
        return "\(field) \(values.joined(separator: ", "))"
    }
}

public struct TargetHealthDescription: Sendable, Hashable {
    public var targetId: String
    public var port: Int?
    public var state: String
    public var reason: String?
    public var description: String?
}

public struct TargetGroup: Sendable, Hashable {
    public var arn: String
    public var name: String
    public var loadBalancerArns: [String]
}

/// The Elastic Load Balancing v2 calls Switchyard makes (query protocol, version 2015-12-01).
public struct ELBv2: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    private func isNotFound(_ error: Error) -> Bool {
        guard let error = error as? AWSError else { return false }
        return ["ListenerNotFound", "RuleNotFound", "TargetGroupNotFound", "LoadBalancerNotFound"].contains(error.code.rawValue)
    }

    /// The listener, or nil when it does not exist.
    public func describeListener(arn: String) async throws -> Listener? {
        do {
            let result = try await client.call(.elasticLoadBalancing, action: "DescribeListeners", parameters: QueryEncoding.memberList("ListenerArns", [arn]))
            return Self.listeners(in: result).first { $0.arn == arn }
        } catch where isNotFound(error) {
            return nil
        }
    }

    /// The listeners, in one call (absent ones are left out; nil answers `ListenerNotFound` for any of them).
    public func describeListeners(arns: [String]) async throws -> [Listener]? {
        guard !arns.isEmpty else { return [] }
        do {
            let result = try await client.call(.elasticLoadBalancing, action: "DescribeListeners", parameters: QueryEncoding.memberList("ListenerArns", arns))
            return Self.listeners(in: result)
        } catch where isNotFound(error) {
            return nil
        }
    }

    /// Every listener of a load balancer.
    public func describeListeners(loadBalancerArn: String) async throws -> [Listener] {
        let pages = try await client.paginate(.elasticLoadBalancing, action: "DescribeListeners", parameters: ["LoadBalancerArn": loadBalancerArn],
                                              tokenField: "Marker", nextTokenField: "NextMarker")
        return pages.flatMap(Self.listeners(in:))
    }

    /// The rules, in one call (nil answers `RuleNotFound` for any of them).
    public func describeRules(arns: [String]) async throws -> [ListenerRule]? {
        guard !arns.isEmpty else { return [] }
        do {
            let result = try await client.call(.elasticLoadBalancing, action: "DescribeRules", parameters: QueryEncoding.memberList("RuleArns", arns))
            return Self.rules(in: result)
        } catch where isNotFound(error) {
            return nil
        }
    }

    /// Every rule of a listener, its default rule included (`isDefault`).
    public func describeRules(listenerArn: String) async throws -> [ListenerRule] {
        let pages = try await client.paginate(.elasticLoadBalancing, action: "DescribeRules", parameters: ["ListenerArn": listenerArn],
                                              tokenField: "Marker", nextTokenField: "NextMarker")
        return pages.flatMap(Self.rules(in:))
    }

    /// Creates a rule; returns it as the answer describes it.
    public func createRule(listenerArn: String, priority: Int, conditions: [RuleCondition], actions: [ListenerAction], tags: [String: String]) async throws -> ListenerRule? {
        var parameters = ["ListenerArn": listenerArn, "Priority": String(priority)]
        for (index, condition) in conditions.enumerated() { parameters.merge(condition.parameters(prefix: "Conditions.member.\(index + 1)")) }
        for (index, action) in actions.enumerated() { parameters.merge(action.parameters(prefix: "Actions.member.\(index + 1)")) }
        for (index, key) in tags.keys.sorted().enumerated() {
            parameters["Tags.member.\(index + 1).Key"] = key
            parameters["Tags.member.\(index + 1).Value"] = tags[key]
        }
        let result = try await client.call(.elasticLoadBalancing, action: "CreateRule", parameters: parameters)
        return Self.rules(in: result).first
    }

    /// Deletes a rule; one already gone is not an error.
    public func deleteRule(arn: String) async throws {
        do {
            _ = try await client.call(.elasticLoadBalancing, action: "DeleteRule", parameters: ["RuleArn": arn])
        } catch where isNotFound(error) {
            return
        }
    }

    /// Replaces the listener's default actions; returns the listener as the answer describes it after the change
    /// (nil when the answer does not include it), so the caller needs no second read.
    @discardableResult
    public func modifyListener(arn: String, defaultActions: [ListenerAction]) async throws -> Listener? {
        var parameters = ["ListenerArn": arn]
        for (index, action) in defaultActions.enumerated() { parameters.merge(action.parameters(prefix: "DefaultActions.member.\(index + 1)")) }
        let result = try await client.call(.elasticLoadBalancing, action: "ModifyListener", parameters: parameters)
        return Self.listeners(in: result).first { $0.arn == arn }
    }

    /// Replaces the rule's actions; returns the rule as the answer describes it after the change (nil when absent).
    @discardableResult
    public func modifyRule(arn: String, actions: [ListenerAction]) async throws -> ListenerRule? {
        var parameters = ["RuleArn": arn]
        for (index, action) in actions.enumerated() { parameters.merge(action.parameters(prefix: "Actions.member.\(index + 1)")) }
        let result = try await client.call(.elasticLoadBalancing, action: "ModifyRule", parameters: parameters)
        return Self.rules(in: result).first { $0.arn == arn }
    }

    static func listeners(in result: XMLNode) -> [Listener] {
        result.all("Listeners/member").map {
            Listener(arn: $0.value("ListenerArn") ?? "", loadBalancerArn: $0.value("LoadBalancerArn") ?? "", port: $0.int("Port"),
                     protocol: $0.value("Protocol"), defaultActions: $0.all("DefaultActions/member").map(ListenerAction.decode))
        }
    }

    static func rules(in result: XMLNode) -> [ListenerRule] {
        result.all("Rules/member").map {
            ListenerRule(arn: $0.value("RuleArn") ?? "", priority: $0.value("Priority") ?? "", actions: $0.all("Actions/member").map(ListenerAction.decode),
                         conditions: $0.all("Conditions/member").map(RuleCondition.decode), isDefault: $0.bool("IsDefault") ?? false)
        }
    }

    public func describeTargetHealth(targetGroupArn: String) async throws -> [TargetHealthDescription] {
        let result = try await client.call(.elasticLoadBalancing, action: "DescribeTargetHealth", parameters: ["TargetGroupArn": targetGroupArn])
        return result.all("TargetHealthDescriptions/member").map {
            TargetHealthDescription(targetId: $0.value("Target/Id") ?? "", port: $0.int("Target/Port"), state: $0.value("TargetHealth/State") ?? "",
                                    reason: $0.value("TargetHealth/Reason"), description: $0.value("TargetHealth/Description"))
        }
    }

    /// Registers instances in a target group, on its own port.
    public func registerTargets(targetGroupArn: String, instanceIds: [String]) async throws {
        guard !instanceIds.isEmpty else { return }
        _ = try await client.call(.elasticLoadBalancing, action: "RegisterTargets", parameters: Self.targets(targetGroupArn, instanceIds))
    }

    /// Deregisters instances from a target group: the load balancer sends them no new request and drains those in
    /// flight for the group's `deregistration_delay.timeout_seconds`, listing them as `draining` until then.
    public func deregisterTargets(targetGroupArn: String, instanceIds: [String]) async throws {
        guard !instanceIds.isEmpty else { return }
        _ = try await client.call(.elasticLoadBalancing, action: "DeregisterTargets", parameters: Self.targets(targetGroupArn, instanceIds))
    }

    private static func targets(_ arn: String, _ ids: [String]) -> [String: String] {
        var p = ["TargetGroupArn": arn]
        for (index, id) in ids.enumerated() { p["Targets.member.\(index + 1).Id"] = id }
        return p
    }

    /// A target group's attributes by key (`deregistration_delay.timeout_seconds`, `stickiness.enabled`, …).
    public func describeTargetGroupAttributes(arn: String) async throws -> [String: String] {
        let result = try await client.call(.elasticLoadBalancing, action: "DescribeTargetGroupAttributes", parameters: ["TargetGroupArn": arn])
        var out: [String: String] = [:]
        for attribute in result.all("Attributes/member") {
            if let key = attribute.value("Key") { out[key] = attribute.value("Value") ?? "" }
        }
        return out
    }

    public func describeTargetGroups(arns: [String]) async throws -> [TargetGroup] {
        let pages = try await client.paginate(.elasticLoadBalancing, action: "DescribeTargetGroups", parameters: QueryEncoding.memberList("TargetGroupArns", arns),
                                              tokenField: "Marker", nextTokenField: "NextMarker")
        return pages.flatMap { $0.all("TargetGroups/member") }.map {
            TargetGroup(arn: $0.value("TargetGroupArn") ?? "", name: $0.value("TargetGroupName") ?? "", loadBalancerArns: $0.all("LoadBalancerArns/member").map(\.text))
        }
    }

    /// Each load balancer's DNS name by its ARN (what a Route 53 record points at).
    public func loadBalancerDNSNames(arns: [String]) async throws -> [String: String] {
        guard !arns.isEmpty else { return [:] }
        let pages = try await client.paginate(.elasticLoadBalancing, action: "DescribeLoadBalancers", parameters: QueryEncoding.memberList("LoadBalancerArns", arns),
                                              tokenField: "Marker", nextTokenField: "NextMarker")
        var out: [String: String] = [:]
        for balancer in pages.flatMap({ $0.all("LoadBalancers/member") }) {
            if let arn = balancer.value("LoadBalancerArn") { out[arn] = balancer.value("DNSName") ?? "" }
        }
        return out
    }

    public func addTags(resourceArn: String, tags: [String: String]) async throws {
        try await addTags(resourceArns: [resourceArn], tags: tags)
    }

    /// Tags several resources in one call (at most 20).
    public func addTags(resourceArns: [String], tags: [String: String]) async throws {
        var parameters = QueryEncoding.memberList("ResourceArns", resourceArns)
        for (index, key) in tags.keys.sorted().enumerated() {
            parameters["Tags.member.\(index + 1).Key"] = key
            parameters["Tags.member.\(index + 1).Value"] = tags[key]
        }
        _ = try await client.call(.elasticLoadBalancing, action: "AddTags", parameters: parameters)
    }

    public func removeTags(resourceArn: String, keys: [String]) async throws {
        try await removeTags(resourceArns: [resourceArn], keys: keys)
    }

    /// Removes tags from several resources in one call (at most 20).
    public func removeTags(resourceArns: [String], keys: [String]) async throws {
        var parameters = QueryEncoding.memberList("ResourceArns", resourceArns)
        parameters.merge(QueryEncoding.memberList("TagKeys", keys))
        _ = try await client.call(.elasticLoadBalancing, action: "RemoveTags", parameters: parameters)
    }

    public func describeTags(resourceArns: [String]) async throws -> [String: [String: String]] {
        let result = try await client.call(.elasticLoadBalancing, action: "DescribeTags", parameters: QueryEncoding.memberList("ResourceArns", resourceArns))
        var out: [String: [String: String]] = [:]
        for description in result.all("TagDescriptions/member") {
            var tags: [String: String] = [:]
            for tag in description.all("Tags/member") { tags[tag.value("Key") ?? ""] = tag.value("Value") ?? "" }
            out[description.value("ResourceArn") ?? ""] = tags
        }
        return out
    }
}
