/// One look at the scale-out pattern's world and what it asks for next: the pure half of a step (or a rollback's move
/// back to blue) with a shared target group. The AWS provider reads both groups and the target group's health, asks
/// `SharedStep.next` (or `restore`), does the one thing it answers, and reports; the machine looks again after
/// `checks.interval` until the answer is `done`. Everything is decided from that fresh look, never from the plan or an
/// earlier look, so a crash anywhere, a scale event between two looks (aws-codedeploy-samples#80) or a person's change
/// is simply the next look's world.
///
/// A step's order (`SharedSplit`): green is scaled out to its count and healthy first; only then are blue's surplus
/// instances deregistered from the target group by instance id, so the load balancer drains them; only once the target
/// group no longer lists them are they terminated, with the group's desired capacity decremented so nothing replaces
/// them. The healthy total never dips below the step's total on the way.
public enum SharedStep {
    /// One instance of blue or green, as its group and the shared target group show it.
    public struct Member: Sendable, Hashable {
        public var instanceId: String
        /// The group's lifecycle state (`InService`, `Pending`, `Terminating`, …).
        public var lifecycleState: String
        /// The target group's state for it (`healthy`, `initial`, `unhealthy`, `draining`, `unused`), nil when it is not
        /// listed at all.
        public var target: String?

        public init(instanceId: String, lifecycleState: String, target: String?) {
            self.instanceId = instanceId
            self.lifecycleState = lifecycleState
            self.target = target
        }

        var inService: Bool { lifecycleState == "InService" }
        /// Serving: InService in its group and healthy in the target group.
        public var healthy: Bool { inService && target == "healthy" }
        /// Registered, so the load balancer may still send it a request or is finishing one.
        public var registered: Bool { target != nil && target != "unused" }
        /// InService and not registered: no client reaches it.
        var idle: Bool { inService && !registered }
    }

    /// One fleet's side of the look.
    public struct Fleet: Sendable, Hashable {
        public var name: String
        public var desired: Int
        public var maxSize: Int
        public var members: [Member]

        public init(name: String, desired: Int, maxSize: Int, members: [Member]) {
            self.name = name
            self.desired = desired
            self.maxSize = maxSize
            self.members = members
        }

        public var healthy: [Member] { members.filter(\.healthy) }
        public var registered: [Member] { members.filter(\.registered) }
        /// InService in the group (whatever the target group says).
        public var inService: Int { members.filter(\.inService).count }
        var draining: [Member] { members.filter { $0.target == "draining" } }
        var idle: [Member] { members.filter(\.idle) }
    }

    /// What to do next.
    public enum Action: Sendable, Hashable {
        /// Set the group's desired capacity (and its maximum, when the count is above it).
        case scale(group: String, desired: Int)
        /// Take these instances out of the target group: the load balancer drains them.
        case deregister([String])
        /// Put these instances of blue back in the target group (a rollback's blue, drained by a step before it).
        case register([String])
        /// Terminate these instances, decrementing their group's desired capacity: the target group lists none of them.
        case terminate([String])
        /// Nothing to do but look again.
        case wait
        /// The step's counts are reached.
        case done
    }

    /// The healthy total a step holds, fixed at its first look: the total the step before held (`base`: blue's healthy
    /// count at the start for the first step), raised only by capacity that came from elsewhere — blue grown by a
    /// person or a scale event since. Green's instances count only up to what the step before gave it, so green's own
    /// scale-out, cut short by a crash before the look was recorded, does not raise the total each time it is seen.
    public static func total(base: Int, previousShare: Int, blue: Fleet, green: Fleet) -> Int {
        let greenBefore = SharedSplit.step(share: previousShare, startHealthy: base, blueHealthy: 0, greenHealthy: 0).green
        return max(base, blue.healthy.count + min(green.healthy.count, greenBefore))
    }

