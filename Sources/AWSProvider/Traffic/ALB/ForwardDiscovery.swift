import AWS
import Orchestrator
import SwitchyardCore

/// A listener default action or rule that forwards to one of a service's target groups, as found on its load balancer.
public struct FoundForward: Sendable, Hashable, CustomStringConvertible {
    public var forward: DeploymentSpec.TrafficForward
    /// The listener's port and protocol (`HTTPS:443`), for messages.
    public var listener: String
    /// The rule's priority and conditions (`priority 10, path-pattern /api/*`); nil for a default action.
    public var rule: String?
    public var actions: [ListenerAction]

    public var description: String {
        "\(forward) (\(listener)\(rule.map { ", \($0)" } ?? ""))"
    }
}

/// Finds every forward to a pair of target groups: DescribeTargetGroups for their load balancers, DescribeListeners per
/// load balancer, DescribeRules per listener. The cost grows with those load balancers and listeners, never with the
/// account.
public struct ForwardDiscovery: Sendable {
    public let elb: ELBv2

    public init(elb: ELBv2) { self.elb = elb }

    /// Every listener default action and rule, on every load balancer of `targetGroups`, with a forward naming any of
    /// them. `skip` leaves out rules that are not traffic (the test route).
    public func forwards(to targetGroups: [String], skip: @Sendable (ListenerRule) -> Bool = { _ in false }) async throws -> [FoundForward] {
        guard !targetGroups.isEmpty else { return [] }
        let wanted = Set(targetGroups)
        let groups: [TargetGroup]
        do {
            groups = try await elb.describeTargetGroups(arns: targetGroups)
        } catch let error as AWSError where error.code.rawValue == "TargetGroupNotFound" {
            throw PlanError.targetGroupNotFound(try await missingTargetGroups(targetGroups, answer: error))
        }
        var balancers: [String] = []
        for arn in groups.flatMap(\.loadBalancerArns) where !balancers.contains(arn) { balancers.append(arn) }
        let listeners = try await withThrowingTaskGroup(of: [Listener].self) { group in
            for balancer in balancers { group.addTask { try await elb.describeListeners(loadBalancerArn: balancer) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }.sorted { ($0.loadBalancerArn, $0.port ?? 0, $0.arn) < ($1.loadBalancerArn, $1.port ?? 0, $1.arn) }
        let rules = try await withThrowingTaskGroup(of: (String, [ListenerRule]).self) { group in
            for listener in listeners { group.addTask { (listener.arn, try await elb.describeRules(listenerArn: listener.arn)) } }
            return try await group.reduce(into: [String: [ListenerRule]]()) { $0[$1.0] = $1.1 }
        }
        var found: [FoundForward] = []
        for listener in listeners {
            let name = "\(listener.protocol ?? "?"):\(listener.port.map(String.init) ?? "?")"
            if Self.forwardsTo(wanted, listener.defaultActions) {
                found.append(FoundForward(forward: .listener(listener.arn), listener: name, rule: nil, actions: listener.defaultActions))
            }
            let ordered = (rules[listener.arn] ?? []).filter { !$0.isDefault }.sorted { (Int($0.priority) ?? .max) < (Int($1.priority) ?? .max) }
            for rule in ordered where Self.forwardsTo(wanted, rule.actions) && !skip(rule) {
                let conditions = rule.conditions.map(\.summary).joined(separator: "; ")
                found.append(FoundForward(forward: .rule(rule.arn), listener: name, rule: "priority \(rule.priority)" + (conditions.isEmpty ? "" : ", \(conditions)"),
                                          actions: rule.actions))
            }
        }
        return found
    }

    /// Which of the target groups AWS does not find: DescribeTargetGroups answers `TargetGroupNotFound` when any one
    /// is missing, without saying which, so each is asked alone (two calls, only on this error path).
    func missingTargetGroups(_ targetGroups: [String], answer: AWSError) async throws -> [String] {
        var missing: [String] = []
        for arn in targetGroups {
            do {
                _ = try await elb.describeTargetGroups(arns: [arn])
            } catch let error as AWSError where error.code == answer.code {
                missing.append(arn)
            }
        }
        return missing.isEmpty ? targetGroups : missing
    }

    /// The first forward the file names that AWS does not find, with AWS's error code; nil when all exist. Asked only
    /// for the named forwards discovery did not see forwarding to the pair (none, in the usual case).
    public func missingForward(_ named: [DeploymentSpec.TrafficForward], found: [FoundForward]) async throws -> (DeploymentSpec.TrafficForward, String)? {
        let seen = Set(found.map(\.forward))
        for forward in named where !seen.contains(forward) {
            let (action, list) = forward.isRule ? ("DescribeRules", "RuleArns") : ("DescribeListeners", "ListenerArns")
            do {
                _ = try await elb.client.call(.elasticLoadBalancing, action: action, parameters: QueryEncoding.memberList(list, [forward.arn]))
            } catch let error as AWSError where ["ListenerNotFound", "RuleNotFound", "LoadBalancerNotFound"].contains(error.code.rawValue) {
                return (forward, error.code.rawValue)
            }
        }
        return nil
    }

    /// Whether any forward action names one of the target groups (plain `TargetGroupArn` or a `ForwardConfig`).
    static func forwardsTo(_ targetGroups: Set<String>, _ actions: [ListenerAction]) -> Bool {
        actions.contains { action in
            guard action.type == "forward" else { return false }
            let named = (action.forward?.targetGroups.map(\.arn) ?? []) + (action.targetGroupArn.map { [$0] } ?? [])
            return named.contains(where: targetGroups.contains)
        }
    }
}

/// The outcome of checking a deployment file's forwards against what the load balancers show.
public struct TrafficTopology: Sendable {
    /// The named forwards' weights, in the file's order.
    public var weights: TrafficWeights
    /// Forwards (by listener or rule ARN) with target-group stickiness on, and its duration in seconds.
    public var sticky: [String: Int]

    /// Checks the file's forwards against every forward found: one that forwards to the pair and is not named is an
    /// error listing them all. The named forwards' actions come from the same reads (no request of their own) when
    /// discovery found them; otherwise `router` reads them, which says why they do not forward to the pair.
    /// A named forward AWS does not find (`missing`, from `ForwardDiscovery.missingForward`) is that error, naming
    /// the forwards that do reach the pair as what the file likely meant.
    public static func check(spec: DeploymentSpec, found: [FoundForward], router: any TrafficRouter,
                             missing: (DeploymentSpec.TrafficForward, String)? = nil) async throws -> TrafficTopology {
        let named = spec.traffic.forwards
        let unnamed = found.filter { !named.contains($0.forward) }
        if let (forward, code) = missing {
            let key = forward.isRule ? (spec.traffic.ruleArns != nil ? "traffic.rule_arns" : "traffic.rule_arn")
                : (spec.traffic.listenerArns != nil ? "traffic.listener_arns" : "traffic.listener_arn")
            let candidates = unnamed.filter { $0.forward.isRule == forward.isRule }
            throw PlanError.forwardNotFound(key: key, forward: forward.description, code: code,
                                            suggestions: (candidates.isEmpty ? unnamed : candidates).map(\.description))
        }
        guard unnamed.isEmpty else { throw PlanError.unnamedForwards(unnamed.map(\.description)) }
        let weights: TrafficWeights
        let byForward = Dictionary(found.map { ($0.forward, $0) }, uniquingKeysWith: { a, _ in a })
        if named.allSatisfy({ byForward[$0] != nil }) {
            weights = TrafficWeights(forwards: try named.compactMap { forward in
                try byForward[forward].map { try ForwardWeights(actions: $0.actions, resource: forward.description) }
            })
        } else {
            weights = try await router.currentWeights()
        }
        var sticky: [String: Int] = [:]
        for (forward, w) in zip(named, weights.forwards) {
            if let seconds = w.stickySeconds { sticky[forward.arn] = seconds }
        }
        return TrafficTopology(weights: weights, sticky: sticky)
    }
}

extension DeploymentSpec.TrafficForward {
    var isRule: Bool {
        if case .rule = self { return true }
        return false
    }
}
