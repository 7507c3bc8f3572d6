import Foundation
@testable import SwitchyardCore
import Testing

/// A small deterministic random source, so a failing seed can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An imaginary AWS for one deployment: what the listener, the groups and green's health really are. Effects change
/// it the way AWSEffects does (looking before acting), whatever the state file later learns of it.
struct ImaginaryAWS {
    var greenWeight = 0
    var greenExists = false
    var blueExists = true
    var greenHealthy = true
    /// Whether the latest look at green (health before traffic, or a check) saw it unhealthy.
    var lastSeenUnhealthy = false
    var violations: [String] = []
    /// Whether a test-route rule stands on the listener.
    var testRouteStands = false
    /// How many times each hook (`HookRef.key`) was run, and how likely a hook is to fail.
    var hookRuns: [String: Int] = [:]
    var hookFailChance = 0.0
    /// Whether the plan has a before_traffic hook: no weight above 0 may be written before it ran.
    var beforeTrafficHook = false
    /// Target-group stickiness on the forward (meaningful when the plan records it as sticky).
    var stickinessOn = true
    /// Blue's MinSize held at its desired capacity (and its version pinned); green copied and released.
    var bluePinned = false
    var greenCopies: Set<FleetCopy> = []
    var greenReleased = false
    /// Whether the deployment copies and pins (a plan with a fleet section).
    var fleet = false
    /// The data plane: a listener change reaches clients `settle` after it is written; a deregistered green drains
    /// for `delay` (and a read may still show it healthy just after).
    var now = start
    var settle: TimeInterval = 0
    var delay: TimeInterval = 300
    var lastGreenWrite: Date?
    var greenDeregisteredAt: Date?
    /// Passing probes in a row through the test route once it was live, and how many it needs before the first weight.
    var probes = false
    var testRouteLiveAt: Date?
    var probePasses = 0
    var probeThreshold = 3

    /// Whether clients may still reach green through the listener: a weight above 0, or a change not yet live.
    var clientsReachGreen: Bool {
        greenWeight > 0 || lastGreenWrite.map { now < $0.addingTimeInterval(settle) } ?? false
    }

