import AWS
import Foundation
import Orchestrator
import Logging
import SwitchyardCore

/// The AWS clients a release talks to, built once per command.
public struct AWSClients: Sendable {
    public let ec2: EC2
    public let autoScaling: AutoScaling
    public let elb: ELBv2
    /// Classic Load Balancers (`traffic.shared.load_balancer_name`).
    public let classic: ClassicELB
    public let cloudWatch: CloudWatch
    public let route53: Route53

    /// The limiters of the client every service here shares.
    public let limiters: AdaptiveRateLimiters

    public init(client: AWSClient) {
        self.limiters = client.limiters
        self.route53 = Route53(client: client)
        self.ec2 = EC2(client: client)
        self.autoScaling = AutoScaling(client: client)
        self.elb = ELBv2(client: client)
        self.classic = ClassicELB(client: client)
        self.cloudWatch = CloudWatch(client: client)
    }

    /// Whether AWS answered any of `services` with throttling at or after `since` (seconds since 1970).
    public func throttled(_ services: [AWSService], since: TimeInterval) -> Bool {
        services.contains { (limiters.limiter(for: $0, now: since).lastThrottledAt ?? -.infinity) >= since }
    }

    /// The router that shifts the spec's traffic, as the file's `traffic:` section chose it (`AWSTrafficBackends`).
    /// - Parameter clock: paces the router's waits (a Route 53 change becoming `INSYNC`, an ALB read-back standing in
    ///   for a write's answer).
    public func traffic(for spec: DeploymentSpec, clock: DeploymentClock = SystemClock()) -> any TrafficRouter {
        AWSTrafficBackends.router(for: spec, aws: self, clock: clock)
    }
}

/// What the planner read from AWS, kept in memory so the first effects of a release started by the same process need
/// not ask again (blue's group, the launch-template version green copies). Never stored: a resumed run reads afresh.
public struct PlanFacts: Sendable {
    public var blueGroup: AutoScalingGroup
    public var sourceVersion: LaunchTemplateVersion
    /// Blue with its policies, alarms, schedule, hooks and notifications, as the clone copies them.
    public var blueFleet: FleetDescription?

    public init(blueGroup: AutoScalingGroup, sourceVersion: LaunchTemplateVersion, blueFleet: FleetDescription? = nil) {
        self.blueGroup = blueGroup
        self.sourceVersion = sourceVersion
        self.blueFleet = blueFleet
    }
}

/// Resolves a deployment file and an AMI into a `ReleasePlan` by reading AWS. Changes nothing.
///
/// Its cost does not grow with the account: groups are found from the instances registered in the service's two
/// target groups (DescribeTargetHealth, then DescribeAutoScalingInstances for those the groups the state file names
/// do not hold), never by listing every group in the region.
public struct Planner: Sendable {
    public let aws: AWSClients
    public let logger: Logger
    /// For choosing which of blue's scheduled actions are still to come.
    public let clock: DeploymentClock
    /// The retention deadlines the state's own records give, by group (`RecordedRetention.of`): a group is kept for
    /// rollback until the later of its tag and these, since a tag written moments ago may not read back yet.
    public var recordedRetention: [String: RecordedRetention] = [:]
    /// Every retention deadline the state's records give, by group, passed ones too (`RecordedRetention.deadlines`):
    /// the exact instant a whole-second tag was rounded up from.
    public var recordedDeadlines: [String: [Date]] = [:]
    /// Groups likely to stand in the target groups (`PlanContext.likelyFleets`): read beside their target health, so
    /// the instances they hold are not looked up one by one.
    public var likelyGroups: Set<String> = []

    public init(aws: AWSClients, logger: Logger, clock: DeploymentClock = SystemClock()) {
        self.aws = aws
        self.logger = logger
        self.clock = clock
    }

    /// The name of green's Auto Scaling group for a deployment: deterministic, so a resumed run finds it.
    public static func greenGroupName(service: String, deploymentId: String) -> String {
        "switchyard-\(service)-\(deploymentId)"
    }

