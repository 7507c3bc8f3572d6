import AWS

/// The one place that reads and writes the weights of the forward action that carries a service's traffic.
public struct TrafficSwitch: Sendable {
    public let elb: ELBv2
    public let listenerArn: String
    public let ruleArn: String?

    public init(elb: ELBv2, listenerArn: String, ruleArn: String?) {
        self.elb = elb
        self.listenerArn = listenerArn
        self.ruleArn = ruleArn
    }

    /// "listener arn:…" or "listener rule arn:…", for messages.
    public var resourceName: String {
        if let ruleArn { return "listener rule \(ruleArn)" }
        return "listener \(listenerArn)"
    }

    /// The actions of the listener's default action list, or of the rule.
    public func actions() async throws -> [ListenerAction] {
        if let ruleArn {
            guard let rule = try await elb.describeRule(arn: ruleArn) else { throw PlanError.ruleNotFound(ruleArn) }
            return rule.actions
        }
        guard let listener = try await elb.describeListener(arn: listenerArn) else { throw PlanError.listenerNotFound(listenerArn) }
        return listener.defaultActions
    }

    /// The forward action and each target group's share of it in percent (rounded, summing to 100).
    public func currentWeights() async throws -> ForwardWeights {
        try ForwardWeights(actions: try await actions(), resource: resourceName)
    }

    /// Sends `green` percent to `greenTargetGroup` and the rest to `blueTargetGroup` in one call, keeping
    /// stickiness and every other action as they were, and fails unless the answer shows exactly what was asked.
    /// The write's own answer is the read-back (a second read only when the answer lacks the listener or rule).
    /// - Parameter known: the weights as this process just wrote or read them, to stand in for the read before the
    ///   write; nil reads them first.
    @discardableResult
    public func setWeights(blueTargetGroup: String, greenTargetGroup: String, green: Int, known: ForwardWeights? = nil) async throws -> ForwardWeights {
        let current: ForwardWeights
        if let known { current = known } else { current = try await currentWeights() }
        if current.percent[greenTargetGroup] == green, current.percent[blueTargetGroup] == 100 - green, current.isWeighted {
            return current
        }
        var actions = current.actions
        let old = actions[current.index]
        let config = ForwardConfig(
            targetGroups: [
                WeightedTargetGroup(arn: blueTargetGroup, weight: 100 - green),
                WeightedTargetGroup(arn: greenTargetGroup, weight: green),
            ],
            stickiness: old.forward?.stickiness)
        actions[current.index] = ListenerAction(type: "forward", order: old.order, targetGroupArn: nil, forward: config)
        let answered: [ListenerAction]?
        if let ruleArn {
            answered = try await elb.modifyRule(arn: ruleArn, actions: actions)?.actions
        } else {
            answered = try await elb.modifyListener(arn: listenerArn, defaultActions: actions)?.defaultActions
        }
        let readBack: ForwardWeights
        if let answered, !answered.isEmpty {
            readBack = try ForwardWeights(actions: answered, resource: resourceName)
        } else {
            readBack = try await currentWeights()
        }
        guard readBack.percent[greenTargetGroup] == green, readBack.percent[blueTargetGroup] == 100 - green else {
            throw TrafficError.readBackMismatch(resource: resourceName, expectedGreen: green, found: readBack.percent)
        }
        return readBack
    }
}

/// A forward action's target groups and their shares.
public struct ForwardWeights: Sendable, Equatable {
    public var actions: [ListenerAction]
    /// Index of the forward action in `actions`.
    public var index: Int
    /// Share of each target group in percent.
    public var percent: [String: Int]
    /// Whether the action is written as a weighted ForwardConfig (not a plain TargetGroupArn).
    public var isWeighted: Bool

    public init(actions: [ListenerAction], resource: String) throws {
        let forwards = actions.indices.filter { actions[$0].type == "forward" }
        let others = actions.filter { $0.type != "forward" }.map(\.type)
        guard let index = forwards.first else { throw PlanError.noForwardAction(resource: resource) }
        guard forwards.count == 1, others.isEmpty else {
            throw PlanError.unsupportedActions(resource: resource, types: others.isEmpty ? ["several forward actions"] : others)
        }
        self.actions = actions
        self.index = index
        let action = actions[index]
        var raw: [(String, Int)] = []
        if let groups = action.forward?.targetGroups, !groups.isEmpty {
            raw = groups.map { ($0.arn, $0.weight ?? 1) }
            isWeighted = true
        } else if let arn = action.targetGroupArn {
            raw = [(arn, 1)]
            isWeighted = false
        } else {
            throw PlanError.noForwardAction(resource: resource)
        }
        let total = raw.reduce(0) { $0 + $1.1 }
        var percent: [String: Int] = [:]
        for (arn, weight) in raw {
            percent[arn, default: 0] += total == 0 ? 0 : Int((Double(weight) * 100 / Double(total)).rounded())
        }
        self.percent = percent
    }

    /// The target groups that receive any traffic.
    public var live: [String] { percent.filter { $0.value > 0 }.map(\.key).sorted() }
}

/// The listener did not end up as asked.
public enum TrafficError: Error, Sendable, CustomStringConvertible {
    case readBackMismatch(resource: String, expectedGreen: Int, found: [String: Int])

    public var description: String {
        switch self {
        case .readBackMismatch(let resource, let green, let found):
            let text = found.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)%" }.joined(separator: ", ")
            return "\(resource) was set to \(green)% green but reads back as \(text)"
        }
    }
}
