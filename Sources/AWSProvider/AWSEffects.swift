import AWS
import Foundation
import Orchestrator
import Logging
import Probes
import StateStore
import SwitchyardCore

/// Runs effects against AWS. Every effect looks before it acts, so running one twice changes nothing more.
public struct AWSEffects: EffectPerformer {
    public let aws: AWSClients
    public let logger: Logger
    public let clock: DeploymentClock
    /// The planner's answers when this process created the deployment (nil when it took over a stored one).
    public let facts: PlanFacts?
    /// How long after a write of its own a read may still show the state from before it (`ReadConsistency`).
    public let readWindow: TimeInterval
    let memo = EffectMemo()

    /// `SWITCHYARD_READ_SETTLE` (`SettleWindows.read`).
    public static let defaultReadWindow: TimeInterval = SettleWindows.read

    /// - Parameter facts: what the planner read, when this process created the deployment moments ago: the first
    ///   attempt of each create then skips its look-before-create (nothing in AWS can carry a deployment id made in this
    ///   process and not yet used) and reuses blue's description. Any later attempt, and every resumed run, looks first.
    public init(aws: AWSClients, logger: Logger, clock: DeploymentClock = SystemClock(), facts: PlanFacts? = nil,
                readWindow: TimeInterval = AWSEffects.defaultReadWindow) {
        self.readWindow = readWindow
        self.aws = aws
        self.logger = logger
        self.clock = clock
        self.facts = facts
    }

    /// AWS's transient failures (`Unreachable`): no answer in time, throttling, a busy group, a deletion not done yet.
    public func isUnreachable(_ error: Error) -> Bool { Unreachable.isUnreachable(error) }

