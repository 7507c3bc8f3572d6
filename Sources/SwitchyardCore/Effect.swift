/// An action against the cloud that the state machine asks for. Each is named for its outcome, not for the calls that
/// achieve it (the provider's performer makes those, in its cloud's terms), and is safe to run twice.
public enum Effect: Sendable, Hashable, CustomStringConvertible {
    /// Marks the start of the release: the traffic is claimed for this deployment (AWS: a tag on each listener or the
    /// shared pool) so no other release moves it.
    case begin
    /// A fleet that stands in green's pool with no traffic is gone (AWS: its Auto Scaling group scaled to 0 and
    /// deleted; pair mode: the idle group of the pair scaled to 0 and kept).
    case retireFleet(String)
    /// Green's template exists: blue's, but for the image (AWS: a launch-template version equal to blue's but for the
    /// ImageId); reports its number.
    case ensureGreenTemplate
    /// Green's fleet exists with blue's size, from green's template, in green's pool (AWS: an Auto Scaling group
    /// attached to green's target group; pair mode: the idle group of the pair updated to the version and blue's
    /// sizes, nothing created; shared pool: created at 0, each step scales it).
    case ensureGreenFleet(template: Int)
    /// Reads green's fleet: its members and how many are in service.
    case observeCapacity
    /// Reads the health, at the load balancer, of the members green's fleet lists now (AWS: in its target group).
    case observeGreenHealth
    /// The traffic split gives green this share and blue the rest (AWS: every listener forward, or the weighted records),
    /// read back to confirm.
    case setSplit(green: Int)
    /// Runs every configured check once.
    case runChecks
    /// Reads the traffic back at 100 % green (a shared pool: no blue member registered, green's healthy).
    case confirmPromotion
    /// The split gives blue 100 %, read back to confirm (a shared pool: blue scaled back first, then green drained).
    case restoreBlue
    /// Green's fleet is gone (AWS: scaled to 0 and deleted; pair mode: the idle group gets back every setting the plan
    /// recorded).
    case removeGreen
    /// Requests carrying the test-route header reach green only (AWS: a listener rule at the top free priority,
    /// forwarding to green's target group; found again by its condition after a crash, never created twice).
    case ensureTestRoute
    /// No test route of this release stands any more.
    case removeTestRoute
    /// After a rollback, stickiness is back on every forward that had it when the release was planned.
    case restoreStickiness
    /// After the retention window of a completed release, blue's fleet is gone (never while it carries traffic; pair
    /// mode: scaled to 0 and kept).
    case retireBlue
    /// Blue cannot be scaled in while the release runs and launches from a fixed template (AWS: MinSize at its desired
    /// capacity, scheduled actions suspended, its launch template version by number, not `$Latest`/`$Default`).
    case pinBlue
    /// One kind of blue's settings exists on green too.
    case copyToGreen(FleetCopy)
    /// At promotion green has blue's original sizes and scaling, and joins blue's other pools if the file asks.
    case releaseGreen
    /// Reads blue's in-service count before traffic returns to it on a rollback.
    case observeBlue
    /// Blue has its own sizes, scaling and template back after a rollback (AWS: suspended processes and launch
    /// template version).
    case restoreBlueFleet
    /// A deployment file hook ran to its end (a local process, not a cloud call).
    case runHook(HookRef)
    /// A fleet leaving service stands in no pool any more, so the load balancer stops sending it new requests and
    /// drains what is in flight (AWS: each target group detached from its group); reports the longest drain delay.
    /// Refused while any of its pools carries traffic the other fleet cannot take.
    case deregisterFleet(String)
    /// Reads which of a deregistered fleet's members its pools still list (draining, or not yet shown so).
    case observeDrain(String)
    /// Once its release is over and no fleet launches from it, green's template (AWS: the launch-template version this
    /// deployment created) is gone (only if it is still the one it created, and not the template's default).
    case removeGreenTemplate(Int)