    /// The next action of a step to `share` percent green, with what the look found, for the audit trail.
    /// - Parameters:
    ///   - base: the total the step before held (`Deployment.shareBase`), or blue's healthy count at the start.
    ///   - previousShare: the weight of the step before (0 for the first).
    ///   - stepTotal: the total this step's first look fixed (nil at that first look), so green's own scale-out
    ///     during the step does not raise it look after look.
    ///   - greenSeen: green's healthy count at the look before (nil: none in this step); blue gives up an instance only
    ///     when two looks in a row found green's count healthy.
    public static func next(share: Int, base: Int, previousShare: Int, stepTotal: Int? = nil, greenSeen: Int? = nil, blue: Fleet, green: Fleet)
        -> (action: Action, split: SharedSplit, summary: String) {
        let total = stepTotal ?? Self.total(base: base, previousShare: previousShare, blue: blue, green: green)
        let split = SharedSplit.step(share: share, startHealthy: total, blueHealthy: 0, greenHealthy: 0)
        let seen = "\(blue.healthy.count) blue and \(green.healthy.count) green healthy at the load balancer; the step holds \(split.blue) blue and \(split.green) green"
        let wanted = split.greenFirst(greenHealthy: green.healthy.count)
        if green.desired < wanted {
            return (.scale(group: green.name, desired: wanted), split, "\(seen): green \(green.name) scaled out from \(green.desired) to \(wanted)")
        }
        if green.healthy.count < split.green {
            let waiting = green.members.filter { !$0.healthy }.map { "\($0.instanceId) \($0.lifecycleState)/\($0.target ?? "not registered")" }
            return (.wait, split, "\(seen): waiting for green (\(waiting.isEmpty ? "no instance yet" : waiting.sorted().joined(separator: ", ")))")
        }
        let surplus = blue.healthy.count - split.blue
        // At the last step blue leaves the pool whole: its registered instances that serve nothing (unhealthy, still
        // initial, a stopped one behind a Classic Load Balancer: OutOfService) go with its healthy ones, or promotion
        // would find them registered and roll a finished release back.
        let unserving = split.blue == 0 ? blue.registered.filter { !$0.healthy && $0.target != "draining" }.map(\.instanceId).sorted() : []
        if surplus > 0 || !unserving.isEmpty, (greenSeen ?? 0) < split.green {
            return (.wait, split, "\(seen): green's \(split.green) healthy on this look; blue gives nothing up before the next look finds them too")
        }
        if surplus > 0 || !unserving.isEmpty {
            let ids = blue.healthy.map(\.instanceId).sorted().prefix(max(surplus, 0)).map { $0 } + unserving
            let idle = unserving.isEmpty ? "" : " (\(unserving.joined(separator: ", ")) served nothing: \(unserving.count == 1 ? "it leaves" : "they leave") with blue)"
            return (.deregister(ids), split, "\(seen): blue \(ids.joined(separator: ", ")) deregistered, to drain before it is terminated\(idle)")
        }
        let draining = blue.draining.map(\.instanceId).sorted()
        if !draining.isEmpty {
            return (.wait, split, "\(seen): waiting for blue \(draining.joined(separator: ", ")) to drain")
        }
        let idle = blue.idle.map(\.instanceId).sorted()
        if !idle.isEmpty {
            return (.terminate(idle), split, "\(seen): blue \(idle.joined(separator: ", ")) drained and terminated (desired capacity decremented)")
        }
        return (.done, split, seen)
    }

    /// The next action of a rollback's move back to blue: blue scaled back to `desired` (its size when the release was
    /// planned), any blue instance a step drained registered again, and then a wait until `startHealthy` of blue's
    /// instances are healthy. Green is not touched: it serves beside blue until then, and leaves after by the drain.
    /// - Parameter blueSeen: blue's healthy count at the look before (nil: none yet); done only when two looks in a row
    ///   found blue's count healthy, since green leaves after it.
    /// - Parameter reregistersDraining: the pool takes back an instance still draining (a target group: RegisterTargets
    ///   on a draining target registers it again), so a rollback need not wait out the drain of what a step let go.
    ///   False for a Classic Load Balancer, which documents no such thing: its drained instances are registered once
    ///   the drain is over.
    public static func restore(desired: Int, startHealthy: Int, blueSeen: Int? = nil, blue: Fleet,
                               reregistersDraining: Bool = false) -> (action: Action, summary: String) {
        let seen = "blue \(blue.name) has \(blue.healthy.count) healthy instances at the load balancer (\(startHealthy) at the start)"
        if blue.desired < desired {
            return (.scale(group: blue.name, desired: desired), "\(seen): scaled back from \(blue.desired) to \(desired)")
        }
        // Only an instance the pool no longer lists at all was let go by a step: one it lists `unused` is still registered
        // and cannot serve (a stopped instance: Target.InvalidState), and RegisterTargets refuses an instance that is not
        // running, so it is waited for like any unhealthy one.
        let letGo = blue.members.filter { $0.inService && $0.target == nil }
        let idle = (letGo + (reregistersDraining ? blue.draining.filter(\.inService) : [])).map(\.instanceId).sorted()
        if !idle.isEmpty {
            return (.register(idle), "\(seen): \(idle.joined(separator: ", ")) registered again")
        }
        if blue.healthy.count < min(startHealthy, desired) || blue.healthy.isEmpty {
            let waiting = blue.members.filter { !$0.healthy }.map { "\($0.instanceId) \($0.lifecycleState)/\($0.target ?? "not registered")" }
            return (.wait, "\(seen): waiting for blue (\(waiting.isEmpty ? "no instance yet" : waiting.sorted().joined(separator: ", ")))")
        }
        if (blueSeen ?? 0) < min(startHealthy, desired) || blueSeen == 0 {
            return (.wait, "\(seen): healthy on this look; green stays until the next look finds them too")
        }
        return (.done, seen)
    }

    /// Green holds the whole target group: no blue instance is registered any more, and green has a healthy one.
    public static func allGreen(blue: Fleet, green: Fleet) -> Bool {
        blue.registered.isEmpty && !green.healthy.isEmpty
    }
}
