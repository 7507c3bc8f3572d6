import Foundation

/// The blue side as discovered before a release: the live pool and the group behind it, in the core's words (the AWS
/// provider's are in the record's keys: `autoScalingGroup`, `targetGroupArn`, `launchTemplateId`, …).
public struct BlueFleet: Sendable, Hashable, Codable {
    /// The group's name (AWS: the Auto Scaling group).
    public var group: String
    /// Where its traffic reaches it (AWS: the live target group's ARN, or a shared Classic Load Balancer's pool id).
    public var pool: String
    /// The template its instances launch from (AWS: the launch template's id and name).
    public var templateId: String
    public var templateName: String
    /// The concrete template version blue runs (never `$Latest`/`$Default`).
    public var templateVersion: Int
    /// The image it runs (AWS: the AMI id).
    public var image: String
    public var architecture: String
    public var minSize: Int
    public var maxSize: Int
    public var desiredCapacity: Int

    enum CodingKeys: String, CodingKey {
        case group = "autoScalingGroup", pool = "targetGroupArn", templateId = "launchTemplateId", templateName = "launchTemplateName"
        case templateVersion = "launchTemplateVersion", image = "imageId", architecture, minSize, maxSize, desiredCapacity
    }

    public init(group: String, pool: String, templateId: String, templateName: String, templateVersion: Int, image: String, architecture: String,
                minSize: Int, maxSize: Int, desiredCapacity: Int) {
        self.group = group
        self.pool = pool
        self.templateId = templateId
        self.templateName = templateName
        self.templateVersion = templateVersion
        self.image = image
        self.architecture = architecture
        self.minSize = minSize
        self.maxSize = maxSize
        self.desiredCapacity = desiredCapacity
    }
}

/// Everything a deployment was resolved to before it started; never changes afterwards.
public struct ReleasePlan: Sendable, Hashable, Codable {
    public var spec: DeploymentSpec
    /// The image green runs (AWS: the AMI id; Azure: the image's resource id). Stored as `ami`.
    public var image: String
    public var blue: BlueFleet
    /// Where green's traffic reaches it (AWS: green's target group, or the pool it shares with blue).
    public var greenPool: String
    /// Green's group's name (AWS: its Auto Scaling group).
    public var greenGroup: String
    /// Groups on green's target group that carry no traffic and go before green is attached there.
    public var retire: [String]
    /// The forwards (by listener or rule ARN) that had target-group stickiness on when the release was planned, with
    /// its duration in seconds: a rollback turns it off while it sends everything to blue, and back on once green is
    /// gone. Nil in records written before it was kept (and when no forward is sticky).
    public var stickyForwards: [String: Int]?
    /// What green copies from blue and what the release pins; nil in records made before fleets were copied (those
    /// releases go on as they began).
    public var fleet: FleetPlan?
    /// Set in `fleet.mode: pair`: green is a standing group, updated and scaled, never created or deleted.
    public var pair: PairPlan?
    /// With Route 53, the records' TTL in seconds (resolvers keep the old answer that long). Nil with ALB listeners.
    public var trafficSettleSeconds: Int?
    /// How long a confirmed listener or record change takes to reach clients (`traffic.settle`; with Route 53 at least
    /// the records' TTL): each step's bake starts that long after its weights were confirmed, and a fleet that lost its
    /// traffic is deregistered only that long after. Nil in records made before it was kept: then the TTL, or none.
    public var settle: TimeSpan?
    /// With Route 53, each stack's load balancer by its target group (the `{load_balancer}` of metric checks is green's
    /// for green's query and blue's for blue's). Nil with ALB listeners, where both share one.
    public var stackLoadBalancers: [String: String]?
    /// Set with `traffic.shared`: what the scale-out pattern keeps of blue at the start.
    public var shared: SharedPlan?
    /// What the provider itself recorded when it planned, in its own shape (Azure: the profile, the endpoints, the
    /// scale sets' ids, green's backend pools, blue's autoscale floors); nothing else reads inside it. Nil for AWS,
    /// whose plan lives in the fields above, so AWS records are the bytes they always were.
    public var cloud: JSONValue?

