import AWS
import Orchestrator
import SwitchyardCore

/// The test route of `checks.http.test_route` on an ALB, as CodeDeploy does it for ECS: a listener rule at the lowest
/// free priority number (the first one evaluated) that sends requests carrying `<header>: green` to green's target group
/// only. It is known by its shape, not by a record: a single `http-header` condition with that name and the value
/// `green`, forwarding within the service's pair. So a rule created just before a crash is found again, adopted by the
/// next attempt and removed by `resume`, `rollback` or `gc`. It also carries the tag `switchyard:test-route=<id>` for
/// people reading the console.
public struct TestRouteRule: TestRoute {
    public static let tagKey = "switchyard:test-route"

    public let elb: ELBv2
    public let listenerArn: String
    public let header: String
    public let targetGroups: [String]

    public init(elb: ELBv2, spec: DeploymentSpec) {
        self.elb = elb
        self.listenerArn = spec.testRouteForward ?? spec.traffic.primaryForward
        self.header = spec.testRoute?.header ?? DeploymentSpec.TestRoute.defaultHeader
        self.targetGroups = spec.traffic.pools
    }

    /// Whether a rule is a test route of this spec's pair (with its header, or the default one).
    public static func matcher(_ spec: DeploymentSpec) -> @Sendable (ListenerRule) -> Bool {
        let headers = Set([spec.testRoute?.header ?? DeploymentSpec.TestRoute.defaultHeader, DeploymentSpec.TestRoute.defaultHeader].map { $0.lowercased() })
        let pair = Set(spec.traffic.pools)
        return { rule in isTestRoute(rule, headers: headers, pair: pair) }
    }

    static func isTestRoute(_ rule: ListenerRule, headers: Set<String>, pair: Set<String>) -> Bool {
        guard !rule.isDefault, rule.conditions.count == 1, let condition = rule.conditions.first, condition.field == "http-header",
              let name = condition.httpHeaderName, headers.contains(name.lowercased()),
              condition.values == [DeploymentSpec.TestRoute.value] else { return false }
        let forwards = rule.actions.filter { $0.type == "forward" }
        let named = forwards.flatMap { ($0.forward?.targetGroups.map(\.arn) ?? []) + ($0.targetGroupArn.map { [$0] } ?? []) }
        return !named.isEmpty && named.allSatisfy(pair.contains)
    }

    /// The test-route rules standing on the listener now.
    public func standing() async throws -> (routes: [ListenerRule], all: [ListenerRule]) {
        let rules = try await elb.describeRules(listenerArn: listenerArn)
        let headers: Set<String> = [header.lowercased()]
        return (rules.filter { Self.isTestRoute($0, headers: headers, pair: Set(targetGroups)) }, rules)
    }

    /// The rule stands and forwards to `greenTargetGroup` only; returns its ARN.
    public func ensure(greenPool greenTargetGroup: String, deploymentId: String) async throws -> String {
        let (routes, all) = try await standing()
        let action = ListenerAction(type: "forward", order: 1, targetGroupArn: greenTargetGroup, forward: nil)
        if let existing = routes.first {
            let targets = existing.actions.flatMap { ($0.forward?.targetGroups.map(\.arn) ?? []) + ($0.targetGroupArn.map { [$0] } ?? []) }
            // Left by an earlier release whose green was the other group: point it at this green.
            if Set(targets) != [greenTargetGroup] { try await elb.modifyRule(arn: existing.arn, actions: [action]) }
            return existing.arn
        }
        // Another service's test route with the same header would win or lose by priority: the probe could reach it.
        let headers: Set<String> = [header.lowercased()]
        if let other = all.first(where: { Self.isTestRoute($0, headers: headers, pair: Self.targets(of: $0)) }) {
            throw PlanError.testRouteTaken(listener: listenerArn, header: header, rule: other.arn)
        }
        guard let priority = Self.lowestFreePriority(all) else { throw PlanError.noFreePriority(listener: listenerArn) }
        let created = try await elb.createRule(
            listenerArn: listenerArn, priority: priority,
            conditions: [.httpHeader(header, values: [DeploymentSpec.TestRoute.value])], actions: [action],
            tags: [Self.tagKey: deploymentId])
        guard let created else { throw PlanError.ruleNotFound("the test route just created on \(listenerArn)") }
        return created.arn
    }

    /// The target groups a rule forwards to.
    static func targets(of rule: ListenerRule) -> Set<String> {
        Set(rule.actions.filter { $0.type == "forward" }.flatMap { ($0.forward?.targetGroups.map(\.arn) ?? []) + ($0.targetGroupArn.map { [$0] } ?? []) })
    }

    /// Deletes every test-route rule of the pair on the listener; returns how many there were.
    @discardableResult
    public func remove() async throws -> Int {
        let routes = try await standing().routes
        for route in routes { try await elb.deleteRule(arn: route.arn) }
        return routes.count
    }

    /// The smallest priority number (1…50000) no rule of the listener uses: the rule evaluated first that can be added.
    static func lowestFreePriority(_ rules: [ListenerRule]) -> Int? {
        let used = Set(rules.compactMap { Int($0.priority) })
        return (1...50_000).first { !used.contains($0) }
    }
}