    /// Discovers blue, checks the AMI and decides what green will be.
    /// - Parameter retirable: groups Switchyard may retire from green's target group (earlier blues of this service).
    public func plan(spec: DeploymentSpec, ami: String, deploymentId: String, retirable: Set<String>) async throws -> ReleasePlan {
        try await planWithFacts(spec: spec, ami: ami, deploymentId: deploymentId, retirable: retirable).plan
    }

    /// The plan, and the AWS answers it was made from, for the effects of the same process.
    /// - Parameter endingRetention: the operator's `--end-retention`: a group kept for rollback (its
    ///   `switchyard:retain-until` tag in the future) may be retired from green's target group before its deadline.
    public func planWithFacts(spec: DeploymentSpec, ami: String, deploymentId: String, retirable: Set<String>,
                              endingRetention: Bool = false) async throws -> (plan: ReleasePlan, facts: PlanFacts) {
        let now = clock.now()
        let traffic = aws.traffic(for: spec, clock: clock)
        // Reads with no order between them go out together: the alarms from the start, blue's settings beside its
        // launch template and images. Each is awaited where it was read before, so a plan that fails for two reasons
        // names the same one first.
        async let alarmsExist: Void = checkAlarmsExist(spec.checks.alarms)
        let discovered = try await traffic.discover(spec)
        let weights = discovered.weights, sticky = discovered.sticky, settle = discovered.cacheSeconds
        let stacks = discovered.stackLoadBalancers
        let resource = traffic.description
        let fileGroups = Set(spec.traffic.pools)
        for forward in weights.forwards where !Set(forward.percent.keys).isSubset(of: fileGroups) {
            throw PlanError.targetGroupsMismatch(resource: forward.resource, listener: forward.percent.keys.sorted(), file: spec.traffic.pools)
        }
        guard weights.agreed else { throw PlanError.forwardsDisagree(weights.summary) }
        try checkRetention(spec: spec, sticky: sticky)
        let live = weights.live
        guard live.count < 2 else { throw PlanError.halfShifted(resource: resource, weights: weights.percent) }
        guard let blueTargetGroup = live.first else { throw PlanError.noTraffic(resource: resource) }
        // A shared target group is blue's and green's at once.
        let sharesTargetGroup = traffic.traits.splitByCounts
        guard let greenTargetGroup = sharesTargetGroup ? blueTargetGroup : spec.traffic.pools.first(where: { $0 != blueTargetGroup }) else {
            throw PlanError.targetGroupsMismatch(resource: resource, listener: live, file: spec.traffic.pools)
        }

        let blueGroup: AutoScalingGroup
        let retire: [String]
        var pair: PairFound?
        var startHealthy: Int?
        if spec.fleet.mode == .pair {
            let found = try await findPair(spec: spec, blueTargetGroup: blueTargetGroup, greenTargetGroup: greenTargetGroup, retirable: retirable,
                                           endingRetention: endingRetention, now: now)
            blueGroup = found.blue
            retire = found.retire
            pair = found
        } else if sharesTargetGroup {
            (blueGroup, startHealthy, retire) = try await findSharedBlue(spec: spec, targetGroup: blueTargetGroup, retirable: retirable,
                                                                          endingRetention: endingRetention, now: now)
        } else {
            let groups = try await groupsOn([blueTargetGroup, greenTargetGroup], named: retirable.union(spec.fleet.blueGroupName.map { [$0] } ?? []))
            blueGroup = try await findBlue(spec: spec, groups: groups, blueTargetGroup: blueTargetGroup)
            retire = try groupsToRetire(groups: groups, greenTargetGroup: greenTargetGroup, service: spec.service, retirable: retirable,
                                        endingRetention: endingRetention, now: now)
        }
        async let blueSettings = FleetReader(aws: aws).describe(blueGroup)
        let (blue, source, architectureSource) = try await describeBlue(group: blueGroup, targetGroup: blueTargetGroup, ami: ami)
        try await alarmsExist
        let fleetDescription = try await blueSettings
        var fleet = FleetPlanning.plan(fleetDescription, shifted: Array(Set([blueTargetGroup, greenTargetGroup])).sorted(), now: now,
                                       architectureSource: architectureSource)
        if let pair { fleet = FleetPlanning.pair(fleet, blue: fleetDescription, idle: pair.idle, idleHasSchedule: pair.idleHasSchedule) }
        if spec.fleet.templateDefault == .promote {
            fleet.previousDefaultVersion = source.isDefault ? source.versionNumber
                : try await aws.ec2.describeLaunchTemplateVersions(templateId: blue.templateId, versions: ["$Default"]).first?.versionNumber
        }
        if spec.fleet.otherPools == .refuse, !fleet.otherPools.isEmpty || !fleet.otherLoadBalancers.isEmpty {
            throw PlanError.otherTargetGroups(group: blueGroup.name, targetGroups: fleet.otherPools, loadBalancers: fleet.otherLoadBalancers)
        }

        let plan = ReleasePlan(
            spec: spec, image: ami, blue: blue,
            greenPool: greenTargetGroup,
            greenGroup: pair?.idle.name ?? Self.greenGroupName(service: spec.service, deploymentId: deploymentId),
            retire: retire, stickyForwards: sticky.isEmpty ? nil : sticky, fleet: fleet,
            pair: pair.map { PairPlan(groups: spec.fleet.pair, greenBefore: $0.greenBefore) }, trafficSettleSeconds: settle,
            stackLoadBalancers: stacks, settle: traffic.settle(spec, cacheSeconds: settle), shared: startHealthy.map(SharedPlan.init(startHealthy:)))
        return (plan, PlanFacts(blueGroup: blueGroup, sourceVersion: source, blueFleet: fleetDescription))
    }