    public init(spec: DeploymentSpec, image: String, blue: BlueFleet, greenPool: String, greenGroup: String, retire: [String] = [],
                stickyForwards: [String: Int]? = nil, fleet: FleetPlan? = nil, pair: PairPlan? = nil, trafficSettleSeconds: Int? = nil,
                stackLoadBalancers: [String: String]? = nil, settle: TimeSpan? = nil, shared: SharedPlan? = nil, cloud: JSONValue? = nil) {
        self.cloud = cloud
        self.settle = settle
        self.shared = shared
        self.fleet = fleet
        self.pair = pair
        self.stackLoadBalancers = stackLoadBalancers
        self.trafficSettleSeconds = trafficSettleSeconds
        self.spec = spec
        self.image = image
        self.blue = blue
        self.greenPool = greenPool
        self.greenGroup = greenGroup
        self.retire = retire
        self.stickyForwards = stickyForwards
    }

    /// Whether green and blue are a standing pair (`fleet.mode: pair`) rather than a clone per release.
    public var isPair: Bool { pair != nil }

    /// Whether any shifted forward has target-group stickiness on.
    public var isSticky: Bool { !(stickyForwards ?? [:]).isEmpty }

    /// The wait between a confirmed traffic change and the moment it counts as live for clients.
    public var trafficSettle: TimeSpan { settle ?? .seconds(Int64(max(trafficSettleSeconds ?? 0, 0))) }

    /// The InService instances green waits for before its health is checked: blue's desired capacity, or none with a
    /// shared target group, where green starts at 0 and each step scales it to its share.
    public var greenLaunchCapacity: Int { shared == nil ? blue.desiredCapacity : 0 }

    /// The green weights of the steps, in order.
    public var weights: [Int] { spec.weightSteps.map(\.weight) }

    enum CodingKeys: String, CodingKey {
        case spec, image = "ami", blue, greenPool = "greenTargetGroupArn", greenGroup = "greenAutoScalingGroup", retire, stickyForwards, fleet, pair
        case trafficSettleSeconds, settle, stackLoadBalancers, shared, cloud
    }
}

/// What the scale-out pattern (`traffic.shared`) records of blue when the release is planned.
public struct SharedPlan: Sendable, Hashable, Codable {
    /// Blue's healthy instances in the shared target group at the start: no step ends with fewer healthy instances in
    /// all (`SharedSplit`), and a rollback waits for blue to have this many again before green leaves.
    public var startHealthy: Int

    public init(startHealthy: Int) { self.startHealthy = startHealthy }
}

