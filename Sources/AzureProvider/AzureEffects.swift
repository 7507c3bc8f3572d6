import Azure
import Foundation
import Logging
import Orchestrator
import Probes
import StateStore
import SwitchyardCore

/// Runs a release's effects against ARM. Each looks before it acts, so running one twice changes nothing more; every
/// write that moves or removes traffic reads the profile first and is fenced by the release's mark on it.
public struct AzureEffects: EffectPerformer {
    let arm: ARMClient
    let logger: Logger
    let clock: DeploymentClock
    /// How long after a write a read may still show the state from before it: a step's read that disagrees with the
    /// record is read again this much later before it counts as a hand change.
    let readWindow: TimeInterval

    init(arm: ARMClient, logger: Logger, clock: DeploymentClock, readWindow: TimeInterval = SettleWindows.read) {
        self.arm = arm
        self.logger = logger
        self.clock = clock
        self.readWindow = readWindow
    }

    /// How long a scale set just created may be missing from a read before it counts as gone.
    static let visibilityGrace: TimeInterval = 30

    public func isUnreachable(_ error: Error) -> Bool { AzureUnreachable.isUnreachable(error) }

    public func perform(_ effect: Effect, for d: Deployment) async throws -> Event {
        let az = try AzurePlan(d.plan)
        switch effect {
        case .begin:
            return .begun
        case .runHook(let ref):
            return .hookWithoutRunner(ref)
        case .retireFleet(let name):
            try requireDrained(name, d)
            try await remove(name, d, az, known: try await fence(d, az))
            return .fleetRetired(name)
        case .ensureGreenTemplate:
            // A scale set has no template of its own: green's model is blue's with the image changed, made with green
            // itself. What can be checked now is that the image still makes scale sets in blue's region.
            let image = try await ComputeImages(arm: arm).image(id: d.image)
            if let why = image.refusal(location: az.location, now: clock.now()) { throw PlanRefusal(why) }
            return .greenTemplateReady(1)
        case .ensureGreenFleet:
            try await ensureGreen(d, az)
            return .greenFleetReady
        case .observeCapacity:
            return .capacityObserved(try await greenCapacity(d, az))
        case .observeGreenHealth:
            async let others = CheckScheduler.run(checks(d, az, beforeTraffic: true), clock: clock)
            let report = try await health(az.greenScaleSet, d)
            return .greenHealthObserved(report, checks: await others)
        case .setSplit(let green):
            // The fence's own read of the profile is the step's look at the split: one read, not two.
            let profile = try await fence(d, az)
            if let change = try await handChange(d, az, profile: profile, target: green) { return .trafficChangedByHand(change) }
            try await write(green: green, d, az, current: profile)
            return .splitConfirmed(green: green)
        case .runChecks:
            return .checksObserved(await CheckScheduler.run(checks(d, az), clock: clock))
        case .confirmPromotion:
            // The write's own answers confirmed it; a read may lag them (ARM's reads are eventually consistent).
            let profile = try await readProfile(az) { try share($0, az) == 100 }
            guard try share(profile, az) == 100 else {
                throw SplitNotConfirmed(profile: az.profile, wanted: 100, found: try share(profile, az))
            }
            // Blue, kept for rollback, says so on itself: no release from any state file retires it before the
            // deadline. Best effort: green serves everything already, and a tag that cannot be written must not undo it.
            let until = clock.now().adding(d.plan.spec.promotion.blueRetention)
            do {
                if let blue = try await ScaleSets.get(arm, az.blueScaleSet) {
                    try await ScaleSets.tag(arm, blue.id, keeping: blue.tags, set: [AzurePlan.retainUntilTag: StoredTime.text(until)])
                }
            } catch {
                logger.warning("could not tag the kept blue with its retention deadline; other state files will not see it",
                               metadata: ["deployment.id": "\(d.id)", "fleet": "\(d.plan.blue.group)", "error": "\(error)"])
            }
            return .promotionConfirmed
        case .restoreBlue:
            // Written whatever a read says (it may be stale): blue enabled first, then green disabled, each answer
            // its own read-back.
            try await fence(d, az)
            try await restore(az)
            return .splitConfirmed(green: 0)
        case .restoreStickiness:
            return .stickinessRestored
        case .ensureTestRoute:
            throw TrafficCapabilityError.noTestRoute(d.plan.spec.traffic.kind)
        case .removeTestRoute:
            return .testRouteRemoved
        case .removeGreen:
            try requireDrained(d.plan.greenGroup, d)
            try await remove(d.plan.greenGroup, d, az, known: try await fence(d, az))
            return .greenRemoved
        case .retireBlue:
            try requireDrained(d.plan.blue.group, d)
            try await remove(d.plan.blue.group, d, az)
            return .blueRetired(by: nil)
        case .deregisterFleet(let name):
            // A scale set leaves service when its endpoint takes no traffic: resolvers stop answering its stack once
            // the TTL has passed (the removal's settle), and its instances stay in their pool until it is deleted.
            let endpoint = az.endpoint(of: name, d)
            try await requireDisabled(endpoint, fleet: name, az)
            return .fleetDeregistered(fleet: name, pools: [endpoint.name], delaySeconds: 0)
        case .observeDrain(let name):
            return .drainObserved(fleet: name, targets: [])
        case .removeGreenTemplate(let version):
            return .greenTemplateDeleted(version)
        case .pinBlue:
            guard let id = az.blueAutoscale else {
                return .bluePinned(summary: "blue has no autoscale setting: its capacity \(d.plan.blue.desiredCapacity) stays as it is")
            }
            guard let setting = try await AutoscaleSetting.get(arm, id: id) else {
                return .bluePinned(summary: "blue's autoscale setting \(id) is gone: nothing to pin")
            }
            if let body = try setting.pinned(atLeast: d.plan.blue.desiredCapacity) {
                _ = try await AutoscaleSetting.put(arm, id: id, body: body)
                return .bluePinned(summary: "autoscale setting \(setting.name): each profile's minimum raised to \(d.plan.blue.desiredCapacity)")
            }
            return .bluePinned(summary: "autoscale setting \(setting.name) keeps \(d.plan.blue.desiredCapacity) or more already")
        case .copyToGreen(let kind):
            guard kind == .scalingPolicies, let blueId = az.blueAutoscale, let greenId = az.greenAutoscale else {
                return .copiedToGreen(kind, summary: "nothing of this kind on Azure")
            }
            if try await AutoscaleSetting.get(arm, id: greenId) != nil {
                return .copiedToGreen(kind, summary: "autoscale setting \(greenId) stands already")
            }
            guard let blue = try await AutoscaleSetting.get(arm, id: blueId) else {
                return .copiedToGreen(kind, summary: "blue's autoscale setting \(blueId) is gone: nothing copied")
            }
            let name = greenId.split(separator: "/").last.map(String.init) ?? greenId
            _ = try await AutoscaleSetting.put(arm, id: greenId, body: try blue.greenCopy(name: name, greenScaleSet: az.greenScaleSet))
            return .copiedToGreen(kind, summary: "autoscale setting \(name) copied from \(blue.name), disabled until promotion")
        case .releaseGreen:
            guard let greenId = az.greenAutoscale, let setting = try await AutoscaleSetting.get(arm, id: greenId) else {
                return .greenReleased(summary: "green has no autoscale setting: it keeps capacity \(d.plan.blue.desiredCapacity)")
            }
            _ = try await AutoscaleSetting.put(arm, id: greenId, body: try setting.released(floors: az.blueFloors ?? setting.floors))
            return .greenReleased(summary: "autoscale setting \(setting.name) enabled with blue's own minimums")
        case .observeBlue:
            let members = try await ScaleSetMembers.read(arm, scaleSet: az.blueScaleSet)
            return .blueObserved(CapacityReport(desired: d.plan.blue.desiredCapacity, inService: members.inService, instances: members.members.count))
        case .restoreBlueFleet:
            guard let id = az.blueAutoscale, let floors = az.blueFloors, let setting = try await AutoscaleSetting.get(arm, id: id) else {
                return .blueFleetRestored(summary: "no autoscale setting to restore")
            }
            if let body = try setting.unpinned(floors: floors) {
                _ = try await AutoscaleSetting.put(arm, id: id, body: body)
                return .blueFleetRestored(summary: "autoscale setting \(setting.name): each profile's minimum back as it was")
            }
            return .blueFleetRestored(summary: "autoscale setting \(setting.name) was as before the release")
        }
    }