    public func perform(_ effect: Effect, for d: Deployment) async throws -> Event {
        switch effect {
        case .begin:
            return .begun
        case .runHook(let ref):
            return .hookWithoutRunner(ref)
        case .retireFleet(let name):
            try requireDrained(name, d)
            try await fenceListener(d)
            try await retire(group: name, d)
            return .fleetRetired(name)
        case .ensureGreenTemplate:
            return .greenTemplateReady(try await ensureLaunchTemplateVersion(d))
        case .ensureGreenFleet(let version):
            if d.plan.isPair {
                try await preparePairGreen(d, launchTemplateVersion: version)
            } else {
                try await ensureGreenGroup(d, launchTemplateVersion: version)
            }
            return .greenFleetReady
        case .observeCapacity:
            return .capacityObserved(try await observeCapacity(d))
        case .observeGreenHealth:
            // Before traffic the alarms and the probe already run, beside the health read that gates the first step.
            // Metrics do not: green has served nothing yet, and its target group's window may hold the errors of the
            // fleet that stood in it before.
            async let others = CheckScheduler.run(checks(d, beforeTraffic: true), clock: clock)
            let report = try await observeTargetHealth(d)
            return .greenHealthObserved(report, checks: await others)
        case .setSplit(let green) where d.plan.shared != nil:
            return try await sharedStep(d, green: green)
        case .setSplit(let green):
            // A step right after our own write (a zero bake) starts from what that write answered, not from a new read.
            let known = memo.recentWeights(now: clock.now(), within: d.plan.spec.checks.interval.seconds)
            // Within one interval of our own last write, that write's fence still stands.
            if known == nil { try await fenceListener(d) }
            // Read first (unless this process wrote the last step moments ago): a person may have changed it by hand.
            var current = known
            if current == nil {
                let read = try await readComparing(d, target: green)
                if case .changedByHand(let change) = read { return .trafficChangedByHand(change) }
                if case .asExpected(let weights) = read { current = weights }
            }
            // A forward that reads as there already is left alone only if the record says this deployment put it there.
            let written = try await traffic(d).setWeights(bluePool: d.plan.blue.pool, greenPool: d.plan.greenPool,
                                                          green: green, stickiness: .keep, known: current,
                                                          write: .unlessThereAlready(recordedGreen: d.greenWeight))
            memo.wrote(written, at: clock.now())
            return .splitConfirmed(green: green)
        case .runChecks:
            return .checksObserved(await CheckScheduler.run(checks(d), clock: clock))
        case .confirmPromotion:
            if d.plan.shared != nil { try await sharedConfirmAllGreen(d) } else { try await confirmAllGreen(d) }
            // Blue, kept for rollback, says so in AWS: no release from any state file retires it before the deadline.
            // Best effort: green already serves everything, and a tag that cannot be written must not roll that back.
            let until = clock.now().adding(d.plan.spec.promotion.blueRetention)
            do {
                try await aws.autoScaling.tagGroup(d.plan.blue.group, tags: [RetentionTag.key: RetentionTag.text(until)])
            } catch {
                logger.warning("could not tag the kept blue with its retention deadline; other state files will not see it",
                               metadata: ["deployment.id": "\(d.id)", "asg": "\(d.plan.blue.group)", "error": "\(error)"])
            }
            return .promotionConfirmed
        case .restoreBlue:
            // Urgent: the move back to blue does not wait behind the client-side rate limiter (AWSPriority).
            return try await AWSPriority.$urgent.withValue(true) { try await restoreBlue(d) }
        case .restoreStickiness:
            _ = try await traffic(d).setWeights(bluePool: d.plan.blue.pool, greenPool: d.plan.greenPool, green: 0,
                                                stickiness: .restore(d.plan.stickyForwards ?? [:]), known: nil,
                                                write: .unlessThereAlready(recordedGreen: 0))
            return .stickinessRestored
        case .ensureTestRoute:
            guard let route = traffic(d).testRoute(d.plan.spec) else { throw TrafficCapabilityError.noTestRoute(d.plan.spec.traffic.kind) }
            let arn = try await route.ensure(greenPool: d.plan.greenPool, deploymentId: d.id)
            return .testRouteReady(id: arn)
        case .removeTestRoute:
            try await traffic(d).testRoute(d.plan.spec)?.remove()
            return .testRouteRemoved
        case .removeGreen:
            try requireDrained(d.plan.greenGroup, d)
            try await fenceListener(d)
            // Never while green's target group carries any traffic, by the record or by a read it can trust; in a
            // shared target group, never while any of green's instances is still registered there.
            if d.plan.shared != nil, let green = try await currentGroup(d.plan.greenGroup) {
                try await refuseWhileRegistered(green, d)
            } else if d.plan.shared == nil {
                try await refuseWhileCarrying(d.plan.greenGroup, targetGroups: [d.plan.greenPool], d)
            }
            if d.plan.isPair {
                try await restorePairGreen(d)
            } else {
                try await deleteGroup(d.plan.greenGroup, mayBeUnseen: d.reached(.greenGroupCreated))
            }
            return .greenRemoved
        case .retireBlue:
            try requireDrained(d.plan.blue.group, d)
            try await retire(group: d.plan.blue.group, d)
            return .blueRetired(by: nil)
        case .deregisterFleet(let name):
            return try await deregisterFleet(name, d)
        case .observeDrain(let name):
            return try await observeDrain(name, d)
        case .removeGreenTemplate(let version):
            try await removeLaunchTemplateVersion(version, of: d)
            return .greenTemplateDeleted(version)
        case .pinBlue:
            return try await pinBlue(d)
        case .copyToGreen(let kind):
            return try await copyToGreen(kind, d)
        case .releaseGreen:
            return try await releaseGreen(d)
        case .observeBlue:
            // On the rollback's way to blue as well (AWSPriority): the read of what blue can carry.
            return try await AWSPriority.$urgent.withValue(true) { try await observeBlue(d) }
        case .restoreBlueFleet:
            return try await restoreBlueFleet(d)
        }
    }

    func traffic(_ d: Deployment) -> any TrafficRouter { aws.traffic(for: d.plan.spec, clock: clock) }

    /// Every forward to blue in one write each, stickiness off where green loses its share (restored later). Always
    /// written once a weight may have been, whatever the read before says (it may be stale: a read right after the
    /// step's write can show 100/0 while 10 % still goes to green); the weights are confirmed from each write's own
    /// answer inside setWeights (it throws on a mismatch).
    private func restoreBlue(_ d: Deployment) async throws -> Event {
        if d.plan.shared != nil { return try await sharedRestore(d) }
        try await fenceListener(d)
        memo.forgetWeights()
        _ = try await traffic(d).setWeights(bluePool: d.plan.blue.pool, greenPool: d.plan.greenPool, green: 0,
                                            stickiness: .offWhereGreenLeaves, known: nil, write: ReadConsistency.rollbackWrite(d))
        return .splitConfirmed(green: 0)
    }