    /// A short name for logs and error messages.
    public var title: String {
        switch self {
        case .begin: return "starting the release"
        case .retireFleet(let name): return "retiring \(name)"
        case .ensureGreenTemplate: return "creating green's template with the new image"
        case .ensureGreenFleet: return "setting up green's fleet"
        case .observeCapacity: return "reading green's capacity"
        case .observeGreenHealth: return "reading green's health at the load balancer"
        case .setSplit(let green): return "moving traffic to \(green)% green"
        case .runChecks: return "running checks"
        case .confirmPromotion: return "confirming promotion"
        case .restoreBlue: return "moving all traffic back to blue"
        case .removeGreen: return "taking green's fleet down"
        case .retireBlue: return "retiring blue after its retention"
        case .ensureTestRoute: return "adding the test route to green"
        case .removeTestRoute: return "removing the test route"
        case .restoreStickiness: return "turning stickiness back on"
        case .pinBlue: return "pinning blue's capacity for the release"
        case .copyToGreen(let kind): return "copying blue's \(kind.rawValue.replacingOccurrences(of: "_", with: " ")) to green"
        case .releaseGreen: return "giving green blue's original sizes and scaling"
        case .observeBlue: return "reading blue's capacity"
        case .restoreBlueFleet: return "restoring blue's sizes and scaling"
        case .runHook(let ref): return "running the \(ref)"
        case .deregisterFleet(let group): return "deregistering \(group) from the load balancer"
        case .observeDrain(let group): return "reading whether \(group) has drained"
        case .removeGreenTemplate(let version): return "deleting green's template version \(version)"
        }
    }

    public var description: String { title }

    /// Whether the effect changes anything in AWS (the others only read): each of these is fenced by the lease.
    public var writesAWS: Bool {
        switch self {
        case .begin, .observeCapacity, .observeGreenHealth, .runChecks, .confirmPromotion, .observeBlue, .runHook, .observeDrain: return false
        case .deregisterFleet, .retireFleet, .ensureGreenTemplate, .ensureGreenFleet, .setSplit, .restoreBlue, .removeGreen, .retireBlue,
             .ensureTestRoute, .removeTestRoute, .restoreStickiness, .pinBlue, .copyToGreen, .releaseGreen, .restoreBlueFleet,
             .removeGreenTemplate: return true
        }
    }

    /// Whether the effect must hold the lease right before it starts: every AWS write, and every hook, because a hook
    /// acts on the world too (a load test, a ticket) and a process that lost the deployment must not start one.
    public var needsLease: Bool {
        if case .runHook = self { return true }
        return writesAWS
    }

    /// The case's name without its values, e.g. `setSplit`.
    public var kind: String {
        switch self {
        case .begin: return "begin"
        case .retireFleet: return "retireFleet"
        case .ensureGreenTemplate: return "ensureGreenTemplate"
        case .ensureGreenFleet: return "ensureGreenFleet"
        case .observeCapacity: return "observeCapacity"
        case .observeGreenHealth: return "observeGreenHealth"
        case .setSplit: return "setSplit"
        case .runChecks: return "runChecks"
        case .confirmPromotion: return "confirmPromotion"
        case .restoreBlue: return "restoreBlue"
        case .removeGreen: return "removeGreen"
        case .retireBlue: return "retireBlue"
        case .ensureTestRoute: return "ensureTestRoute"
        case .removeTestRoute: return "removeTestRoute"
        case .restoreStickiness: return "restoreStickiness"
        case .pinBlue: return "pinBlue"
        case .copyToGreen: return "copyToGreen"
        case .releaseGreen: return "releaseGreen"
        case .observeBlue: return "observeBlue"
        case .restoreBlueFleet: return "restoreBlueFleet"
        case .runHook: return "runHook"
        case .deregisterFleet: return "deregisterFleet"
        case .observeDrain: return "observeDrain"
        case .removeGreenTemplate: return "removeGreenTemplate"
        }
    }
}