    // MARK: traffic

    func readProfile(_ az: AzurePlan) async throws -> TrafficManagerProfile {
        try await TrafficManager(arm: arm).profile(subscription: az.subscription, resourceGroup: az.resourceGroup, name: az.profile)
    }

    /// The profile read again, every `every` seconds, until `accept` holds or `within` (the read window unless said)
    /// has passed (a read may lag this process's own write): the last read, which the caller judges. `known`: a read
    /// made an instant ago, taken as the first.
    func readProfile(_ az: AzurePlan, known: TrafficManagerProfile? = nil, within: TimeInterval? = nil, every: TimeInterval = 0.5,
                     until accept: (TrafficManagerProfile) throws -> Bool) async throws -> TrafficManagerProfile {
        var profile: TrafficManagerProfile
        if let known { profile = known } else { profile = try await readProfile(az) }
        let end = clock.now().addingTimeInterval(within ?? readWindow)
        while try !accept(profile), clock.now() < end {
            try await clock.sleep(until: min(end, clock.now().addingTimeInterval(every)))
            profile = try await readProfile(az)
        }
        return profile
    }

    /// The endpoint in front of a fleet's stack takes no traffic, read right before the fleet leaves service; a read
    /// that shows it enabled is read again through the read window (it may predate our own disabling), then refused.
    func requireDisabled(_ endpoint: AzurePlan.Endpoint, fleet: String, _ az: AzurePlan, known: TrafficManagerProfile? = nil) async throws {
        func enabled(_ p: TrafficManagerProfile) -> Bool { p.endpoints.first { $0.name == endpoint.name }?.enabled ?? false }
        let profile = try await readProfile(az, known: known) { !enabled($0) }
        if enabled(profile) { throw CarriesTraffic(scaleSet: fleet, endpoint: endpoint.name, profile: az.profile) }
    }