/// A deployment as stored: the plan plus where it has got to. The record alone says how to go on.
public struct Deployment: Sendable, Hashable {
    public var id: String
    public var plan: ReleasePlan
    public var fileDigest: String
    public var state: DeploymentState
    /// Index into `plan.spec.steps` of the step being applied or baked.
    public var stepIndex: Int
    /// Green's share of the traffic as last written to and read back from the listener.
    public var greenWeight: Int
    /// When the current state (or, while shifting, the current step's bake) began.
    public var phaseStartedAt: Date
    /// When the current step's weights count as live for clients: their confirmation plus the plan's settle. The bake,
    /// and the checks that let the step move on, run from here.
    public var bakeStartedAt: Date?
    /// When the listener (or the records) were last confirmed at the current step's weights, before the settle.
    public var weightsConfirmedAt: Date?
    /// When the next check or observation is due.
    public var nextCheckAt: Date?
    public var greenTemplateVersion: Int?
    public var retiredGroups: [String]
    /// Earlier groups whose retirement before green was made was left off once they stood in no target group (AWS
    /// could not be reached, or the group stayed busy, for their deletion): the release went on without them, and
    /// `switchyard gc` retires them under the record that kept them.
    public var leftOffGroups: [String]?
    /// Consecutive failures per check name, reset by a success.
    /// The milestones the release has passed (`Milestone`): progress as data, one key per step done. Stored as one
    /// boolean per milestone under its own key, as every record since format 1 holds it (`init(from:)`).
    public var progress: Set<Milestone>
    public var consecutiveFailures: [String: Int]
    /// Set on resume while green may take traffic: the checks must run once at the current step before the release
    /// moves on, because an unhealthy result may have been lost with the crash.
    public var recheckAfterResume: Bool?
    /// Every check's result at the last tick, for the live view and `status`.
    public var lastChecks: [CheckResult]?
    /// When the checks last ran: a step moves on only after a tick that ran after its weight was confirmed.
    public var lastChecksAt: Date?
    /// Set when a step's weight is confirmed, cleared by the next tick of checks: the step cannot move on before.
    /// (A flag as well as the time, because a tick and a confirmation may share a clock reading.)
    public var checksPendingAtWeight: Bool?
    /// Green's group as last read while waiting for capacity.
    public var greenCapacity: CapacityReport?
    /// The last observation of green, in words, for status output and timeout explanations.
    public var lastObservation: String?
    /// When `lastObservation` was made: shown beside it, since a release waiting at a gate observes nothing.
    public var lastObservationAt: Date?
    /// The test route, once created (`checks.http.test_route`): its id where the backend keeps it (ALB: the listener rule's ARN).
    public var testRouteId: String?
    /// Set by `switchyard promote` while paused at a manual gate.
    public var promoteRequested: Bool
    public var retentionDeadline: Date?
    /// When blue was scaled to 0 and deleted after promotion (its retention ended or a new release needed its place).
    public var blueRetiredAt: Date?
    public var rollbackReason: String?
    public var failureReason: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// Who started the deployment, as user@host.
    public var actor: String
    /// The copies from blue already made on green.
    public var greenCopies: [FleetCopy]?
    /// Blue's capacity read during a rollback, before traffic returned to it.
    public var blueCapacityAtRollback: CapacityReport?
    /// The hooks that ran to their end (`HookRef.key`), whatever their outcome: never run again, even after a crash.
    public var finishedHooks: [String]?
    /// The hook started and not yet finished: after a crash it runs again, and `resume` says so.
    public var runningHook: String?
    /// Set when a failed hook (`on_failure: pause`) paused the release: the state `promote` returns to, without
    /// moving to the next step.
    public var hookPause: DeploymentState?
    /// The state store's version of this record: 1 when inserted, one more with every save. A save names the version
    /// it read and fails when the stored one has moved on, so a stale writer can never overwrite a newer record.
    /// Nil in a record not yet stored (a store takes it as version 1, what insert writes) and in records stored before
    /// versions were kept (the store supplies the version on reading).
    public var version: Int?
    /// The format of the stored record, when it is newer than the first: a store refuses to read a record in a format
    /// it does not know (`RecordCoding.format`) rather than act on it without the fields it cannot see, or save it back
    /// without them. Nil: format 1, every record so far.
    public var recordFormat: Int?
    /// With a shared target group: the healthy total the current step's first look fixed (`SharedSplit.total`), so the
    /// instances the step itself adds to green do not raise it look after look. Cleared when the step is confirmed.
    public var shareTotal: Int?
    /// With a shared target group: the healthy total the last confirmed step held, the next step's base.
    public var shareBase: Int?
    /// With a shared target group: how many of the fleet a step (or a rollback) waits for the last look found healthy.
    /// Nothing is taken from that fleet's side on one look's word: the next look must find the count too, so a read
    /// that still shows an instance healthy after it failed does not let the other fleet give one up.
    public var shareHealthySeen: Int?
    /// Kept for records written before `removal`: after a Route 53 rollback, green stayed until this time.
    public var greenDrainedAt: Date?
    /// The fleet on its way out of service (green after a rollback, blue at retirement, a group retired from green's
    /// target group), with its settle and drain deadlines; nil when none is.
    public var removal: FleetRemoval?
    /// When promotion was confirmed (100 % green read back): blue's traffic left then.
    public var promotedAt: Date?
    /// When a rollback's last traffic change was confirmed (the listener or records read back at 100 % blue, then the
    /// test route's deletion): green's settle counts from here.
    public var trafficRestoredAt: Date?
    /// When the test route's rule counts as live (its creation plus the settle): only probes after it count.
    public var testRouteLiveAt: Date?
    /// Probes through the live test route that passed in a row: the first weight moves to green only once there are
    /// `checks.http.failure_threshold` of them.
    public var testRouteProbePasses: Int?
    /// Set while an effect that could not reach AWS waits to be tried again (a rollback never gives up on that).
    public var effectRetry: EffectRetry?
    /// Set while the release is paused because someone changed the traffic by hand: what changed.
    public var handChange: TrafficChange?
    /// The split (each target group's share) a person set by hand and `promote` or `resume --accept-current` let
    /// stand, until the next write: the traffic the next step's read is compared with. Nil: the record's blue/green.
    public var trafficBaseline: [String: Int]?
    /// Set by `state copy --move` in the store it was moved from: where it went (a state URL). No process goes on from
    /// this record: `resume`, `rollback` and `promote` refuse it, naming that store, so two runners never fork it.
    public var movedTo: String?
    /// When `state copy --move` moved it.
    public var movedAt: Date?

