import Foundation

/// The blue side as discovered before a release: the live target group and the group behind it.
public struct BlueFleet: Sendable, Hashable, Codable {
    public var autoScalingGroup: String
    public var targetGroupArn: String
    public var launchTemplateId: String
    public var launchTemplateName: String
    /// The concrete version blue runs (never `$Latest`/`$Default`).
    public var launchTemplateVersion: Int
    public var imageId: String
    public var architecture: String
    public var minSize: Int
    public var maxSize: Int
    public var desiredCapacity: Int

    public init(autoScalingGroup: String, targetGroupArn: String, launchTemplateId: String, launchTemplateName: String, launchTemplateVersion: Int, imageId: String, architecture: String, minSize: Int, maxSize: Int, desiredCapacity: Int) {
        self.autoScalingGroup = autoScalingGroup
        self.targetGroupArn = targetGroupArn
        self.launchTemplateId = launchTemplateId
        self.launchTemplateName = launchTemplateName
        self.launchTemplateVersion = launchTemplateVersion
        self.imageId = imageId
        self.architecture = architecture
        self.minSize = minSize
        self.maxSize = maxSize
        self.desiredCapacity = desiredCapacity
    }
}

/// Everything a deployment was resolved to before it started; never changes afterwards.
public struct ReleasePlan: Sendable, Hashable, Codable {
    public var spec: DeploymentSpec
    public var ami: String
    public var blue: BlueFleet
    public var greenTargetGroupArn: String
    public var greenAutoScalingGroup: String
    /// Groups on green's target group that carry no traffic and go before green is attached there.
    public var retire: [String]
    /// The forwards (by listener or rule ARN) that had target-group stickiness on when the release was planned, with
    /// its duration in seconds: a rollback turns it off while it sends everything to blue, and back on once green is
    /// gone. Nil in records written before it was kept (and when no forward is sticky).
    public var stickyForwards: [String: Int]?
    /// What green copies from blue and what the release pins; nil in records made before fleets were copied (those
    /// releases go on as they began).
    public var fleet: FleetPlan?

    public init(spec: DeploymentSpec, ami: String, blue: BlueFleet, greenTargetGroupArn: String, greenAutoScalingGroup: String, retire: [String] = [],
                stickyForwards: [String: Int]? = nil, fleet: FleetPlan? = nil) {
        self.fleet = fleet
        self.spec = spec
        self.ami = ami
        self.blue = blue
        self.greenTargetGroupArn = greenTargetGroupArn
        self.greenAutoScalingGroup = greenAutoScalingGroup
        self.retire = retire
        self.stickyForwards = stickyForwards
    }

    /// Whether any shifted forward has target-group stickiness on.
    public var isSticky: Bool { !(stickyForwards ?? [:]).isEmpty }

    /// The green weights of the steps, in order.
    public var weights: [Int] { spec.weightSteps.map(\.weight) }
}

/// A deployment as stored: the plan plus where it has got to. The record alone says how to go on.
public struct Deployment: Sendable, Hashable, Codable {
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
    /// When the listener was last confirmed at the current step's weight; the bake runs from here.
    public var bakeStartedAt: Date?
    /// When the next check or observation is due.
    public var nextCheckAt: Date?
    public var greenLaunchTemplateVersion: Int?
    public var retiredGroups: [String]
    public var greenGroupCreated: Bool
    /// Set once the listener was read back at 100 % blue during a rollback.
    public var trafficRestored: Bool
    public var greenRemoved: Bool
    /// Consecutive failures per check name, reset by a success.
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
    /// The test route's listener rule, once created (`checks.http.test_route`).
    public var testRouteRuleArn: String?
    /// Set once the test route was found gone or deleted at the end of the release.
    public var testRouteRemoved: Bool?
    /// Set once a rollback turned stickiness back on after green was removed.
    public var stickinessRestored: Bool?
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
    /// Set once blue was pinned for the release (MinSize at its desired capacity, launch template version by number).
    public var bluePinned: Bool?
    /// The copies from blue already made on green.
    public var greenCopies: [FleetCopy]?
    /// Set at promotion once green has blue's original sizes and scaling.
    public var greenReleased: Bool?
    /// Blue's capacity read during a rollback, before traffic returned to it.
    public var blueCapacityAtRollback: CapacityReport?
    /// Set on rollback once blue has its own sizes, processes and launch template version back.
    public var blueRestored: Bool?
    /// Set by `gc` once green's launch template version is deleted (or found gone).
    public var launchTemplateVersionDeleted: Bool?
    /// The state store's version of this record: 1 when inserted, one more with every save. A save names the version
    /// it read and fails when the stored one has moved on, so a stale writer can never overwrite a newer record.
    /// Nil in a record not yet stored (a store takes it as version 1, what insert writes) and in records stored before
    /// versions were kept (the store supplies the version on reading).
    public var version: Int?

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
        self.greenGroupCreated = false
        self.trafficRestored = false
        self.greenRemoved = false
        self.consecutiveFailures = [:]
        self.promoteRequested = false
        self.createdAt = now
        self.updatedAt = now
        self.actor = actor
    }

    public var service: String { plan.spec.service }
    public var ami: String { plan.ami }
    public var blueWeight: Int { 100 - greenWeight }

    /// The step being worked on, if the deployment is shifting.
    public var currentStep: DeploymentSpec.Step? {
        plan.spec.steps.indices.contains(stepIndex) ? plan.spec.steps[stepIndex] : nil
    }

    /// Whether the test route must still be created before green is checked.
    public var needsTestRoute: Bool {
        plan.spec.testRoute != nil && testRouteRuleArn == nil && testRouteRemoved != true
    }

    /// Whether a test route may still stand (created, or perhaps created before a crash) and must go before the end.
    public var testRouteMayStand: Bool {
        plan.spec.testRoute != nil && testRouteRemoved != true
    }

    /// Whether a rollback still has to turn stickiness back on.
    public var needsStickinessRestored: Bool {
        plan.isSticky && stickinessRestored != true
    }

    /// Whether `switchyard rollback` can still undo this completed release by moving traffic back to blue.
    public func blueRetained(at now: Date) -> Bool {
        state == .completed && blueRetiredAt == nil && (retentionDeadline.map { now < $0 } ?? false)
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