    /// Before moving traffic or deleting a group: the listener must still carry this deployment's tag. The lease fences
    /// writers that share a state file; this fences a writer with another state file (or one `--force-unlock`ed).
    func fenceListener(_ d: Deployment) async throws {
        let guard_ = ListenerGuard(aws: aws, spec: d.plan.spec)
        // Every forward the release shifts must still carry its tag; a read that says otherwise is read again.
        let holders = try await guard_.holders(confirming: d.id)
        guard holders.allSatisfy({ $0 == [d.id] }) else {
            let green = d.reached(.greenGroupCreated) ? "; green \(d.plan.greenGroup), which it created, stands" : ""
            throw FencedOut(deploymentId: d.id, resource: guard_.resourceArn, owner: holders.joined().first { $0 != d.id }, mark: ListenerGuard.key(for: d.id),
                            standing: "its record stays in state \(d.state.rawValue) at blue \(d.blueWeight)% / green \(d.greenWeight)%\(green)",
                            cloud: AWSTrafficBackends.words.name)
        }
    }

    /// What AWS shows for the deployment now, for `resume` to reconcile the record with.
    public func observe(_ d: Deployment) async throws -> Observation {
        if d.plan.shared != nil { return try await sharedObservation(d) }
        let weights = try await traffic(d).currentWeights()
        let groups = try await aws.autoScaling.describeAutoScalingGroups(names: [d.plan.blue.group, d.plan.greenGroup])
        let blue = groups.first { $0.name == d.plan.blue.group }
        let green = groups.first { $0.name == d.plan.greenGroup }
        func inService(_ g: AutoScalingGroup?) -> Int { g.map { CapacityReport($0).inService } ?? 0 }
        return Observation(weights: weights.percent, blueExists: blue != nil, blueInService: inService(blue),
                           greenExists: green != nil, greenInService: inService(green), greenDesired: green?.desiredCapacity ?? 0,
                           disagreement: weights.agreed ? nil : weights.summary)
    }

    /// Scales a drained group to 0 and deletes it (pair mode: scales it to 0 and gives it back its target groups), but
    /// never one whose target groups carry traffic, looked at again right before.
    private func retire(group name: String, _ d: Deployment) async throws {
        guard let existing = try await currentGroup(name) else { return }
        if d.plan.shared != nil {
            try await refuseWhileRegistered(existing, d)
        } else {
            try await refuseWhileCarrying(existing, d, only: nil)
        }
        // Pair mode never deletes a group: the pair belongs to whoever declared it.
        if d.plan.isPair {
            try await scalePairGroupToZero(existing, d, reattach: d.removal?.group == name ? (d.removal?.pools ?? []) : [])
        } else {
            try await deleteGroup(name)
        }
    }

    /// How long a group just created may stay invisible to DescribeAutoScalingGroups (eventual consistency), and how
    /// long a deletion may take to finish, before either is given up on.
    static let visibilityGrace: TimeInterval = 30
    static let deletionLimit: TimeInterval = 600

    /// Scales the group to 0, deletes it, and returns once DescribeAutoScalingGroups no longer lists it.
    /// - Parameter mayBeUnseen: the group was created by this deployment, so "not found" may only mean "not visible yet".
    private func deleteGroup(_ name: String, mayBeUnseen: Bool = false) async throws {
        var existing = try await currentGroup(name)
        if existing == nil, mayBeUnseen {
            let until = clock.now().addingTimeInterval(Self.visibilityGrace)
            while existing == nil, clock.now() < until {
                try await clock.sleep(until: clock.now().addingTimeInterval(1))
                existing = try await currentGroup(name)
            }
        }
        guard existing != nil else { return }
        try await deleteCopiedAlarms(of: name)
        try await aws.autoScaling.updateAutoScalingGroup(name: name, minSize: 0, maxSize: 0, desiredCapacity: 0)
        try await aws.autoScaling.deleteAutoScalingGroup(name: name, forceDelete: true)
        let until = clock.now().addingTimeInterval(Self.deletionLimit)
        while try await currentGroup(name) != nil {
            guard clock.now() < until else { throw DeletionError.stillThere(group: name, after: Self.deletionLimit) }
            try await clock.sleep(until: clock.now().addingTimeInterval(2))
        }
    }

    /// The version's description carries the deployment id, so a second run finds the first run's version.
    static func launchTemplateDescription(_ d: Deployment) -> String {
        "switchyard \(d.service) deployment \(d.id)"
    }