    /// Green's share as the profile shows it now.
    func share(_ profile: TrafficManagerProfile, _ az: AzurePlan) throws -> Int {
        guard let blue = profile.endpoints.first(where: { $0.name == az.blueEndpoint.name }),
              let green = profile.endpoints.first(where: { $0.name == az.greenEndpoint.name }) else {
            throw ObservationRefused(deploymentId: "?", reason: "Traffic Manager profile \(az.profile) no longer has endpoints \(az.blueEndpoint.name) and \(az.greenEndpoint.name)")
        }
        return TrafficManagerSplit.greenPercent(blue: blue, green: green) ?? 0
    }

    /// The split found when it is neither what this deployment last wrote (or accepted) nor the step's target, read
    /// twice the read window apart: someone changed it by hand.
    func handChange(_ d: Deployment, _ az: AzurePlan, profile: TrafficManagerProfile, target: Int) async throws -> TrafficChange? {
        let expected = ReadConsistency.expected(d)
        func split(_ p: TrafficManagerProfile) throws -> [String: Int] {
            let green = try share(p, az)
            return [d.plan.blue.pool: 100 - green, d.plan.greenPool: green]
        }
        func byHand(_ read: [String: Int]) -> Bool {
            ReadConsistency.isHandChange(read, expected: expected, blue: d.plan.blue.pool, green: d.plan.greenPool, target: target,
                                         previous: ReadConsistency.previousStep(d))
        }
        guard byHand(try split(profile)) else { return nil }
        try await clock.sleep(until: clock.now().addingTimeInterval(readWindow))
        let again = try split(try await readProfile(az))
        guard byHand(again) else { return nil }
        return TrafficChange(resource: "Traffic Manager profile \(az.profile)", expected: expected, found: again)
    }