    mutating func perform(_ effect: Effect, state: DeploymentState, rng: inout SplitMix64) -> Event {
        switch effect {
        case .begin: return .begun
        case .retireFleet(let name): return .fleetRetired(name)
        case .ensureGreenTemplate: return .greenTemplateReady(4)
        case .ensureGreenFleet:
            if fleet && !bluePinned { violations.append("green created while blue could still scale in (state \(state))") }
            greenExists = true
            return .greenFleetReady
        case .observeCapacity: return .capacityObserved(CapacityReport(desired: 2, inService: 2, instances: 2))
        case .observeGreenHealth:
            lastSeenUnhealthy = !greenHealthy
            let state = greenHealthy ? "healthy" : "unhealthy"
            return .greenHealthObserved(TargetHealthReport(targets: [.init(instanceId: "i-1", state: state), .init(instanceId: "i-2", state: "healthy")]),
                                         checks: probe())
        case .setSplit(let green):
            if green > greenWeight && lastSeenUnhealthy {
                violations.append("weight raised to \(green)% right after green was seen unhealthy (state \(state))")
            }
            if green > 0 && !greenExists { violations.append("weight \(green)% sent to a green that does not exist") }
            if green > 0 && beforeTrafficHook && hookRuns["before_traffic[1]"] == nil { violations.append("weight \(green)% written before the before_traffic hook ran") }
            if green > 0 && greenWeight == 0 && probes && probePasses < probeThreshold {
                violations.append("weight \(green)% written after \(probePasses) probes through the live test route (state \(state))")
            }
            if green > 0 && greenDeregisteredAt != nil { violations.append("weight \(green)% sent to a deregistered green") }
            if green > 0 && fleet && greenCopies.count < FleetCopy.allCases.count {
                violations.append("weight \(green)% sent to a green that lacks blue's \(Set(FleetCopy.allCases).subtracting(greenCopies).map(\.rawValue).sorted())")
            }
            if green != greenWeight { lastGreenWrite = now }
            greenWeight = green
            return .splitConfirmed(green: green)
        case .runChecks:
            lastSeenUnhealthy = !greenHealthy
            return .checksObserved([CheckResult(name: "target-health", passed: greenHealthy, evidence: greenHealthy ? "ok" : "i-1 unhealthy")] + probe())
        case .confirmPromotion:
            return greenWeight == 100 ? .promotionConfirmed : .effectFailed(effect, message: "listener not at 100%")
        case .restoreBlue:
            if greenWeight > 0 { stickinessOn = false }
            if greenWeight != 0 { lastGreenWrite = now }
            greenWeight = 0
            return .splitConfirmed(green: 0)
        case .removeGreen:
            if greenWeight > 0 { violations.append("green removed while it still had \(greenWeight)% of the traffic") }
            if greenExists, let last = lastGreenWrite {
                // Requests sent before the last change reached every client get the target group's delay.
                let lastRequest = last.addingTimeInterval(settle)
                guard let deregistered = greenDeregisteredAt else {
                    violations.append("green removed without being deregistered first (state \(state))")
                    greenExists = false
                    return .greenRemoved
                }
                if now < min(deregistered, lastRequest).addingTimeInterval(delay) && now < deregistered.addingTimeInterval(delay) {
                    violations.append("green removed \(now.timeIntervalSince(deregistered)) s after its deregistration, before its in-flight requests had the delay")
                }
            }
            greenExists = false
            return .greenRemoved
        case .deregisterFleet(let group):
            if clientsReachGreen { violations.append("\(group) deregistered while clients could still reach it (state \(state))") }
            if greenExists, greenDeregisteredAt == nil { greenDeregisteredAt = now }
            return .fleetDeregistered(fleet: group, pools: greenExists ? [tgB] : [], delaySeconds: Int(delay))
        case .observeDrain(let group):
            guard greenExists, let deregistered = greenDeregisteredAt else { return .drainObserved(fleet: group, targets: []) }
            // Just after the detach a read may still show the old state; then draining until the delay is over.
            if now < deregistered.addingTimeInterval(1) { return .drainObserved(fleet: group, targets: [.init(instanceId: "i-1", state: "healthy")]) }
            if now < deregistered.addingTimeInterval(delay) { return .drainObserved(fleet: group, targets: [.init(instanceId: "i-1", state: "draining")]) }
            return .drainObserved(fleet: group, targets: [])
        case .removeGreenTemplate(let version): return .greenTemplateDeleted(version)
        case .ensureTestRoute:
            if !testRouteStands { testRouteLiveAt = now.addingTimeInterval(settle) }
            testRouteStands = true
            return .testRouteReady(id: "arn:rule")
        case .removeTestRoute:
            if testRouteStands { lastGreenWrite = now }
            testRouteStands = false
            return .testRouteRemoved
        case .restoreStickiness:
            if greenExists { violations.append("stickiness turned back on while green still stands") }
            stickinessOn = true
            return .stickinessRestored
        case .retireBlue:
            return .blueRetired(by: nil)
        case .pinBlue:
            bluePinned = true
            return .bluePinned(summary: "pinned")
        case .copyToGreen(let kind):
            if !greenExists { violations.append("\(kind.rawValue) copied to a green that does not exist") }
            greenCopies.insert(kind)
            return .copiedToGreen(kind, summary: kind.rawValue)
        case .releaseGreen:
            if greenWeight != 100 { violations.append("green released at \(greenWeight)% of the traffic") }
            greenReleased = true
            return .greenReleased(summary: "released")
        case .observeBlue: return .blueObserved(CapacityReport(desired: 2, inService: 2, instances: 2))
        case .restoreBlueFleet:
            if greenWeight > 0 { violations.append("blue's scaling restored while green still had \(greenWeight)%") }
            bluePinned = false
            return .blueFleetRestored(summary: "restored")
        case .runHook(let ref):
            hookRuns[ref.key, default: 0] += 1
            let failed = Double.random(in: 0..<1, using: &rng) < hookFailChance
            return .hookFinished(ref, HookResult(exitCode: failed ? 1 : 0, output: failed ? "boom" : "ok"))
        }
    }

    /// The probe's result through the test route, counted as the data plane sees it.
    mutating func probe() -> [CheckResult] {
        guard probes else { return [] }
        if let live = testRouteLiveAt, now >= live, testRouteStands {
            probePasses = greenHealthy ? probePasses + 1 : 0
        }
        return [CheckResult(name: "http", passed: greenHealthy, evidence: greenHealthy ? "200" : "503", threshold: probeThreshold)]
    }