    private func ensureLaunchTemplateVersion(_ d: Deployment) async throws -> Int {
        let blue = d.plan.blue
        let description = Self.launchTemplateDescription(d)
        if !isFirstAttemptOfFreshDeployment(.ensureGreenTemplate) {
            let existing = try await aws.ec2.describeLaunchTemplateVersions(templateId: blue.templateId, versions: [], imageId: d.image)
            if let found = existing.first(where: { $0.versionDescription == description }) {
                logger.info("adopting existing launch template version", metadata: ["deployment.id": "\(d.id)", "launch_template.version": "\(found.versionNumber)"])
                return found.versionNumber
            }
        }
        let known = facts?.sourceVersion
        let source: LaunchTemplateVersion
        if let known, known.templateId == blue.templateId, known.versionNumber == blue.templateVersion {
            source = known
        } else if let read = try await aws.ec2.describeLaunchTemplateVersions(templateId: blue.templateId, versions: [String(blue.templateVersion)]).first {
            source = read
        } else {
            throw PlanError.launchTemplateVersionNotFound(template: blue.templateName, version: String(blue.templateVersion))
        }
        let created = try await aws.ec2.createLaunchTemplateVersion(
            templateId: blue.templateId, sourceVersion: blue.templateVersion, copying: source.data,
            imageId: d.image, description: description, clientToken: "switchyard-\(d.id)")
        return created.versionNumber
    }

    private func ensureGreenGroup(_ d: Deployment, launchTemplateVersion: Int) async throws {
        let name = d.plan.greenGroup
        if !isFirstAttemptOfFreshDeployment(.ensureGreenFleet(template: launchTemplateVersion)), try await currentGroup(name) != nil {
            logger.info("adopting existing green group", metadata: ["deployment.id": "\(d.id)", "asg": "\(name)"])
            return
        }
        let blue = try await blueDescription(d)
        let request = GroupCopier.create(blue: blue, green: greenGroup(d, launchTemplateVersion: launchTemplateVersion))
        do {
            try await aws.autoScaling.createAutoScalingGroup(request)
        } catch let error as AWSError where error.code.rawValue == "AlreadyExists" {
            // A retried create whose first attempt did reach AWS: ours if it carries this deployment's tag.
            guard let existing = try await currentGroup(name), existing.tags.contains(where: { $0.key == "switchyard:deployment" && $0.value == d.id }) else {
                throw error
            }
            logger.info("green group already created by an earlier attempt", metadata: ["deployment.id": "\(d.id)", "asg": "\(name)"])
        }
    }

    /// Whether this is the first attempt, in this process, of an effect of a deployment this process just created.
    func isFirstAttemptOfFreshDeployment(_ effect: Effect) -> Bool {
        facts != nil && memo.firstAttempt(effect.kind)
    }

    private func observeCapacity(_ d: Deployment) async throws -> CapacityReport {
        guard let green = try await currentGroup(d.plan.greenGroup) else {
            // Just created and not listed yet: wait (the capacity timeout still bounds it); later, it is gone.
            if clock.now() < d.phaseStartedAt.addingTimeInterval(Self.visibilityGrace) {
                return CapacityReport(desired: d.plan.blue.desiredCapacity, inService: 0, instances: 0)
            }
            throw GreenError.groupMissing(d.plan.greenGroup)
        }
        memo.sawGreen(green)
        var report = CapacityReport(green)
        if report.inService < green.desiredCapacity { report.launchFailures = await launchFailures(d) }
        return report
    }

    /// Health of the instances green's group lists now; stale targets in the target group are ignored. With `reuse`
    /// (a check tick), green's group is not read again when the target health read first is what the last group read
    /// explained: the same targets, each of the group's instances InService and healthy, the group read less than
    /// `TickCost.groupRefresh` ago. Any other answer (a target came or went, one is not healthy, an instance was coming
    /// or going) reads the group, so a verdict that could differ is never made from the older read. Green's target
    /// health is what the load balancer routes by: an instance the group is about to take away is deregistered first
    /// and reads as draining at once.
    func observeTargetHealth(_ d: Deployment, reuse: Bool = false) async throws -> TargetHealthReport {
        let name = d.plan.greenGroup
        if reuse, let known = memo.greenPicture(named: name, now: clock.now(), within: TickCost.groupRefresh) {
            let health = try await InstancePool(d.plan.greenPool).health(aws)
            let report = Self.report(green: known.group, health: health)
            if Set(health.map(\.targetId)) == known.targets, report.unhealthy.isEmpty, report.changing.isEmpty, !report.healthy.isEmpty {
                return report
            }
            guard let green = try await currentGroup(name) else { throw GreenError.groupMissing(name) }
            memo.pictured(green, targets: Set(health.map(\.targetId)), at: clock.now())
            return Self.report(green: green, health: health)
        }
        // The capacity observation just before this one read the same group: its answer serves once.
        var green = memo.takeGreen(named: name)
        if green == nil { green = try await currentGroup(name) }
        guard let green else { throw GreenError.groupMissing(name) }
        let health = try await InstancePool(d.plan.greenPool).health(aws)
        memo.pictured(green, targets: Set(health.map(\.targetId)), at: clock.now())
        return Self.report(green: green, health: health)
    }