    /// Writes the split in `writeOrder`: green's share then only ever lies between the old split and the new one,
    /// and some endpoint is always enabled (at 100 %, blue's disabling is the one write clients see). Both sides are
    /// written every time, and the split is confirmed from the two PATCH answers alone: a read that already shows a
    /// side as wanted may be stale, and is never taken as its write.
    func write(green: Int, _ d: Deployment, _ az: AzurePlan, current: TrafficManagerProfile) async throws {
        let split = TrafficManagerSplit(greenPercent: green)
        let was = (try? share(current, az)) ?? d.greenWeight
        var answered: [String: TrafficManagerEndpoint] = [:]
        for side in Self.writeOrder(from: was, to: green) {
            let (endpoint, wanted) = side == .green ? (az.greenEndpoint, split.green) : (az.blueEndpoint, split.blue)
            answered[endpoint.name] = try await set(endpoint, weight: wanted.weight, enabled: wanted.enabled, az)
        }
        try confirm(green: green, blue: answered[az.blueEndpoint.name], greenEnd: answered[az.greenEndpoint.name], az)
    }

    enum Side: Equatable { case blue, green }

    /// Which endpoint is written first: the one gaining share when it is disabled now (else, written second, the
    /// other's disabling or lowered weight would leave no endpoint enabled, or more share on it than asked), else the
    /// one losing share. Either way green's share between the two writes lies between the old split and the new.
    static func writeOrder(from was: Int, to green: Int) -> [Side] {
        if green > was { return was == 0 ? [.green, .blue] : [.blue, .green] }
        return was == 100 ? [.blue, .green] : [.green, .blue]
    }

    /// All traffic back on blue without a read first (a read may be stale): blue's endpoint enabled with its weight
    /// as it is (at a partial split that moves nothing), then green's disabled, the one write clients see. Never
    /// green first: with blue disabled by hand, no endpoint would be enabled for an instant.
    func restore(_ az: AzurePlan) async throws {
        let blue = try await set(az.blueEndpoint, weight: nil, enabled: true, az)
        let green = try await set(az.greenEndpoint, weight: nil, enabled: false, az)
        try confirm(green: 0, blue: blue, greenEnd: green, az)
    }

    func set(_ endpoint: AzurePlan.Endpoint, weight: Int?, enabled: Bool, _ az: AzurePlan) async throws -> TrafficManagerEndpoint {
        try await TrafficManager(arm: arm).set(subscription: az.subscription, resourceGroup: az.resourceGroup, profile: az.profile,
                                               endpoint: endpoint.reference, weight: weight, enabled: enabled)
    }

    func confirm(green: Int, blue: TrafficManagerEndpoint?, greenEnd: TrafficManagerEndpoint?, _ az: AzurePlan) throws {
        guard let blue, let greenEnd else { throw SplitNotConfirmed(profile: az.profile, wanted: green, found: -1) }
        let found = TrafficManagerSplit.greenPercent(blue: blue, green: greenEnd) ?? -1
        guard found == green else { throw SplitNotConfirmed(profile: az.profile, wanted: green, found: found) }
    }

    /// The release's mark must still be on the profile before traffic moves or a fleet goes; returns the read that
    /// showed it, for the effect's own look at the profile.
    @discardableResult
    func fence(_ d: Deployment, _ az: AzurePlan) async throws -> TrafficManagerProfile {
        let fence = ProfileFence(arm: arm, plan: az)
        // A read that does not show the mark alone may predate it (or a rival's removal): read again, through the
        // tag's settle or the read window, whichever is longer, before this release stops.
        let profile = try await readProfile(az, within: max(fence.settle, readWindow), every: 0.25) { ProfileFence.holders($0.tags) == [d.id] }
        let owners = ProfileFence.holders(profile.tags)
        guard owners == [d.id] else {
            let green = d.reached(.greenGroupCreated) ? "; green \(d.plan.greenGroup), which it created, stands" : ""
            throw FencedOut(deploymentId: d.id, resource: fence.resource, owner: owners.first { $0 != d.id }, mark: fence.mark(for: d.id),
                            standing: "its record stays in state \(d.state.rawValue) at blue \(d.blueWeight)% / green \(d.greenWeight)%\(green)",
                            cloud: AzureTrafficBackends.words.name)
        }
        return profile
    }

    // MARK: fleets