    var observation: Observation {
        Observation(weights: [tgA: 100 - greenWeight, tgB: greenWeight], blueExists: blueExists, blueInService: 2,
                    greenExists: greenExists, greenInService: greenExists ? 2 : 0, greenDesired: greenExists ? 2 : 0)
    }
}

@Suite struct CrashPropertyTests {
    /// For random worlds (green turning unhealthy at random, operators asking for rollback, steps and gates) with a
    /// crash at a random point — before an effect, or after it but before its outcome was stored — and a resume that
    /// reconciles with AWS afterwards, the invariants of PRODUCT.md hold and the release still ends.
    @Test(arguments: 0..<400)
    func invariantsHoldAcrossACrashAndAResume(seed: Int) {
        var rng = SplitMix64(state: UInt64(seed) &* 7919 &+ 1)
        let steps: [DeploymentSpec.Step] = Bool.random(using: &rng)
            ? [.weight(10, bake: .seconds(30)), .pause, .weight(50, bake: .seconds(30)), .weight(100, bake: .seconds(10))]
            : [.weight(25, bake: .seconds(20)), .weight(100, bake: .seconds(20))]
        var d = makeDeployment(steps: steps)
        var world = ImaginaryAWS()
        if Bool.random(using: &rng) {
            d.plan.spec.checks.http = .init(url: "http://alb.internal/healthz", testRoute: .init())
            world.probes = true
        }
        world.settle = [0, 5, 15].randomElement(using: &rng)!
        world.delay = [0, 3, 300].randomElement(using: &rng)!
        d.plan.settle = .seconds(Int64(world.settle))
        if Bool.random(using: &rng) { d.plan.stickyForwards = [listener: 300] }
        if Bool.random(using: &rng) {
            d.plan.fleet = FleetPlan(copies: FleetCopy.allCases, pinnedProcesses: ["ScheduledActions"], blueTemplateVersion: "$Latest")
            world.fleet = true
        }
        if Bool.random(using: &rng) {
            let onFailure = Hook.OnFailure.allCases.randomElement(using: &rng)!
            d.plan.spec.hooks = Hooks(beforeTraffic: [Hook(run: ["smoke"], onFailure: onFailure)], afterStep: [Hook(run: ["load"], onFailure: onFailure)],
                                      beforePromotion: [Hook(run: ["ticket"], onFailure: onFailure)], afterPromotion: [Hook(run: ["tell"], onFailure: .ignore)],
                                      afterRollback: [Hook(run: ["page"], onFailure: .ignore)])
            world.beforeTrafficHook = true
            world.hookFailChance = [0.0, 0.1, 0.3].randomElement(using: &rng)!
        }
        var crashedHook: String?
        var now = start
        let crashAt = Int.random(in: 0..<40, using: &rng)
        let crashAfterCall = Bool.random(using: &rng)
        let unhealthyChance = [0.0, 0.02, 0.1].randomElement(using: &rng)!
        var decisions = 0
        var terminal: DeploymentState?
        var crashed = false

        while decisions < 2000 {
            decisions += 1
            if let terminal { #expect(d.state == terminal, "seed \(seed): a terminal state changed") }
            world.greenHealthy = Double.random(in: 0..<1, using: &rng) >= unhealthyChance
            world.now = now
            if d.state == .paused, Int.random(in: 0..<3, using: &rng) == 0 {
                d = Machine.apply(d, .promoteRequested, now: now).deployment
            }
            if !d.state.isTerminal, Int.random(in: 0..<200, using: &rng) == 0 {
                d = Machine.apply(d, .rollbackRequested(reason: "random", actor: "ops"), now: now).deployment
            }
            switch Machine.decide(d, now: now) {
            case .done:
                terminal = d.state
            case .transition(let t):
                d = t.deployment
            case .wait(let until):
                now = until
            case .perform(let effect):
                if !crashed && decisions >= crashAt {
                    crashed = true
                    if case .runHook(let ref) = effect { crashedHook = ref.key }
                    if crashAfterCall { _ = world.perform(effect, state: d.state, rng: &rng) }
                    // The process is gone; a new one resumes from the stored record and what AWS shows.
                    now = now.addingTimeInterval(Double.random(in: 0..<120, using: &rng))
                    world.now = now
                    let r = Machine.reconcile(d, observed: world.observation, actor: "resumer@host", now: now)
                    #expect(r.unsafe == nil, "seed \(seed): \(r.unsafe ?? "")")
                    #expect(r.log.message.hasPrefix("resumed by resumer@host"))
                    d = r.deployment
                    continue
                }
                let event = world.perform(effect, state: d.state, rng: &rng)
                d = Machine.apply(d, event, now: now).deployment
            }
            if terminal != nil { break }
        }
        #expect(terminal != nil, "seed \(seed): the release never ended (state \(d.state))")
        // A finished hook never runs again; only the one a crash interrupted may have run twice.
        for (key, runs) in world.hookRuns { #expect(runs <= (key == crashedHook ? 2 : 1), "seed \(seed): hook \(key) ran \(runs) times") }
        if d.plan.spec.hooks != nil {
            #expect((world.hookRuns[d.state == .completed ? "after_promotion[1]" : "after_rollback[1]"] ?? 0) >= 1, "seed \(seed): the closing hook did not run once")
        }
        #expect(world.violations.isEmpty, "seed \(seed): \(world.violations)")
        switch d.state {
        case .completed:
            #expect(world.greenWeight == 100 && world.greenExists, "seed \(seed)")
            // Blue stays pinned through its retention, ready for an undo; green has blue's own scaling.
            #expect(!world.fleet || (world.greenReleased && world.bluePinned), "seed \(seed)")
        case .rolledBack:
            #expect(world.greenWeight == 0 && !world.greenExists, "seed \(seed)")
            #expect(!world.bluePinned, "seed \(seed): blue rolled back to but still pinned")
        default: break
        }
        #expect(!world.testRouteStands, "seed \(seed): the test route outlived the release")
        if d.plan.isSticky { #expect(world.stickinessOn, "seed \(seed): stickiness was left off") }
        #expect(d.state != .failed, "seed \(seed): nothing in this world makes a rollback impossible")
    }

    @Test func aResumeRefusesAThirdTargetGroupAndAMissingBlueAndChangesNothing() {
        var d = makeDeployment()
        d.state = .shifting
        d.greenWeight = 10
        var seen = Observation(weights: [tgA: 80, tgB: 10, "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/other/9": 10],
                               blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        var r = Machine.reconcile(d, observed: seen, actor: "a", now: start)
        #expect(r.deployment == d && r.unsafe?.contains("neither blue's nor green's target group") == true)
        seen.weights = [tgA: 90, tgB: 10]
        seen.blueExists = false
        r = Machine.reconcile(d, observed: seen, actor: "a", now: start)
        #expect(r.deployment == d && r.unsafe?.contains("blue's group web-blue is gone") == true)
    }

    @Test func greenTakingTrafficBeforeItWasProvenHealthyRollsBackOnResume() {
        var d = makeDeployment()
        d.state = .checkingHealth
        let seen = Observation(weights: [tgA: 90, tgB: 10], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        let r = Machine.reconcile(d, observed: seen, actor: "a", now: start)
        #expect(r.unsafe == nil && r.deployment.state == .rollingBack)
    }

    @Test func aBakeGoesOnFromItsStoredStartAndTimeoutsCountFromTheResume() {
        var d = makeDeployment()
        d.state = .shifting
        d.greenWeight = 10
        d.bakeStartedAt = start
        let seen = Observation(weights: [tgA: 90, tgB: 10], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        var r = Machine.reconcile(d, observed: seen, actor: "a", now: start.addingTimeInterval(45))
        #expect(r.deployment.bakeStartedAt == start)
        // One check at the step first, then the rest of the 60s bake (15s), not a new one.
        #expect(Machine.decide(r.deployment, now: start.addingTimeInterval(45)) == .perform(.runChecks))
        let checked = Machine.apply(r.deployment, .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok")]), now: start.addingTimeInterval(45)).deployment
        if case .wait(let until) = Machine.decide(checked, now: start.addingTimeInterval(45)) {
            #expect(until <= start.addingTimeInterval(60))
        } else {
            Issue.record("expected a wait")
        }
        #expect(Machine.decide(checked, now: start.addingTimeInterval(61)).isTransition)
        d.state = .waitingForCapacity
        d.phaseStartedAt = start
        r = Machine.reconcile(d, observed: Observation(weights: [tgA: 100, tgB: 0], blueExists: true, blueInService: 2, greenExists: true, greenInService: 1, greenDesired: 2),
                              actor: "a", now: start.addingTimeInterval(3600))
        #expect(r.deployment.phaseStartedAt == start.addingTimeInterval(3600))
    }
}

extension Decision {
    var isTransition: Bool { if case .transition = self { return true } else { return false } }
}
