import AWS
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

    public func setWeights(blueTargetGroup: String, greenTargetGroup: String, green: Int, stickiness: StickinessChange,
                           known: TrafficWeights?, write rule: WeightWrite) async throws -> TrafficWeights {
        let current: TrafficWeights
        if let known, known.forwards.map(\.resource) == forwards.map(\.description) { current = known } else { current = try await currentWeights() }
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
    static func actions(_ current: ForwardWeights, arn: String, blue: String, green: String, percent: Int, stickiness change: StickinessChange,
                        write rule: WeightWrite) -> [ListenerAction]? {
        let old = current.actions[current.index]
        var sticky = old.forward?.stickiness
        switch change {
        case .keep:
            break
        case .offWhereGreenLeaves:
            if percent == 0, (current.percent[green] ?? 0) > 0, sticky?.enabled == true { sticky = Stickiness(enabled: false, durationSeconds: nil) }
        case .restore(let durations):
            if let seconds = durations[arn], sticky?.enabled != true { sticky = Stickiness(enabled: true, durationSeconds: seconds) }
        }
        if ReadConsistency.mayLeaveUnwritten(rule, readGreen: current.percent[green], readBlue: current.percent[blue], target: percent),
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

/// A forward action's target groups and their shares.
public struct ForwardWeights: Sendable, Equatable {
    /// The listener or rule, for messages.
    public var resource: String
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
        self.resource = resource
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

    /// A split carried by something other than an ALB action (Route 53 weighted records): no actions to keep.
    public init(resource: String, percent: [String: Int]) {
        self.resource = resource
        self.actions = []
        self.index = 0
        self.percent = percent
        self.isWeighted = true
    }

    /// The target groups that receive any traffic.
    public var live: [String] { percent.filter { $0.value > 0 }.map(\.key).sorted() }

    /// The forward's target-group stickiness, if it has any configured.
    public var stickiness: Stickiness? { actions.indices.contains(index) ? actions[index].forward?.stickiness : nil }

    /// `a=90%, b=10%`, sorted by ARN.
    static func text(_ percent: [String: Int]) -> String {
        percent.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)%" }.joined(separator: ", ")
    }
}

/// The listener did not end up as asked.
public enum TrafficError: Error, Sendable, CustomStringConvertible {
    case readBackMismatch(resource: String, expectedGreen: Int, found: [String: Int])
    /// Some forwards took the new split and one refused it: they now disagree until a retry or a rollback writes all.
    case partialWrite(written: [String], failed: String, expectedGreen: Int, error: String)

    public var description: String {
        switch self {
        case .readBackMismatch(let resource, let green, let found):
            return "\(resource) was set to \(green)% green but reads back as \(ForwardWeights.text(found))"
        case .partialWrite(let written, let failed, let green, let error):
            return "\(written.joined(separator: ", ")) moved to \(green)% green, but \(failed) did not (\(error)); "
                + "the forwards disagree until every one is written again (a retry or a rollback writes them all)"
        }
    }
}