    func ensureGreen(_ d: Deployment, _ az: AzurePlan) async throws {
        if let existing = try await ScaleSets.get(arm, az.greenScaleSet) {
            guard existing.tags["switchyard:deployment"] == d.id else {
                throw PlanRefusal("scale set \(existing.name) exists and is not this deployment's (its switchyard:deployment tag: \(existing.tags["switchyard:deployment"] ?? "none"))")
            }
            logger.info("adopting existing green scale set", metadata: ["deployment.id": "\(d.id)", "fleet": "\(existing.name)"])
            return
        }
        guard let blue = try await ScaleSets.get(arm, az.blueScaleSet) else {
            throw ObservationRefused(deploymentId: d.id, reason: "blue's scale set \(az.blueScaleSet) is gone")
        }
        let clone = try ScaleSetClone(blue: blue.document, image: d.image, computerNamePrefix: az.computerNamePrefix, backendPools: az.greenBackendPools,
                                      tags: AzurePlan.greenTags(service: d.service, deploymentId: d.id))
        try await ScaleSets.put(arm, az.greenScaleSet, body: clone.body)
    }

    func greenCapacity(_ d: Deployment, _ az: AzurePlan) async throws -> CapacityReport {
        guard let members = try await ScaleSetMembers.readIfPresent(arm, scaleSet: az.greenScaleSet) else {
            if clock.now() < d.phaseStartedAt.addingTimeInterval(Self.visibilityGrace) {
                return CapacityReport(desired: d.plan.blue.desiredCapacity, inService: 0, instances: 0)
            }
            throw ObservationRefused(deploymentId: d.id, reason: "green's scale set \(d.plan.greenGroup) no longer exists")
        }
        var report = CapacityReport(desired: d.plan.blue.desiredCapacity, inService: members.inService, instances: members.members.count)
        if report.inService < report.desired {
            // A creation that failed (allocation, quota, image) ends the wait at once rather than at the timeout.
            if let model = try await ScaleSets.get(arm, az.greenScaleSet), model.provisioningState.lowercased() == "failed" {
                report.launchFailures = LaunchFailures(inARow: LaunchFailureRule.limit, newestId: model.id,
                                                       message: "scale set \(model.name) is provisioningState Failed")
            } else if !members.failing.isEmpty {
                let failed = members.failing.filter { $0.provisioningState.lowercased() == "failed" }
                if failed.count >= LaunchFailureRule.limit || (!failed.isEmpty && failed.count == members.members.count) {
                    report.launchFailures = LaunchFailures(inARow: max(failed.count, LaunchFailureRule.limit), newestId: failed.last?.instanceId ?? "",
                                                           message: "instances \(failed.map(\.instanceId).joined(separator: ", ")) failed to provision")
                }
            }
        }
        return report
    }

    /// Each instance of a scale set as the health report counts it: `healthy` when it serves (provisioned, running,
    /// and healthy where the Application Health extension reports), else its state.
    func health(_ scaleSet: String, _ d: Deployment) async throws -> TargetHealthReport {
        let members = try await ScaleSetMembers.read(arm, scaleSet: scaleSet)
        return TargetHealthReport(targets: members.members.map { m in
            let state = m.inService ? "healthy" : m.failing ? "unhealthy" : m.health == .initializing ? "initial" : "unavailable"
            let lifecycle = m.provisioningState.lowercased() == "succeeded" ? "InService" : m.provisioningState
            return .init(instanceId: m.instanceId, state: state, reason: m.inService ? nil : m.summary, lifecycleState: lifecycle)
        })
    }