    /// Each target group's `deregistration_delay.timeout_seconds`, for `plan` to say how long a fleet leaving it drains.
    public func deregistrationDelays(_ targetGroups: [String]) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for arn in targetGroups { out[arn] = try await InstancePool(arn).drainSeconds(aws) }
        return out
    }

    /// The groups whose instances are registered in the target groups, plus the groups named (which may have no
    /// instances): a handful of requests whatever the number of groups in the region.
    ///
    /// The named groups and the likely ones (`likelyGroups`: the newest record's blue and green) are read beside the
    /// target health, and an instance listed in one of their `Instances` belongs to it (an instance is in one group at
    /// most): only the instances none of them holds are looked up (DescribeAutoScalingInstances) and their groups read.
    /// From a service's second release on, blue is the green of the one before, so that lookup is not sent at all; an
    /// instance of any other group in either target group is still found by it. What comes back is what the lookup
    /// alone gives: the named groups, and the groups holding a registered instance (a likely group holding none is
    /// left out, as the lookup would not have found it).
    func groupsOn(_ targetGroups: [String], named: Set<String>) async throws -> [AutoScalingGroup] {
        let asked = named.union(likelyGroups)
        async let askedGroups = asked.isEmpty ? [] : aws.autoScaling.describeAutoScalingGroups(names: asked.sorted())
        let instanceIds = try await withThrowingTaskGroup(of: [String].self) { group in
            for targetGroup in targetGroups {
                group.addTask { try await aws.elb.describeTargetHealth(targetGroupArn: targetGroup).map(\.targetId) }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let registered = Set(instanceIds)
        let known = try await askedGroups.filter { named.contains($0.name) || $0.instances.contains { registered.contains($0.instanceId) } }
        return known + (try await groupsOfStrangers(instanceIds, known: known))
    }

    /// The groups of the instances among `instanceIds` that none of `known` lists, other than `known` themselves.
    func groupsOfStrangers(_ instanceIds: [String], known: [AutoScalingGroup]) async throws -> [AutoScalingGroup] {
        let held = Set(known.flatMap { $0.instances.map(\.instanceId) })
        let strangers = Set(instanceIds).subtracting(held)
        guard !strangers.isEmpty else { return [] }
        let names = Set(try await aws.autoScaling.groupsOfInstances(strangers.sorted()).values).subtracting(known.map(\.name))
        return names.isEmpty ? [] : try await aws.autoScaling.describeAutoScalingGroups(names: names.sorted())
    }

    private func findBlue(spec: DeploymentSpec, groups: [AutoScalingGroup], blueTargetGroup: String) async throws -> AutoScalingGroup {
        if let name = spec.fleet.blueGroupName {
            guard let group = groups.first(where: { $0.name == name }) else { throw PlanError.blueGroupMissing(name) }
            guard group.targetGroupARNs.contains(blueTargetGroup) else {
                throw PlanError.blueGroupNotOnTargetGroup(group: name, targetGroup: blueTargetGroup)
            }
            return group
        }
        var attached = groups.filter { $0.targetGroupARNs.contains(blueTargetGroup) }
        if attached.isEmpty {
            // A blue with no registered instance (scaled to zero) is found only by listing the region's groups: the
            // slow path, taken only when the fast one finds nothing.
            logger.info("no instance in blue's target group belongs to a group; listing every group", metadata: ["target_group": "\(blueTargetGroup)"])
            attached = try await aws.autoScaling.describeAutoScalingGroups(names: nil).filter { $0.targetGroupARNs.contains(blueTargetGroup) }
        }
        guard let group = attached.first else { throw PlanError.blueGroupNotFound(targetGroup: blueTargetGroup) }
        guard attached.count == 1 else { throw PlanError.ambiguousBlue(targetGroup: blueTargetGroup, groups: attached.map(\.name).sorted()) }
        return group
    }

    /// Blue in a shared target group, how many of its instances are healthy there, and the empty groups to retire from
    /// it: blue is the one group standing in it with instances (or the file's `fleet.blue_auto_scaling_group`), and
    /// another group there with instances makes blue ambiguous. An empty group there that this service's releases
    /// left (an earlier blue at 0) is retired before green joins, as in the default mode; one still kept for rollback
    /// refuses the start unless its retention is ended, since its rollback would scale it back into this release's
    /// target group.
    private func findSharedBlue(spec: DeploymentSpec, targetGroup: String, retirable: Set<String>, endingRetention: Bool,
                                now: Date) async throws -> (AutoScalingGroup, Int, [String]) {
        let pool = InstancePool(targetGroup)
        let health = try await pool.health(aws)
        let owners = health.isEmpty ? [:] : try await aws.autoScaling.groupsOfInstances(health.map(\.targetId))
        var names = Set(owners.values)
        if let named = spec.fleet.blueGroupName { names.insert(named) }
        var groups = try await aws.autoScaling.describeAutoScalingGroups(names: names.sorted()).filter(pool.isAttached)
        if let named = spec.fleet.blueGroupName {
            guard let group = groups.first(where: { $0.name == named }) else { throw PlanError.blueGroupNotOnTargetGroup(group: named, targetGroup: targetGroup) }
            groups = [group]
        }
        let serving = groups.filter { $0.desiredCapacity > 0 || !$0.instances.isEmpty }
        guard let blue = serving.first else { throw PlanError.blueGroupNotFound(targetGroup: targetGroup) }
        guard serving.count == 1 else { throw PlanError.ambiguousBlue(targetGroup: targetGroup, groups: serving.map(\.name).sorted()) }
        // An empty group has no instance in the target group to find it by: this service's earlier groups are looked
        // up by name (a handful, never the region's list).
        let earlier = retirable.union(recordedRetention.keys).filter { $0 != blue.name && !names.contains($0) }.sorted()
        let empty = earlier.isEmpty ? [] : try await aws.autoScaling.describeAutoScalingGroups(names: earlier)
        var retire: [String] = []
        for group in (groups + empty) where group.name != blue.name && pool.isAttached(group) {
            let ours = group.tags.contains { $0.key == "switchyard:service" && $0.value == spec.service } || retirable.contains(group.name)
            guard ours else { continue }
            if !endingRetention, let kept = retention(of: group), kept.until > now { throw kept.refusal(group) }
            retire.append(group.name)
        }
        let count = SharedStep.Fleet(blue, states: SharedStep.Fleet.states(health)).healthy.count
        guard count > 0 else { throw PlanError.noTraffic(resource: "\(pool.description) (blue \(blue.name) has no healthy instance in it)") }
        return (blue, count, retire.sorted())
    }

    /// Groups standing on green's target group. Only earlier blues and Switchyard's own groups of this service may go.
    /// A group kept for rollback by any state file (its `switchyard:retain-until` tag not yet passed) stays unless the
    /// operator ends its retention.
    private func groupsToRetire(groups: [AutoScalingGroup], greenTargetGroup: String, service: String, retirable: Set<String>,
                                endingRetention: Bool, now: Date) throws -> [String] {
        let standing = groups.filter { $0.targetGroupARNs.contains(greenTargetGroup) }
        return try standing.map { group in
            let ours = group.tags.contains { $0.key == "switchyard:service" && $0.value == service }
            guard ours || retirable.contains(group.name) else {
                throw PlanError.foreignGroupOnGreen(group: group.name, targetGroup: greenTargetGroup)
            }
            if !endingRetention, let kept = retention(of: group), kept.until > now {
                throw kept.refusal(group)
            }
            return group.name
        }.sorted()
    }

    /// Until when a group is kept for rollback: the later of its tag and every record in the state that names it.
    func retention(of group: AutoScalingGroup) -> (until: Date, refusal: (AutoScalingGroup) -> PlanError)? {
        let tag = Self.exactDeadline(tag: Self.retainedUntil(group), recorded: recordedDeadlines[group.name] ?? [])
        let recorded = recordedRetention[group.name]
        if let recorded, recorded.until > (tag ?? .distantPast) {
            let tagText = group.tags.first { $0.key == RetentionTag.key }?.value
            return (recorded.until, { PlanError.retainedForRollback(group: $0.name, until: RetentionTag.text(recorded.until),
                                                                     deployment: recorded.deployment, tag: tagText) })
        }
        guard let tag else { return nil }
        return (tag, { PlanError.retainedForRollback(group: $0.name, until: RetentionTag.text(tag)) })
    }

    /// The tag's deadline, or the recorded one it was written from. Tags hold the deadline to the millisecond; those
    /// written by earlier versions held whole seconds rounded up (07.203 read 08.000, and a `blue_retention: 0s` blue
    /// was kept almost a second past its promotion, refusing the next start): a tag that is the rounding of a deadline
    /// this state records is that deadline.
    static func exactDeadline(tag: Date?, recorded: [Date]) -> Date? {
        guard let tag else { return nil }
        let written = RetentionTag.text(tag)
        return recorded.first { RetentionTag.text($0) == written || RetentionTag.roundedUpText($0) == written } ?? tag
    }

    /// The retention deadline a group carries in its tag, if any.
    public static func retainedUntil(_ group: AutoScalingGroup) -> Date? {
        group.tags.first { $0.key == RetentionTag.key }.flatMap { RetentionTag.parse($0.value) }
    }

    /// Blue's fleet and the launch-template version green copies; checks the new AMI against blue's in the same
    /// DescribeImages call. When blue's AMI is gone (deregistered), its architecture comes from its instance types,
    /// and the third value says so.
    private func describeBlue(group: AutoScalingGroup, targetGroup: String, ami: String) async throws -> (BlueFleet, LaunchTemplateVersion, String?) {
        guard let template = GroupCopier.launchTemplate(of: group) else {
            let detail = group.launchConfigurationName.map { "uses launch configuration \($0)" } ?? "has no launch template"
            throw PlanError.blueWithoutLaunchTemplate(group: group.name, detail: detail)
        }
        let versions = try await aws.ec2.describeLaunchTemplateVersions(templateId: template.id, versions: [template.version])
        guard let version = versions.first else {
            throw PlanError.launchTemplateVersionNotFound(template: template.name, version: template.version)
        }
        let imageId = version.imageId ?? ""
        let images = try await aws.ec2.describeImages(ids: [imageId, ami])
        var architecture = images.first { $0.imageId == imageId }?.architecture ?? ""
        var source: String?
        if architecture.isEmpty, !imageId.isEmpty {
            (architecture, source) = try await architectureOfInstanceTypes(group: group, version: version, imageId: imageId)
        }
        let blue = BlueFleet(
            group: group.name, pool: targetGroup,
            templateId: template.id, templateName: version.templateName,
            templateVersion: version.versionNumber, image: imageId,
            architecture: architecture,
            minSize: group.minSize, maxSize: group.maxSize, desiredCapacity: group.desiredCapacity)
        try checkImage(ami: ami, images: images, blue: blue)
        return (blue, version, source)
    }

    /// The architecture every instance type of blue supports (one only, or the check is skipped), from
    /// DescribeInstanceTypes: the answer when blue's AMI has been deregistered.
    private func architectureOfInstanceTypes(group: AutoScalingGroup, version: LaunchTemplateVersion, imageId: String) async throws -> (String, String) {
        var types = group.raw.all("MixedInstancesPolicy/LaunchTemplate/Overrides/member").compactMap { $0.value("InstanceType") }
        if let type = version.data.value("instanceType") { types.append(type) }
        types = Array(Set(types)).sorted()
        guard !types.isEmpty else {
            return ("", "blue's AMI \(imageId) is deregistered and blue names no instance type: the architecture check is skipped")
        }
        let supported = try await aws.ec2.architectures(ofInstanceTypes: types)
        var common = Set(supported[types[0]] ?? [])
        for type in types.dropFirst() { common.formIntersection(supported[type] ?? []) }
        let named = types.joined(separator: ", ")
        guard common.count == 1, let architecture = common.first else {
            return ("", "blue's AMI \(imageId) is deregistered and its instance types (\(named)) do not name one architecture: the check is skipped")
        }
        return (architecture, "instance type \(named) (blue's AMI \(imageId) is deregistered)")
    }

    /// Blue must outlive the stickiness that may keep clients on it after promotion.
    private func checkRetention(spec: DeploymentSpec, sticky: [String: Int]) throws {
        guard let (arn, seconds) = sticky.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }) else { return }
        if spec.promotion.blueRetention.seconds < Double(seconds) {
            let forward = spec.traffic.forwards.first { $0.arn == arn }?.description ?? arn
            throw PlanError.retentionShorterThanStickiness(retention: spec.promotion.blueRetention.description, stickinessSeconds: seconds, resource: forward)
        }
    }

    /// A misspelt alarm name is found before green is launched, not after (it would read as failing and roll back).
    private func checkAlarmsExist(_ names: [String]) async throws {
        guard !names.isEmpty else { return }
        let found = Set(try await aws.cloudWatch.describeAlarms(names: names).map(\.name))
        let missing = names.filter { !found.contains($0) }
        guard missing.isEmpty else { throw PlanError.alarmsNotFound(missing) }
    }

    private func checkImage(ami: String, images: [EC2Image], blue: BlueFleet) throws {
        guard let image = images.first(where: { $0.imageId == ami }) else { throw PlanError.amiNotFound(ami) }
        guard image.state == "available" else { throw PlanError.amiNotAvailable(ami: ami, state: image.state) }
        if !blue.architecture.isEmpty, image.architecture != blue.architecture {
            throw PlanError.architectureMismatch(ami: ami, architecture: image.architecture, blueAMI: blue.image, blueArchitecture: blue.architecture)
        }
    }
}