/// Something that happened: the outcome of an effect, or an operator's request.
public enum Event: Sendable, Hashable {
    case begun
    case fleetRetired(String)
    case greenTemplateReady(Int)
    case greenFleetReady
    case capacityObserved(CapacityReport)
    /// Green's health at the load balancer before traffic, with the other checks (alarms, HTTP) of the same tick.
    case greenHealthObserved(TargetHealthReport, checks: [CheckResult] = [])
    case splitConfirmed(green: Int)
    /// A split carried by instance counts (`TrafficTraits.splitByCounts`) is on its way to `green` percent but not
    /// there yet: `summary` says what the look found and what was done about it; the machine looks again after
    /// `checks.interval`. `total` is the step's healthy total as its first look fixed it (`Deployment.shareTotal`);
    /// `healthy`, how many of the fleet the look waits for (green in a step, blue in a rollback) it found healthy
    /// (`Deployment.shareHealthySeen`).
    case splitProgressing(green: Int, summary: String, total: Int? = nil, healthy: Int? = nil)
    case checksObserved([CheckResult])
    case promotionConfirmed
    case greenRemoved
    /// Blue's fleet is gone after promotion: its retention ended, or (`by`) a later deployment needed its pool.
    case blueRetired(by: String?)
    case promoteRequested
    /// Before a step's write, the cloud showed a forward other than this deployment last wrote (or accepted), read again
    /// after the read-consistency window: someone changed the traffic by hand.
    case trafficChangedByHand(TrafficChange)
    /// `resume --accept-current`: the split found by hand becomes the record's, and the release goes on from it.
    case acceptCurrentRequested(actor: String)
    /// The test route stands (its id: AWS, the listener rule's ARN).
    case testRouteReady(id: String)
    case testRouteRemoved
    case stickinessRestored
    case rollbackRequested(reason: String, actor: String)
    case effectFailed(Effect, message: String)
    /// The effect could not reach the cloud: no answer within the call's deadline, throttled past its retries, a group
    /// busy past its limit. A rollback tries it again (`EffectRetry`); elsewhere it is an `effectFailed`.
    case effectUnreachable(Effect, message: String)
    /// Blue is pinned; `summary` says how, for the audit trail.
    case bluePinned(summary: String)
    case copiedToGreen(FleetCopy, summary: String)
    case greenReleased(summary: String)
    case blueObserved(CapacityReport)
    case blueFleetRestored(summary: String)
    /// `gc` deleted green's template (AWS: its launch template version): its release is over and no fleet uses it.
    case greenTemplateDeleted(Int)
    /// A hook's process ended (passed or failed); a hook's failure is never an `effectFailed`.
    case hookFinished(HookRef, HookResult)
    /// A hook was stopped because the process was asked to stop (SIGINT/SIGTERM): it has not finished, and runs again
    /// on resume.
    case hookInterrupted(HookRef)
    /// A fleet leaving service left these pools (none when it stood in none, or is gone); the longest drain delay
    /// among them, in seconds, as the cloud reported it (AWS: `deregistration_delay.timeout_seconds`).
    case fleetDeregistered(fleet: String, pools: [String], delaySeconds: Int)
    /// A deregistered fleet's members that its pools still list, with their states (`draining`, or a state a stale
    /// read may still show); empty once none is.
    case drainObserved(fleet: String, targets: [TargetHealthReport.Target])
}

/// Green's group as last read: its instances and how many are InService.
public struct CapacityReport: Sendable, Hashable, Codable {
    public var desired: Int
    public var inService: Int
    public var instances: Int
    /// Green's launches failing in a row, from its scaling activities (nil: none failed, or not read).
    public var launchFailures: LaunchFailures?

    public init(desired: Int, inService: Int, instances: Int, launchFailures: LaunchFailures? = nil) {
        self.desired = desired
        self.inService = inService
        self.instances = instances
        self.launchFailures = launchFailures
    }

    public var summary: String {
        let failing = launchFailures.map { "; \($0.inARow) launch(es) in a row failed, the last: \($0.message)" } ?? ""
        return "\(inService)/\(desired) InService\(failing)"
    }
}

/// The target-group health of the instances that green's group lists now.
///
/// Only instances the group has `InService` are judged: an instance being replaced (`Pending`, `Terminating`, after an
/// AZ rebalance or a failed health check) is reported but never counted against green.
public struct TargetHealthReport: Sendable, Hashable, Codable {
    public struct Target: Sendable, Hashable, Codable {
        public var instanceId: String
        /// `healthy`, `initial`, `unhealthy`, `unused`, `draining`, `unavailable`, or `missing` when not registered.
        public var state: String
        public var reason: String?
        /// The instance's lifecycle state in its Auto Scaling group (`InService`, `Pending`, `Terminating`, …); nil
        /// in records written before it was kept, read as `InService`.
        public var lifecycleState: String?
        public init(instanceId: String, state: String, reason: String? = nil, lifecycleState: String? = nil) {
            self.instanceId = instanceId
            self.state = state
            self.reason = reason
            self.lifecycleState = lifecycleState
        }