    /// The checks of one tick: instance health while green takes traffic, and the HTTP probe.
    func checks(_ d: Deployment, _ az: AzurePlan, beforeTraffic: Bool = false) -> [ScheduledCheck] {
        var out: [ScheduledCheck] = []
        let interval = d.plan.spec.checks.interval.seconds
        if !beforeTraffic {
            let effects = self
            out.append(ScheduledCheck(name: "target-health", timeoutThreshold: 3, timeout: max(interval, 2), cloud: AzureTrafficBackends.words.name) {
                do {
                    return [try await effects.health(az.greenScaleSet, d).check(maxUnhealthy: d.plan.spec.checks.maxUnhealthyTargets)]
                } catch {
                    return [CheckResult(name: "target-health", passed: false, evidence: "could not read green's instances: \(error)", threshold: 3)]
                }
            })
        }
        if !beforeTraffic {
            // What Traffic Manager's own probes see of green's stack: an endpoint it reports Degraded or Stopped gets
            // no answers while blue is enabled, and all of them (fail-open) once blue is disabled, so green is judged
            // by it before any larger share. CheckingEndpoint (just enabled) is not evidence either way.
            let effects = self
            out.append(ScheduledCheck(name: "endpoint-health", timeoutThreshold: 3, timeout: max(interval, 2), cloud: AzureTrafficBackends.words.name) {
                do {
                    let profile = try await effects.readProfile(az)
                    return [AzureEffects.endpointHealth(profile, green: az.greenEndpoint.name, share: d.greenWeight)]
                } catch {
                    return [CheckResult(name: "endpoint-health", passed: false, evidence: "could not read Traffic Manager profile \(az.profile): \(error)", threshold: 3)]
                }
            })
        }
        if let http = d.plan.spec.checks.http {
            let probe = HTTPProbe(spec: http)
            out.append(ScheduledCheck(name: "http", timeoutThreshold: http.failureThreshold, timeout: min(http.timeout.seconds, interval)) {
                [await probe.check()]
            })
        }
        return out
    }

    /// Green's endpoint as Traffic Manager's probes report it: Degraded or Stopped fails (while it has a share).
    static func endpointHealth(_ profile: TrafficManagerProfile, green name: String, share: Int) -> CheckResult {
        guard let endpoint = profile.endpoints.first(where: { $0.name == name }) else {
            return CheckResult(name: "endpoint-health", passed: false, evidence: "Traffic Manager profile has no endpoint \(name) any more")
        }
        let status = endpoint.monitorStatus ?? "unknown"
        let failing = share > 0 && endpoint.enabled && ["degraded", "stopped"].contains(status.lowercased())
        return CheckResult(name: "endpoint-health", passed: !failing,
                           evidence: "Traffic Manager reports endpoint \(name) \(status)" + (failing ? ": its probes find green's stack not serving" : ""))
    }

    func requireDrained(_ name: String, _ d: Deployment) throws { try d.requireDrained(name, now: clock.now()) }

    /// Deletes a scale set and its autoscale settings, never while its endpoint takes traffic (read right before, or
    /// `known`: the fence's read an instant ago).
    func remove(_ name: String, _ d: Deployment, _ az: AzurePlan, known: TrafficManagerProfile? = nil) async throws {
        try await requireDisabled(az.endpoint(of: name, d), fleet: name, az, known: known)
        let id = az.scaleSetId(name, d)
        if let setting = try await AutoscaleSetting.find(arm, resourceGroup: az.resourceGroupId, target: id) {
            try await AutoscaleSetting.delete(arm, id: setting.id)
        }
        try await ScaleSets.delete(arm, id)
    }
}

/// A scale set was not removed: the endpoint in front of its stack takes traffic.
public struct CarriesTraffic: Error, Sendable, CustomStringConvertible, ProviderFailure {
    public var scaleSet: String
    public var endpoint: String
    public var profile: String
    public var failureKind: FailureKind { .failed }
    public var description: String {
        "scale set \(scaleSet) was left alone: endpoint \(endpoint) of Traffic Manager profile \(profile), in front of its stack, is enabled and takes traffic"
    }
}

/// A weight write whose answer did not show the split asked for.
public struct SplitNotConfirmed: Error, Sendable, CustomStringConvertible, ProviderFailure {
    public var profile: String
    public var wanted: Int
    public var found: Int
    public var failureKind: FailureKind { .failed }
    public var description: String { "Traffic Manager profile \(profile) shows green at \(found)% after the write for \(wanted)%" }
}

/// Azure's transient failures: no answer, throttling or a server error past the retries, a token endpoint not reached.
enum AzureUnreachable {
    static func isUnreachable(_ error: Error) -> Bool {
        if error is ARMUnreachable { return true }
        if let error = error as? ARMError { return ARMRetry.retriedStatuses.contains(error.status) }
        return false
    }
}
