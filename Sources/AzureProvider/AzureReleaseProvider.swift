import Azure
import Foundation
import Logging
import Orchestrator
import SwitchyardCore

/// Azure as a `ReleaseProvider`: `AzurePlanner`, the profile's tag as the fence, `AzureEffects` as the performer.
public struct AzureReleaseProvider: ReleaseProvider {
    let arm: ARMClient
    let logger: Logger
    /// The resource group the file names: where a fleet asked for by name is.
    let location: AzureLocation?

    public init(arm: ARMClient, logger: Logger, location: AzureLocation?) {
        self.arm = arm
        self.logger = logger
        self.location = location
    }

    public var presenter: any PlanPresenter { AzurePlanPresenter() }

    public func plan(_ spec: DeploymentSpec, image: String, deploymentId: String, context: PlanContext) async throws -> PlannedRelease {
        PlannedRelease(plan: try await AzurePlanner(arm: arm, now: Date.init).plan(spec, image: image, deploymentId: deploymentId, context: context), facts: nil)
    }

    public func fence(_ spec: DeploymentSpec) -> any TrafficFence {
        let location = AzureLocation(id: spec.region)
        return ProfileFence(arm: arm, subscription: location?.subscription ?? "", resourceGroup: location?.resourceGroup ?? "",
                            profile: spec.traffic.trafficManager?.profile ?? "")
    }

    public func performer(facts: (any Sendable)?, clock: DeploymentClock) -> EffectPerformer {
        AzureEffects(arm: arm, logger: logger, clock: clock)
    }

    public func observe(_ d: Deployment) async throws -> Observation {
        let az: AzurePlan
        do { az = try AzurePlan(d.plan) } catch { throw ObservationRefused(deploymentId: d.id, reason: "\(error)") }
        let effects = AzureEffects(arm: arm, logger: logger, clock: SystemClock())
        async let profileRead = effects.readProfile(az)
        async let blueRead = ScaleSetMembers.readIfPresent(arm, scaleSet: az.blueScaleSet)
        async let greenRead = ScaleSetMembers.readIfPresent(arm, scaleSet: az.greenScaleSet)
        let (profile, blue, green) = try await (profileRead, blueRead, greenRead)
        let share: Int
        do { share = try effects.share(profile, az) } catch { throw ObservationRefused(deploymentId: d.id, reason: "\(error)") }
        return Observation(weights: [d.plan.blue.pool: 100 - share, d.plan.greenPool: share], blueExists: blue != nil, blueInService: blue?.inService ?? 0,
                           greenExists: green != nil, greenInService: green?.inService ?? 0, greenDesired: green == nil ? 0 : d.plan.blue.desiredCapacity)
    }

    public func tickCost(_ plan: ReleasePlan) -> TickCost {
        TickCost(reads: [TickCost.Read(service: "Microsoft.Compute", action: "VirtualMachineScaleSetVMs_List", calls: 1,
                                       purpose: "green's instances with their instance view (provisioning, power, Application Health)"),
                         TickCost.Read(service: "Microsoft.Network", action: "Profiles_Get", calls: 1,
                                       purpose: "green's endpoint as Traffic Manager's probes report it")],
                 interval: plan.spec.checks.interval.seconds)
    }

    /// Azure's load balancer has no deregistration delay: a stack leaves service when its endpoint is disabled and
    /// the profile's TTL (the settle) has passed.
    public func drainDelays(_ plan: ReleasePlan) async throws -> [String: Int] { [plan.blue.pool: 0, plan.greenPool: 0] }

    public func fleet(named name: String) async throws -> CapacityReport? {
        guard let location else { return nil }
        let id = "\(location.id)/providers/Microsoft.Compute/virtualMachineScaleSets/\(name)"
        guard let model = try await ScaleSets.get(arm, id), let members = try await ScaleSetMembers.readIfPresent(arm, scaleSet: id) else { return nil }
        return CapacityReport(desired: model.capacity, inService: members.inService, instances: members.members.count)
    }

    public func isUnreachable(_ error: Error) -> Bool { AzureUnreachable.isUnreachable(error) }
}