    /// Each of green's instances with its target's health (`missing` when not registered).
    static func report(green: AutoScalingGroup, health: [TargetHealthDescription]) -> TargetHealthReport {
        var byId: [String: TargetHealthDescription] = [:]
        for entry in health { byId[entry.targetId] = entry }
        let targets = green.instances.map { instance -> TargetHealthReport.Target in
            guard let entry = byId[instance.instanceId] else {
                return .init(instanceId: instance.instanceId, state: "missing", reason: "not registered in the target group",
                             lifecycleState: instance.lifecycleState)
            }
            return .init(instanceId: instance.instanceId, state: entry.state, reason: entry.reason, lifecycleState: instance.lifecycleState)
        }
        return TargetHealthReport(targets: targets)
    }
}

/// Green is not as the record says.
public enum GreenError: Error, Sendable, CustomStringConvertible {
    case groupMissing(String)

    public var description: String {
        switch self {
        case .groupMissing(let name): return "the green Auto Scaling group \(name) no longer exists"
        }
    }
}

/// A deleted group did not go away.
public enum DeletionError: Error, Sendable, CustomStringConvertible {
    case stillThere(group: String, after: TimeInterval)

    public var description: String {
        switch self {
        case .stillThere(let group, let seconds):
            return "\(group) was deleted but is still listed after \(Int(seconds)) s; it may still be draining"
        }
    }
}

/// A group could not be retired safely.
public enum RetireError: Error, Sendable, CustomStringConvertible {
    case carriesTraffic(group: String, targetGroups: [String])

    public var description: String {
        switch self {
        case .carriesTraffic(let group, let tgs):
            return "\(group) stands on \(tgs.joined(separator: ", ")), which carries traffic; it was left alone"
        }
    }
}

/// What this performer learnt from its own recent calls, so the next effect need not ask AWS the same question again.
final class EffectMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var attempted: Set<String> = []
    private var green: AutoScalingGroup?
    private var picture: (group: AutoScalingGroup, targets: Set<String>, at: Date)?
    private var weights: (TrafficWeights, Date)?

    /// True the first time it is asked for an effect kind.
    func firstAttempt(_ kind: String) -> Bool { lock.withLock { attempted.insert(kind).inserted } }

    func sawGreen(_ group: AutoScalingGroup) { lock.withLock { green = group } }

    /// The group last seen by the capacity observation, once.
    func takeGreen(named name: String) -> AutoScalingGroup? {
        lock.withLock {
            defer { green = nil }
            return green?.name == name ? green : nil
        }
    }

    /// Green's group as last read beside its target health, and the targets that read showed.
    func pictured(_ group: AutoScalingGroup, targets: Set<String>, at date: Date) { lock.withLock { picture = (group, targets, date) } }

    /// The last `pictured` group of that name, if read less than `within` seconds ago.
    func greenPicture(named name: String, now: Date, within: TimeInterval) -> (group: AutoScalingGroup, targets: Set<String>)? {
        lock.withLock {
            guard let picture, picture.group.name == name, now.timeIntervalSince(picture.at) < within, now >= picture.at else { return nil }
            return (picture.group, picture.targets)
        }
    }

    func wrote(_ written: TrafficWeights, at date: Date) { lock.withLock { weights = (written, date) } }
    func forgetWeights() { lock.withLock { weights = nil } }

    /// The weights our own last write answered, if that was less than `within` seconds ago.
    func recentWeights(now: Date, within: TimeInterval) -> TrafficWeights? {
        lock.withLock {
            guard let (value, at) = weights, now.timeIntervalSince(at) < within else { return nil }
            return value
        }
    }
}

/// `switchyard:retain-until`: the deadline of a blue kept for rollback, on the group itself, so every state file sees it.
public enum RetentionTag {
    public static let key = "switchyard:retain-until"

    /// ISO-8601 UTC with milliseconds, as the state stores the deadline: the tag and the record say the same instant
    /// (a tag rounded up to the second held a `blue_retention: 0s` blue for up to a second past its deadline).
    public static func text(_ date: Date) -> String {
        StoredTime.text(date)
    }

    /// What versions before milliseconds wrote: whole seconds, rounded up.
    static func roundedUpText(_ date: Date) -> String {
        StoredTime.text(Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.up)))
    }

    public static func parse(_ text: String) -> Date? { StoredTime.parse(text) }
}