        /// Whether the group counts it as serving.
        public var inService: Bool { lifecycleState == nil || lifecycleState == "InService" }
    }

    public var targets: [Target]
    /// Left out of the verdict (`sharedStepView`): a shared pool's instances a step is still bringing up.
    public var warmingUp: [Target]?

    public init(targets: [Target]) { self.targets = targets }

    /// InService instances whose target is `healthy`.
    public var healthy: [Target] { targets.filter { $0.inService && $0.state == "healthy" } }
    /// InService instances whose target is in any state but `healthy`.
    public var unhealthy: [Target] { targets.filter { $0.inService && $0.state != "healthy" } }
    /// Instances coming or going (not InService): reported, not judged.
    public var changing: [Target] { targets.filter { !$0.inService } }

    /// True when at least `expected` InService targets exist and each one is healthy.
    public func allHealthy(expected: Int) -> Bool {
        unhealthy.isEmpty && healthy.count >= max(expected, 1)
    }

    public var summary: String {
        var text = "\(healthy.count)/\(healthy.count + unhealthy.count) targets healthy"
        let bad = unhealthy
        if !bad.isEmpty {
            text += "; " + bad.map { t in "\(t.instanceId) \(t.state)" + (t.reason.map { " (\($0))" } ?? "") }.joined(separator: ", ")
        }
        let moving = changing
        if !moving.isEmpty {
            text += "; not counted: " + moving.map { "\($0.instanceId) \($0.lifecycleState ?? "")" }.joined(separator: ", ")
        }
        if let warming = warmingUp, !warming.isEmpty {
            text += "; not judged yet (green's step is still bringing them up, the load balancer sends them nothing): "
                + warming.map { "\($0.instanceId) \($0.state)" }.joined(separator: ", ")
        }
        return text
    }

    /// Green behind a shared target group or Classic ELB, judged while its step scales it out: an instance the group
    /// has InService that the load balancer has not found healthy yet gets no request, and the step waits for it (and
    /// rolls back on its own bound when it never passes). `initial` (still health-checked) is never judged; nor is
    /// `unhealthy`, up to as many instances as the group holds beyond `confirmed`, the count the last confirmed step
    /// gave green: an instance that boots slower than its health check's interval x unhealthy threshold reads unhealthy
    /// before it passes, on AWS as here. Any unhealthy beyond that, a green instance that served and failed, is judged.
    public func sharedStepView(confirmed: Int) -> TargetHealthReport {
        var spare = max(0, targets.filter(\.inService).count - confirmed)
        let initial = targets.filter { $0.inService && $0.state == "initial" }
        spare -= initial.count
        var view = TargetHealthReport(targets: []), skipped = initial
        for target in targets where !(target.inService && target.state == "initial") {
            if target.inService, target.state == "unhealthy", spare > 0 {
                spare -= 1
                skipped.append(target)
            } else {
                view.targets.append(target)
            }
        }
        view.warmingUp = skipped.isEmpty ? nil : skipped
        return view
    }

    /// The check that runs while green takes traffic: more than `maxUnhealthy` unhealthy InService targets, or no
    /// healthy one at all, fails it.
    public func check(maxUnhealthy: Int) -> CheckResult {
        CheckResult(name: "target-health", passed: unhealthy.count <= maxUnhealthy && !healthy.isEmpty, evidence: summary)
    }
}

/// What a check with too few data points for a verdict means once a step's bake is over (`on_no_data`): go on, hold at
/// a gate, or roll back.
public enum OnNoData: String, Sendable, Hashable, Codable, CaseIterable {
    case pass, pause, rollback
}

/// The outcome of one check in one tick, with the evidence a person needs to trust the decision.
public struct CheckResult: Sendable, Hashable, Codable {
    public var name: String
    public var passed: Bool
    public var evidence: String
    /// How many failures in a row make the check fail the release.
    public var threshold: Int
    /// Set when a metric check had too few data points for a verdict: what its file says that means once the step's
    /// bake is over (the machine decides; the check itself passed).
    public var onNoData: OnNoData?

    public init(name: String, passed: Bool, evidence: String, threshold: Int = 1, onNoData: OnNoData? = nil) {
        self.name = name
        self.passed = passed
        self.evidence = evidence
        self.threshold = max(threshold, 1)
        self.onNoData = onNoData
    }
}