/// The release's mark on its Traffic Manager profile: a tag `switchyard:deployment:<id>`, claimed by `MarkClaim`'s rule
/// as the AWS listener's tags are.
public struct ProfileFence: TrafficFence {
    let arm: ARMClient
    let subscription: String
    let resourceGroup: String
    let profile: String
    public let settle: TimeInterval

    public static let tagKey = "switchyard:deployment"

    init(arm: ARMClient, subscription: String, resourceGroup: String, profile: String, settle: TimeInterval = ProfileFence.defaultSettle) {
        self.arm = arm
        self.subscription = subscription
        self.resourceGroup = resourceGroup
        self.profile = profile
        self.settle = settle
    }

    init(arm: ARMClient, plan az: AzurePlan) {
        self.init(arm: arm, subscription: az.subscription, resourceGroup: az.resourceGroup, profile: az.profile)
    }

    /// `SWITCHYARD_TAG_SETTLE` (`SettleWindows.tag`), as for AWS's tags.
    public static let defaultSettle: TimeInterval = SettleWindows.tag

    var tm: TrafficManager { TrafficManager(arm: arm) }

    public var resource: String { "/subscriptions/\(subscription)/resourceGroups/\(resourceGroup)/providers/Microsoft.Network/trafficManagerProfiles/\(profile)" }
    public func mark(for deploymentId: String) -> String { "\(Self.tagKey):\(deploymentId)" }

    static func holders(_ tags: [String: String]) -> [String] {
        tags.keys.filter { $0.hasPrefix(tagKey + ":") }.map { String($0.dropFirst(tagKey.count + 1)) }.sorted()
    }

    func tags() async throws -> [String: String] {
        try await tm.profile(subscription: subscription, resourceGroup: resourceGroup, name: profile).tags
    }

    public func owners() async throws -> [String] { Self.holders(try await tags()) }

    /// `MarkClaim`'s rule, as for AWS's listener tags; the tag PATCH answers with the profile's tags, so that answer is
    /// the first read-back.
    public func claim(for deploymentId: String, owners known: [String]?, mayReplace: (String) -> Bool) async throws {
        let resource = resource, settle = settle, mine = mark(for: deploymentId)
        try await MarkClaim(board: ProfileTags(fence: self), settle: settle,
                            lost: { ProfileClaimed(resource: resource, owner: $0, raced: $1) },
                            unconfirmed: { ProfileClaimUnconfirmed(resource: resource, mark: mine, settle: settle) })
            .claim(for: deploymentId, known: known, mayReplace: mayReplace)
    }

    /// The profile's tags as `MarkClaim` reads and writes them: one resource, and each write keeps the tags it read.
    struct ProfileTags: MarkBoard {
        let fence: ProfileFence

        func read() async throws -> (holders: [[String]], reading: [String: String]) {
            let tags = try await fence.tags()
            return ([ProfileFence.holders(tags)], tags)
        }

        func writeMark(for deploymentId: String, after: [String: String]?) async throws -> (holders: [[String]], reading: [String: String])? {
            let current = if let after { after } else { try await fence.tags() }
            let tags = try await set(keeping: current, set: [fence.mark(for: deploymentId): StoredTime.text(Date())])
            return ([ProfileFence.holders(tags)], tags)
        }

        func takeBack(for deploymentId: String, reading: [String: String]) async throws {
            _ = try await set(keeping: reading, remove: [fence.mark(for: deploymentId)])
        }

        func removeReplaced(_ deploymentIds: [String], reading: [String: String]) async throws {
            if !deploymentIds.isEmpty { _ = try await set(keeping: reading, remove: deploymentIds.map(fence.mark(for:))) }
        }

        private func set(keeping current: [String: String], set: [String: String] = [:], remove: [String] = []) async throws -> [String: String] {
            try await fence.tm.setTags(subscription: fence.subscription, resourceGroup: fence.resourceGroup, profile: fence.profile,
                                       keeping: current, set: set, remove: remove)
        }
    }

    public func release(for deploymentId: String) async throws {
        let current = try await tags()
        guard current[mark(for: deploymentId)] != nil else { return }
        _ = try await tm.setTags(subscription: subscription, resourceGroup: resourceGroup, profile: profile, keeping: current, remove: [mark(for: deploymentId)])
    }

    public func refusal(heldBy owner: String) -> Error { ProfileClaimed(resource: resource, owner: owner) }
}

