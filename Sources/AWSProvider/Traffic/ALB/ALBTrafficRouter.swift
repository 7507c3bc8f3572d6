import AWS
import Orchestrator
import SwitchyardCore

/// The ALB implementation of `TrafficRouter`: the forward actions of listeners' default actions and of listener rules,
/// all moved together. Each write keeps stickiness (unless told otherwise) and every other action as it was.
public struct ALBTrafficRouter: TrafficRouter {
    public let elb: ELBv2
    public let forwards: [DeploymentSpec.TrafficForward]
    /// Paces the reads that stand in for a write's answer when it lacks the actions (they may be stale).
    public let clock: DeploymentClock

    public init(elb: ELBv2, forwards: [DeploymentSpec.TrafficForward], clock: DeploymentClock = SystemClock()) {
        precondition(!forwards.isEmpty, "a router needs at least one forward")
        self.elb = elb
        self.forwards = forwards
        self.clock = clock
    }

    public var resources: [String] { forwards.map(\.arn) }

    public var traits: TrafficTraits { AWSTrafficBackends.traits(.alb) }

    /// Every listener and rule shifted carries the fence's tag.
    public var fenceResources: [String] { Array(resources.prefix(20)) }

    /// Every forward to the pair on their load balancers, each of which the file must name; their stickiness.
    public func discover(_ spec: DeploymentSpec) async throws -> TrafficDiscovery {
        let discovery = ForwardDiscovery(elb: elb)
        let found = try await discovery.forwards(to: spec.traffic.pools, skip: TestRouteRule.matcher(spec))
        let missing = try await discovery.missingForward(spec.traffic.forwards, found: found)
        let topology = try await TrafficTopology.check(spec: spec, found: found, router: self, missing: missing)
        return TrafficDiscovery(weights: topology.weights, sticky: topology.sticky)
    }

    /// The router's forwards and every other forward to the watched groups (the test route aside).
    public func carried(_ watched: [String], spec: DeploymentSpec) async throws -> [String: Int] {
        var weights = try await currentWeights().percent
        let found = try await ForwardDiscovery(elb: elb).forwards(to: watched, skip: TestRouteRule.matcher(spec))
        for forward in found {
            // A forward Switchyard cannot parse still counts: any traffic to the group keeps it.
            let shares = (try? ForwardWeights(actions: forward.actions, resource: forward.description).percent)
                ?? Dictionary(uniqueKeysWithValues: watched.map { ($0, 1) })
            for (arn, share) in shares { weights[arn] = max(weights[arn] ?? 0, share) }
        }
        return weights
    }

    /// A listener rule matching the header, at the lowest free priority.
    public func testRoute(_ spec: DeploymentSpec) -> (any TestRoute)? { TestRouteRule(elb: elb, spec: spec) }

    public var description: String {
        forwards.count == 1 ? forwards[0].description : "\(forwards.count) forwards (\(forwards.map(\.description).joined(separator: ", ")))"
    }

    /// Every forward's actions, read in at most two calls (listeners, rules).
    public func currentWeights() async throws -> TrafficWeights {
        let listenerArns = forwards.compactMap { if case .listener(let arn) = $0 { return arn } else { return nil } }
        let ruleArns = forwards.compactMap { if case .rule(let arn) = $0 { return arn } else { return nil } }
        async let listenersRead = elb.describeListeners(arns: listenerArns)
        async let rulesRead = elb.describeRules(arns: ruleArns)
        let listeners = try await listenersRead
        let rules = try await rulesRead
        return TrafficWeights(forwards: try forwards.map { forward in
            switch forward {
            case .listener(let arn):
                guard let listener = listeners?.first(where: { $0.arn == arn }) else { throw PlanError.listenerNotFound(arn) }
                return try ForwardWeights(actions: listener.defaultActions, resource: forward.description)
            case .rule(let arn):
                guard let rule = rules?.first(where: { $0.arn == arn }) else { throw PlanError.ruleNotFound(arn) }
                return try ForwardWeights(actions: rule.actions, resource: forward.description)
            }
        })
    }

    public func setWeights(bluePool blueTargetGroup: String, greenPool greenTargetGroup: String, green: Int, stickiness: StickinessChange,
                           known: TrafficWeights?, write rule: WeightWrite) async throws -> TrafficWeights {
        let current: TrafficWeights
        if let known, known.forwards.map(\.resource) == forwards.map(\.description), known.forwards.allSatisfy({ $0.alb != nil }) {
            current = known
        } else {
            current = try await currentWeights()
        }
        var result: [ForwardWeights] = []
        var written: [String] = []
        for (forward, weights) in zip(forwards, current.forwards) {
            guard let actions = Self.actions(weights, arn: forward.arn, blue: blueTargetGroup, green: greenTargetGroup, percent: green,
                                             stickiness: stickiness, write: rule) else {
                result.append(weights)
                continue
            }
            var readBack: ForwardWeights
            var answered: Bool
            do {
                (readBack, answered) = try await write(actions, to: forward)
            } catch {
                if written.isEmpty { throw error }
                throw TrafficError.partialWrite(written: written, failed: forward.description, expectedGreen: green, error: String(describing: error))
            }
            func matches(_ w: ForwardWeights) -> Bool { w.percent[greenTargetGroup] == green && w.percent[blueTargetGroup] == 100 - green }
            // A read standing in for the answer may be from before the write: read again with backoff, within limits.
            var attempt = 1
            let started = clock.now()
            while !answered, !matches(readBack),
                  let delay = ReadConsistency.readBackDelay(after: attempt, elapsed: clock.now().timeIntervalSince(started)) {
                try await clock.sleep(until: clock.now().addingTimeInterval(delay))
                readBack = try await read(forward)
                attempt += 1
            }
            guard matches(readBack) else {
                throw TrafficError.readBackMismatch(resource: forward.description, expectedGreen: green, found: readBack.percent)
            }
            written.append(forward.description)
            result.append(readBack)
        }
        return TrafficWeights(forwards: result)
    }