    public init(id: String, plan: ReleasePlan, fileDigest: String, actor: String, now: Date) {
        self.id = id
        self.plan = plan
        self.fileDigest = fileDigest
        self.state = .pending
        self.stepIndex = 0
        self.greenWeight = 0
        self.phaseStartedAt = now
        self.bakeStartedAt = nil
        self.nextCheckAt = nil
        self.retiredGroups = []
        // What an older switchyard would misread is the backend's to say (`TrafficBackend.recordFormat`).
        self.recordFormat = plan.shared == nil ? nil : plan.spec.traffic.backend.recordFormat(plan.spec.traffic)
        self.progress = []
        self.consecutiveFailures = [:]
        self.promoteRequested = false
        self.createdAt = now
        self.updatedAt = now
        self.actor = actor
    }

    /// Whether the release has passed the milestone.
    public func reached(_ milestone: Milestone) -> Bool { progress.contains(milestone) }

    public var service: String { plan.spec.service }
    /// The image green runs (`ReleasePlan.image`).
    public var image: String { plan.image }
    public var blueWeight: Int { 100 - greenWeight }

    /// The step being worked on, if the deployment is shifting.
    public var currentStep: DeploymentSpec.Step? {
        plan.spec.steps.indices.contains(stepIndex) ? plan.spec.steps[stepIndex] : nil
    }

    /// Whether the test route must still be created before green is checked.
    public var needsTestRoute: Bool {
        plan.spec.testRoute != nil && testRouteId == nil && !reached(.testRouteRemoved)
    }

    /// Whether a test route may still stand (created, or perhaps created before a crash) and must go before the end.
    public var testRouteMayStand: Bool {
        plan.spec.testRoute != nil && !reached(.testRouteRemoved)
    }

    /// Whether a rollback still has to turn stickiness back on.
    public var needsStickinessRestored: Bool {
        plan.isSticky && !reached(.stickinessRestored)
    }

    /// Whether `switchyard rollback` can still undo this completed release by moving traffic back to blue (never once
    /// blue's removal has begun).
    public func blueRetained(at now: Date) -> Bool {
        state == .completed && blueRetiredAt == nil && removal == nil && (retentionDeadline.map { now < $0 } ?? false)
    }

    /// Whether green may have had client traffic: its removal then waits the settle and the drain. Records written
    /// before `greenServed` was kept answer from how far the release got.
    public var mayHaveServedGreen: Bool {
        reached(.greenServed) || greenWeight > 0 || stepIndex > 0 || testRouteId != nil || retentionDeadline != nil
    }

    /// Whether the test route has carried `checks.http.failure_threshold` passing probes since it went live (always
    /// true without a test route): the first weight waits for it.
    public var testRouteProven: Bool {
        guard let http = plan.spec.checks.http, http.testRoute != nil else { return true }
        return (testRouteProbePasses ?? 0) >= http.failureThreshold
    }

    /// Whether blue's retention is over and blue still stands: the next command that touches the service retires it.
    public func blueRetentionExpired(at now: Date) -> Bool {
        state == .completed && blueRetiredAt == nil && (retentionDeadline.map { now >= $0 } ?? false)
    }

    /// 1-based position among the weight steps, and their count, for display.
    public var stepLabel: String {
        let steps = plan.spec.steps
        let n = steps.filter { $0.weight != nil }.count
        let k = steps.prefix(min(stepIndex + 1, steps.count)).filter { $0.weight != nil }.count
        return "\(k)/\(n)"
    }
}