/// Another release's mark stands on the profile.
public struct ProfileClaimed: Error, Sendable, CustomStringConvertible, ProviderFailure {
    public var resource: String
    public var owner: String
    public var raced = false
    public var failureKind: FailureKind { .conflict }
    public var description: String {
        if raced {
            return "deployment \(owner) claims \(resource) too, from the same moment or before: this deployment took its own claim tag back, "
                + "touched nothing else, and nothing of it was made in Azure"
        }
        return "\(resource) is tagged \(ProfileFence.tagKey):\(owner): deployment \(owner) is shifting it, perhaps from another machine's state file. "
            + "If that deployment is known to be dead, clear the tag with `--force-unlock \(owner)`."
    }
}

/// The claim's tag did not read back in time.
public struct ProfileClaimUnconfirmed: Error, Sendable, CustomStringConvertible, ProviderFailure {
    public var resource: String
    public var mark: String
    public var settle: TimeInterval
    public var failureKind: FailureKind { .conflict }
    public var description: String {
        "the \(mark) tag written on \(resource) did not read back within \(Int(settle)) s (SWITCHYARD_TAG_SETTLE): the tag was taken back and nothing else was made in Azure"
    }
}

extension PlanRefusal: ProviderFailure {
    public var failureKind: FailureKind { .badInput }
}

extension ARMError: ProviderFailure {
    public var failureKind: FailureKind { status == 400 || status == 403 || status == 404 ? .badInput : .failed }
    public var failureMessage: String { "Azure refused the request: \(self)" }
}

extension AzureCredentialsError: ProviderFailure {
    public var failureKind: FailureKind { .badInput }
}

/// How `plan` shows Azure's part of a release.
public struct AzurePlanPresenter: PlanPresenter {
    public init() {}

    public func traffic(_ plan: ReleasePlan) -> String {
        let profile = plan.spec.traffic.trafficManager?.profile ?? "?"
        return "Traffic Manager profile \(profile): \(plan.blue.pool) (blue, \(plan.blue.group)) → \(plan.greenPool) (green, \(plan.greenGroup)); "
            + "each change reaches clients after the profile's TTL, \(plan.trafficSettleSeconds ?? 0) s (settle \(plan.trafficSettle))"
    }

    public func fleets(_ p: ReleasePlan) -> (blue: String, green: String) {
        let scaling = p.blue.minSize == p.blue.maxSize ? "no autoscale setting" : "autoscale \(p.blue.minSize)..\(p.blue.maxSize)"
        return ("image \(p.blue.image.isEmpty ? "(not by id)" : p.blue.image), capacity \(p.blue.desiredCapacity), \(scaling)",
                "capacity \(p.blue.desiredCapacity), blue's model with image \(p.image)")
    }

    public func pinned(_ p: ReleasePlan, _ f: FleetPlan) -> [String] {
        guard f.copies.contains(.scalingPolicies) else { return ["blue has no autoscale setting: both keep capacity \(p.blue.desiredCapacity) unless someone scales them"] }
        return ["blue's autoscale minimum held at its capacity \(p.blue.desiredCapacity) until the release ends (scale-out still works); "
            + "green's copy disabled until promotion, then given blue's own minimums"]
    }

    public func testRoute(_ plan: ReleasePlan) -> [String] { [] }
    public func checks(_ plan: ReleasePlan) -> [String] { [] }

    public func removal(_ plan: ReleasePlan, drainDelays: [String: Int]) -> [String] {
        ["  removal   a scale set leaving service (green after a rollback, blue after its retention, a retired one) is deleted \(plan.trafficSettle) after its "
            + "endpoint was disabled, once a read shows it still disabled; Azure's load balancer has no deregistration delay"]
    }

    public func json(_ plan: ReleasePlan) throws -> [String: JSONValue] {
        guard let az = try? AzurePlan(plan) else { return [:] }
        return ["traffic_manager": try JSONValue(encoding: [
            "profile": az.profile, "blue_endpoint": az.blueEndpoint.name, "green_endpoint": az.greenEndpoint.name,
            "blue_scale_set": az.blueScaleSet, "green_scale_set": az.greenScaleSet,
        ]), "ttl_seconds": .int(plan.trafficSettleSeconds ?? 0)]
    }
}