    /// The forward's actions with the new split, or nil when it is there already by the read and by the record
    /// (`ReadConsistency.mayLeaveUnwritten`: a rollback always writes).
    static func actions(_ read: ForwardWeights, arn: String, blue: String, green: String, percent: Int, stickiness change: StickinessChange,
                        write rule: WeightWrite) -> [ListenerAction]? {
        guard let current = read.alb else { return nil }
        let old = current.actions[current.index]
        var sticky = old.forward?.stickiness
        switch change {
        case .keep:
            break
        case .offWhereGreenLeaves:
            if percent == 0, (read.percent[green] ?? 0) > 0, sticky?.enabled == true { sticky = Stickiness(enabled: false, durationSeconds: nil) }
        case .restore(let durations):
            if let seconds = durations[arn], sticky?.enabled != true { sticky = Stickiness(enabled: true, durationSeconds: seconds) }
        }
        if ReadConsistency.mayLeaveUnwritten(rule, readGreen: read.percent[green], readBlue: read.percent[blue], target: percent),
           current.isWeighted, sticky == old.forward?.stickiness {
            return nil
        }
        var actions = current.actions
        let config = ForwardConfig(
            targetGroups: [WeightedTargetGroup(arn: blue, weight: 100 - percent), WeightedTargetGroup(arn: green, weight: percent)],
            stickiness: sticky)
        actions[current.index] = ListenerAction(type: "forward", order: old.order, targetGroupArn: nil, forward: config)
        return actions
    }

    /// One write; its answer is the read-back (a read only when the answer lacks the listener or rule: then false).
    private func write(_ actions: [ListenerAction], to forward: DeploymentSpec.TrafficForward) async throws -> (ForwardWeights, Bool) {
        let answered: [ListenerAction]?
        switch forward {
        case .listener(let arn): answered = try await elb.modifyListener(arn: arn, defaultActions: actions)?.defaultActions
        case .rule(let arn): answered = try await elb.modifyRule(arn: arn, actions: actions)?.actions
        }
        if let answered, !answered.isEmpty { return (try ForwardWeights(actions: answered, resource: forward.description), true) }
        return (try await read(forward), false)
    }

    private func read(_ forward: DeploymentSpec.TrafficForward) async throws -> ForwardWeights {
        let router = ALBTrafficRouter(elb: elb, forwards: [forward], clock: clock)
        guard let read = try await router.currentWeights().forwards.first else { throw PlanError.noForwardAction(resource: forward.description) }
        return read
    }
}

/// An ALB forward as read: its actions, so a write changes the forward action's split (and stickiness) only.
public struct ALBForward: NativeForward, Equatable {
    public var actions: [ListenerAction]
    /// Index of the forward action in `actions`.
    public var index: Int
    /// Whether the action is written as a weighted ForwardConfig (not a plain TargetGroupArn).
    public var isWeighted: Bool

    /// The forward's target-group stickiness, if it has any configured.
    public var stickiness: Stickiness? { actions.indices.contains(index) ? actions[index].forward?.stickiness : nil }
}

extension ForwardWeights {
    /// A listener's or rule's actions: exactly one forward action and nothing else.
    public init(actions: [ListenerAction], resource: String) throws {
        let forwards = actions.indices.filter { actions[$0].type == "forward" }
        let others = actions.filter { $0.type != "forward" }.map(\.type)
        guard let index = forwards.first else { throw PlanError.noForwardAction(resource: resource) }
        guard forwards.count == 1, others.isEmpty else {
            throw PlanError.unsupportedActions(resource: resource, types: others.isEmpty ? ["several forward actions"] : others)
        }
        let action = actions[index]
        var raw: [(String, Int)] = []
        let isWeighted: Bool
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
        let alb = ALBForward(actions: actions, index: index, isWeighted: isWeighted)
        let sticky = alb.stickiness.flatMap { $0.enabled ? ($0.durationSeconds ?? 86_400) : nil }
        self.init(resource: resource, percent: percent, stickySeconds: sticky, native: alb)
    }

    /// The ALB reading behind this split, when an ALB router read it.
    var alb: ALBForward? { native as? ALBForward }
}