/// A step of a release that is done: recorded once it happened, so the machine never asks for it again after a crash
/// (`Deployment.progress`). The raw value is the record's key for it.
public enum Milestone: String, Sendable, Hashable, CaseIterable, Codable {
    /// Green's group was created (its creation's answer, or a read that found it).
    case greenGroupCreated
    /// The traffic was read back at 100 % blue during a rollback (a resume that finds green weighted again takes it back).
    case trafficRestored
    /// Green's group is gone after a rollback.
    case greenRemoved
    /// Set once blue was pinned for the release (MinSize at its desired capacity, launch template version by number).
    case bluePinned
    /// Set once green may have had client traffic (its first weight was due, the test route stood, or a resume found
    /// it weighted): its removal then waits the settle and the drain. Not set: it never had any.
    case greenServed
    /// Set at promotion once green has blue's original sizes and scaling.
    case greenReleased
    /// Set when promotion was confirmed while `after_promotion` hooks were still to run.
    case promotionConfirmed
    /// Set once the test route was found gone or deleted at the end of the release.
    case testRouteRemoved
    /// Set once a rollback turned stickiness back on after green was removed.
    case stickinessRestored
    /// Set on rollback once blue has its own sizes, processes and launch template version back.
    case blueRestored
    /// Set by `gc` once green's launch template version is deleted (or found gone).
    case templateVersionDeleted = "launchTemplateVersionDeleted"

    /// Written in every record, `false` included, and required on reading: switchyards before `progress` wrote them so.
    static let alwaysWritten: [Milestone] = [.greenGroupCreated, .trafficRestored, .greenRemoved]
}

/// The stored record: every field under its own name, and each milestone as the boolean key it always was (written
/// when done; the first three always), so switchyards before and after `progress` read each other's records.
extension Deployment: Codable {
    enum CodingKeys: String, CodingKey {
        case id, plan, fileDigest, state, stepIndex, greenWeight, phaseStartedAt, bakeStartedAt, weightsConfirmedAt,
             nextCheckAt, greenTemplateVersion = "greenLaunchTemplateVersion", retiredGroups, leftOffGroups, consecutiveFailures,
             recheckAfterResume, lastChecks, lastChecksAt, checksPendingAtWeight, greenCapacity, lastObservation,
             lastObservationAt, testRouteId = "testRouteRuleArn", promoteRequested, retentionDeadline, blueRetiredAt, rollbackReason,
             failureReason, createdAt, updatedAt, actor, greenCopies, blueCapacityAtRollback, finishedHooks,
             runningHook, hookPause, version, recordFormat, shareTotal, shareBase, shareHealthySeen, greenDrainedAt,
             removal, promotedAt, trafficRestoredAt, testRouteLiveAt, testRouteProbePasses, effectRetry, handChange,
             trafficBaseline, movedTo, movedAt
    }

    private struct MilestoneKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ milestone: Milestone) { stringValue = milestone.rawValue }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        plan = try c.decode(ReleasePlan.self, forKey: .plan)
        fileDigest = try c.decode(String.self, forKey: .fileDigest)
        state = try c.decode(DeploymentState.self, forKey: .state)
        stepIndex = try c.decode(Int.self, forKey: .stepIndex)
        greenWeight = try c.decode(Int.self, forKey: .greenWeight)
        phaseStartedAt = try c.decode(Date.self, forKey: .phaseStartedAt)
        bakeStartedAt = try c.decodeIfPresent(Date.self, forKey: .bakeStartedAt)
        weightsConfirmedAt = try c.decodeIfPresent(Date.self, forKey: .weightsConfirmedAt)
        nextCheckAt = try c.decodeIfPresent(Date.self, forKey: .nextCheckAt)
        greenTemplateVersion = try c.decodeIfPresent(Int.self, forKey: .greenTemplateVersion)
        retiredGroups = try c.decode([String].self, forKey: .retiredGroups)
        leftOffGroups = try c.decodeIfPresent([String].self, forKey: .leftOffGroups)
        consecutiveFailures = try c.decode([String: Int].self, forKey: .consecutiveFailures)
        recheckAfterResume = try c.decodeIfPresent(Bool.self, forKey: .recheckAfterResume)
        lastChecks = try c.decodeIfPresent([CheckResult].self, forKey: .lastChecks)
        lastChecksAt = try c.decodeIfPresent(Date.self, forKey: .lastChecksAt)
        checksPendingAtWeight = try c.decodeIfPresent(Bool.self, forKey: .checksPendingAtWeight)
        greenCapacity = try c.decodeIfPresent(CapacityReport.self, forKey: .greenCapacity)
        lastObservation = try c.decodeIfPresent(String.self, forKey: .lastObservation)
        lastObservationAt = try c.decodeIfPresent(Date.self, forKey: .lastObservationAt)
        testRouteId = try c.decodeIfPresent(String.self, forKey: .testRouteId)
        promoteRequested = try c.decode(Bool.self, forKey: .promoteRequested)
        retentionDeadline = try c.decodeIfPresent(Date.self, forKey: .retentionDeadline)
        blueRetiredAt = try c.decodeIfPresent(Date.self, forKey: .blueRetiredAt)
        rollbackReason = try c.decodeIfPresent(String.self, forKey: .rollbackReason)
        failureReason = try c.decodeIfPresent(String.self, forKey: .failureReason)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        updatedAt = try c.decode(Date.self, forKey: .updatedAt)
        actor = try c.decode(String.self, forKey: .actor)
        greenCopies = try c.decodeIfPresent([FleetCopy].self, forKey: .greenCopies)
        blueCapacityAtRollback = try c.decodeIfPresent(CapacityReport.self, forKey: .blueCapacityAtRollback)
        finishedHooks = try c.decodeIfPresent([String].self, forKey: .finishedHooks)
        runningHook = try c.decodeIfPresent(String.self, forKey: .runningHook)
        hookPause = try c.decodeIfPresent(DeploymentState.self, forKey: .hookPause)
        version = try c.decodeIfPresent(Int.self, forKey: .version)
        recordFormat = try c.decodeIfPresent(Int.self, forKey: .recordFormat)
        shareTotal = try c.decodeIfPresent(Int.self, forKey: .shareTotal)
        shareBase = try c.decodeIfPresent(Int.self, forKey: .shareBase)
        shareHealthySeen = try c.decodeIfPresent(Int.self, forKey: .shareHealthySeen)
        greenDrainedAt = try c.decodeIfPresent(Date.self, forKey: .greenDrainedAt)
        removal = try c.decodeIfPresent(FleetRemoval.self, forKey: .removal)
        promotedAt = try c.decodeIfPresent(Date.self, forKey: .promotedAt)
        trafficRestoredAt = try c.decodeIfPresent(Date.self, forKey: .trafficRestoredAt)
        testRouteLiveAt = try c.decodeIfPresent(Date.self, forKey: .testRouteLiveAt)
        testRouteProbePasses = try c.decodeIfPresent(Int.self, forKey: .testRouteProbePasses)
        effectRetry = try c.decodeIfPresent(EffectRetry.self, forKey: .effectRetry)
        handChange = try c.decodeIfPresent(TrafficChange.self, forKey: .handChange)
        trafficBaseline = try c.decodeIfPresent([String: Int].self, forKey: .trafficBaseline)
        movedTo = try c.decodeIfPresent(String.self, forKey: .movedTo)
        movedAt = try c.decodeIfPresent(Date.self, forKey: .movedAt)
        let m = try decoder.container(keyedBy: MilestoneKey.self)
        var progress = Set<Milestone>()
        for milestone in Milestone.allCases {
            let done = Milestone.alwaysWritten.contains(milestone)
                ? try m.decode(Bool.self, forKey: MilestoneKey(milestone))
                : try m.decodeIfPresent(Bool.self, forKey: MilestoneKey(milestone)) == true
            if done { progress.insert(milestone) }
        }
        self.progress = progress
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(plan, forKey: .plan)
        try c.encode(fileDigest, forKey: .fileDigest)
        try c.encode(state, forKey: .state)
        try c.encode(stepIndex, forKey: .stepIndex)
        try c.encode(greenWeight, forKey: .greenWeight)
        try c.encode(phaseStartedAt, forKey: .phaseStartedAt)
        try c.encodeIfPresent(bakeStartedAt, forKey: .bakeStartedAt)
        try c.encodeIfPresent(weightsConfirmedAt, forKey: .weightsConfirmedAt)
        try c.encodeIfPresent(nextCheckAt, forKey: .nextCheckAt)
        try c.encodeIfPresent(greenTemplateVersion, forKey: .greenTemplateVersion)
        try c.encode(retiredGroups, forKey: .retiredGroups)
        try c.encodeIfPresent(leftOffGroups, forKey: .leftOffGroups)
        try c.encode(consecutiveFailures, forKey: .consecutiveFailures)
        try c.encodeIfPresent(recheckAfterResume, forKey: .recheckAfterResume)
        try c.encodeIfPresent(lastChecks, forKey: .lastChecks)
        try c.encodeIfPresent(lastChecksAt, forKey: .lastChecksAt)
        try c.encodeIfPresent(checksPendingAtWeight, forKey: .checksPendingAtWeight)
        try c.encodeIfPresent(greenCapacity, forKey: .greenCapacity)
        try c.encodeIfPresent(lastObservation, forKey: .lastObservation)
        try c.encodeIfPresent(lastObservationAt, forKey: .lastObservationAt)
        try c.encodeIfPresent(testRouteId, forKey: .testRouteId)
        try c.encode(promoteRequested, forKey: .promoteRequested)
        try c.encodeIfPresent(retentionDeadline, forKey: .retentionDeadline)
        try c.encodeIfPresent(blueRetiredAt, forKey: .blueRetiredAt)
        try c.encodeIfPresent(rollbackReason, forKey: .rollbackReason)
        try c.encodeIfPresent(failureReason, forKey: .failureReason)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(actor, forKey: .actor)
        try c.encodeIfPresent(greenCopies, forKey: .greenCopies)
        try c.encodeIfPresent(blueCapacityAtRollback, forKey: .blueCapacityAtRollback)
        try c.encodeIfPresent(finishedHooks, forKey: .finishedHooks)
        try c.encodeIfPresent(runningHook, forKey: .runningHook)
        try c.encodeIfPresent(hookPause, forKey: .hookPause)
        try c.encodeIfPresent(version, forKey: .version)
        try c.encodeIfPresent(recordFormat, forKey: .recordFormat)
        try c.encodeIfPresent(shareTotal, forKey: .shareTotal)
        try c.encodeIfPresent(shareBase, forKey: .shareBase)
        try c.encodeIfPresent(shareHealthySeen, forKey: .shareHealthySeen)
        try c.encodeIfPresent(greenDrainedAt, forKey: .greenDrainedAt)
        try c.encodeIfPresent(removal, forKey: .removal)
        try c.encodeIfPresent(promotedAt, forKey: .promotedAt)
        try c.encodeIfPresent(trafficRestoredAt, forKey: .trafficRestoredAt)
        try c.encodeIfPresent(testRouteLiveAt, forKey: .testRouteLiveAt)
        try c.encodeIfPresent(testRouteProbePasses, forKey: .testRouteProbePasses)
        try c.encodeIfPresent(effectRetry, forKey: .effectRetry)
        try c.encodeIfPresent(handChange, forKey: .handChange)
        try c.encodeIfPresent(trafficBaseline, forKey: .trafficBaseline)
        try c.encodeIfPresent(movedTo, forKey: .movedTo)
        try c.encodeIfPresent(movedAt, forKey: .movedAt)
        var m = encoder.container(keyedBy: MilestoneKey.self)
        for milestone in Milestone.allCases where progress.contains(milestone) || Milestone.alwaysWritten.contains(milestone) {
            try m.encode(progress.contains(milestone), forKey: MilestoneKey(milestone))
        }
    }
}

extension LogEntry {
    /// The entry with the record's step and weights as they stand once it is saved (`at_step` "2/3", `at_weights`
    /// "50/50", blue first), so a terminal following the release from its events shows each event's own, not those
    /// of the newest record.
    public func stamped(with d: Deployment) -> LogEntry {
        var entry = self
        entry.details["at_step"] = d.stepLabel
        entry.details["at_weights"] = "\(d.blueWeight)/\(d.greenWeight)"
        return entry
    }
}
