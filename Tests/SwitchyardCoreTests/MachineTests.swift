import Foundation
@testable import SwitchyardCore
import Testing

let start = Date(timeIntervalSince1970: 1_800_000_000)

func makeDeployment(steps: [DeploymentSpec.Step] = [.weight(10, bake: .seconds(60)), .weight(50, bake: .seconds(60)), .weight(100, bake: .seconds(30))],
                    interval: TimeSpan = .seconds(10), retire: [String] = []) -> Deployment {
    let spec = DeploymentSpec(service: "web", region: "us-east-1",
                              traffic: .init(primaryForward: listener, pools: [tgA, tgB]),
                              fleet: .init(capacityTimeout: .minutes(10)), steps: steps,
                              checks: .init(interval: interval, healthyTimeout: .minutes(5)), promotion: .init(blueRetention: .minutes(30)))
    let blue = BlueFleet(group: "web-blue", pool: tgA, templateId: "lt-1", templateName: "web",
                         templateVersion: 3, image: "ami-11111111", architecture: "x86_64", minSize: 2, maxSize: 4, desiredCapacity: 2)
    let plan = ReleasePlan(spec: spec, image: "ami-22222222", blue: blue, greenPool: tgB, greenGroup: "switchyard-web-d1", retire: retire)
    return Deployment(id: "d1", plan: plan, fileDigest: "x", actor: "a@b", now: start)
}

let healthy = TargetHealthReport(targets: [.init(instanceId: "i-1", state: "healthy"), .init(instanceId: "i-2", state: "healthy")])

/// Drives the machine against an imaginary AWS that answers every effect with its natural outcome.
struct Simulation {
    var d: Deployment
    var now = start
    var effects: [Effect] = []
    var weights: [Int] = []
    var log: [LogEntry] = []
    /// Answers for effects; by default a healthy world.
    var answer: (Effect, Deployment) -> Event = { effect, d in Simulation.natural(effect, d) }

    /// The natural answer, with the probe's passing result beside green's health when the file has a probe (it runs
    /// in the same tick).
    static func natural(_ effect: Effect, _ d: Deployment) -> Event {
        guard let http = d.plan.spec.checks.http else { return natural(effect) }
        let probe = CheckResult(name: "http", passed: true, evidence: "200", threshold: http.failureThreshold)
        switch effect {
        case .observeGreenHealth: return .greenHealthObserved(healthy, checks: [probe])
        case .runChecks: return .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok"), probe])
        default: return natural(effect)
        }
    }

    static func natural(_ effect: Effect) -> Event {
        switch effect {
        case .begin: return .begun
        case .retireFleet(let name): return .fleetRetired(name)
        case .ensureGreenTemplate: return .greenTemplateReady(4)
        case .ensureGreenFleet: return .greenFleetReady
        case .observeCapacity: return .capacityObserved(CapacityReport(desired: 2, inService: 2, instances: 2))
        case .observeGreenHealth: return .greenHealthObserved(healthy)
        case .setSplit(let green): return .splitConfirmed(green: green)
        case .runChecks: return .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok")])
        case .confirmPromotion: return .promotionConfirmed
        case .restoreBlue: return .splitConfirmed(green: 0)
        case .removeGreen: return .greenRemoved
        case .retireBlue: return .blueRetired(by: nil)
        case .ensureTestRoute: return .testRouteReady(id: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3")
        case .removeTestRoute: return .testRouteRemoved
        case .restoreStickiness: return .stickinessRestored
        case .pinBlue: return .bluePinned(summary: "MinSize 2 (was 1)")
        case .copyToGreen(let kind): return .copiedToGreen(kind, summary: kind.rawValue)
        case .releaseGreen: return .greenReleased(summary: "MinSize 1, MaxSize 4")
        case .observeBlue: return .blueObserved(CapacityReport(desired: 2, inService: 2, instances: 2))
        case .restoreBlueFleet: return .blueFleetRestored(summary: "MinSize 1")
        case .runHook(let ref): return .hookFinished(ref, HookResult(exitCode: 0))
        case .deregisterFleet(let group): return .fleetDeregistered(fleet: group, pools: [tgB], delaySeconds: 300)
        // moto's answer: a deregistered target is gone from DescribeTargetHealth at once.
        case .observeDrain(let group): return .drainObserved(fleet: group, targets: [])
        case .removeGreenTemplate(let version): return .greenTemplateDeleted(version)
        }
    }

    init(_ d: Deployment) { self.d = d }

    /// Runs until terminal, a manual gate with nobody to promote, or `limit` decisions.
    mutating func run(limit: Int = 1000, stopAtPause: Bool = false) {
        for _ in 0..<limit {
            if stopAtPause && d.state == .paused { return }
            switch Machine.decide(d, now: now) {
            case .done: return
            case .transition(let t): take(t)
            case .wait(let until):
                #expect(until > now, "a wait must be in the future")
                now = until
            case .perform(let effect):
                effects.append(effect)
                take(Machine.apply(d, answer(effect, d), now: now))
            }
        }
    }

    mutating func take(_ t: Transition) {
        if t.deployment.greenWeight != d.greenWeight { weights.append(t.deployment.greenWeight) }
        d = t.deployment
        if let entry = t.log { log.append(entry) }
    }
}

@Suite struct MachineForwardTests {
    @Test func happyPathRunsTheEffectsInOrderAndWeightsOnlyRise() {
        var sim = Simulation(makeDeployment(retire: ["old-a", "old-b"]))
        sim.run()
        #expect(sim.d.state == .completed)
        #expect(sim.weights == [10, 50, 100])
        let distinct = sim.effects.reduce(into: [Effect]()) { if $0.last != $1 { $0.append($1) } }
        #expect(distinct == [.begin, .deregisterFleet("old-a"), .observeDrain("old-a"), .retireFleet("old-a"),
                             .deregisterFleet("old-b"), .observeDrain("old-b"), .retireFleet("old-b"), .ensureGreenTemplate,
                             .ensureGreenFleet(template: 4), .observeCapacity, .observeGreenHealth,
                             .setSplit(green: 10), .runChecks, .setSplit(green: 50), .runChecks, .setSplit(green: 100), .runChecks,
                             .confirmPromotion])
        // 150 s of bake in all; checks every 10 s.
        #expect(sim.now == start.addingTimeInterval(150))
        #expect(sim.effects.filter { $0 == .runChecks }.count == 5 + 5 + 2)
        #expect(sim.d.retentionDeadline == sim.now.addingTimeInterval(1800))
        #expect(sim.log.last?.to == .completed)
    }

    @Test func decideIsAPureFunctionOfRecordAndTime() {
        var sim = Simulation(makeDeployment())
        for _ in 0..<40 {
            #expect(Machine.decide(sim.d, now: sim.now) == Machine.decide(sim.d, now: sim.now))
            sim.run(limit: 1)
        }
    }

    @Test func greenGetsNoTrafficUntilEveryTargetIsHealthy() {
        let reports = [
            TargetHealthReport(targets: [.init(instanceId: "i-1", state: "initial"), .init(instanceId: "i-2", state: "healthy")]),
            TargetHealthReport(targets: [.init(instanceId: "i-1", state: "missing", reason: "not registered"), .init(instanceId: "i-2", state: "healthy")]),
            TargetHealthReport(targets: [.init(instanceId: "i-1", state: "healthy")]),
            TargetHealthReport(targets: [.init(instanceId: "i-1", state: "unused"), .init(instanceId: "i-2", state: "healthy")]),
            healthy,
        ]
        var sim = Simulation(makeDeployment())
        var served = 0
        sim.answer = { effect, _ in
            if effect == .observeGreenHealth {
                defer { served += 1 }
                return .greenHealthObserved(reports[min(served, reports.count - 1)])
            }
            return Simulation.natural(effect)
        }
        sim.run()
        let firstShift = sim.effects.firstIndex(of: .setSplit(green: 10)) ?? 0
        #expect(sim.effects[..<firstShift].filter { $0 == .observeGreenHealth }.count == 5)
        #expect(sim.d.state == .completed)
    }

    @Test func capacityTimeoutRollsBackNamingTheKey() {
        var sim = Simulation(makeDeployment())
        sim.answer = { effect, _ in
            effect == .observeCapacity ? .capacityObserved(CapacityReport(desired: 2, inService: 1, instances: 2)) : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.d.rollbackReason?.contains("fleet.capacity_timeout 10m") == true)
        #expect(sim.d.rollbackReason?.contains("1/2 InService") == true)
        #expect(!sim.effects.contains(.setSplit(green: 10)))
    }

    @Test func healthTimeoutRollsBackNamingTheKey() {
        var sim = Simulation(makeDeployment())
        sim.answer = { effect, _ in
            effect == .observeGreenHealth
                ? .greenHealthObserved(TargetHealthReport(targets: [.init(instanceId: "i-1", state: "unhealthy", reason: "Target.Timeout")]))
                : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.d.rollbackReason?.contains("checks.healthy_timeout 5m") == true)
        #expect(sim.d.rollbackReason?.contains("Target.Timeout") == true)
        #expect(sim.weights.isEmpty)
    }

    @Test func pauseWaitsWithChecksRunningAndPromoteContinues() {
        var sim = Simulation(makeDeployment(steps: [.weight(10, bake: .seconds(20)), .pause, .weight(100, bake: .zero)]))
        sim.run(limit: 200, stopAtPause: true)
        #expect(sim.d.state == .paused)
        #expect(sim.d.greenWeight == 10)
        for _ in 0..<10 { sim.run(limit: 1) }
        #expect(sim.d.state == .paused)
        #expect(sim.effects.suffix(3).contains(.runChecks))
        sim.take(Machine.apply(sim.d, .promoteRequested, now: sim.now))
        sim.run()
        #expect(sim.d.state == .completed)
        #expect(sim.weights == [10, 100])
    }

    @Test func bakeResumesFromWhereItWasAfterACrash() {
        var d = makeDeployment()
        d.state = .shifting
        d.greenTemplateVersion = 4
        d.progress.insert(.greenGroupCreated)
        d.greenWeight = 10
        d.bakeStartedAt = start
        var sim = Simulation(d)
        sim.now = start.addingTimeInterval(45)
        sim.run(limit: 3)
        #expect(!sim.effects.contains(.setSplit(green: 10)))
        #expect(sim.effects.first == .runChecks)
        sim.run()
        #expect(sim.effects.firstIndex(of: .setSplit(green: 50)).map { sim.effects[..<$0].filter { $0 == .runChecks }.count } == 2)
    }

    @Test func deploymentPastItsBakeAndCheckedUnderItsWeightMovesOnAtOnce() {
        var d = makeDeployment()
        d.state = .shifting
        d.greenWeight = 10
        d.bakeStartedAt = start
        d.lastChecksAt = start.addingTimeInterval(10)
        guard case .transition(let t) = Machine.decide(d, now: start.addingTimeInterval(3600)) else {
            Issue.record("expected a transition")
            return
        }
        #expect(t.deployment.stepIndex == 1)
        #expect(t.deployment.bakeStartedAt == nil)
    }

    @Test func aStepPastItsBakeButNeverCheckedUnderItsWeightRunsTheChecksFirst() {
        var d = makeDeployment()
        d.state = .shifting
        d.greenWeight = 10
        d.bakeStartedAt = start
        d.lastChecksAt = start.addingTimeInterval(-1)
        #expect(Machine.decide(d, now: start.addingTimeInterval(3600)) == .perform(.runChecks))
    }

    @Test func zeroBakeStepsEachRunTheChecksBeforeTheWeightRises() {
        var sim = Simulation(makeDeployment(steps: [.weight(10, bake: .zero), .weight(50, bake: .zero), .weight(100, bake: .zero)]))
        sim.run()
        #expect(sim.d.state == .completed)
        let shifting = sim.effects.drop { if case .setSplit = $0 { return false } else { return true } }
        #expect(Array(shifting) == [.setSplit(green: 10), .runChecks, .setSplit(green: 50), .runChecks,
                                    .setSplit(green: 100), .runChecks, .confirmPromotion])
    }

    @Test func aCheckFailingBelowItsThresholdHoldsTheStepUntilItPassesAgain() {
        var d = makeDeployment(steps: [.weight(10, bake: .zero), .weight(100, bake: .zero)])
        d.state = .shifting
        d.greenWeight = 10
        d.bakeStartedAt = start
        let failing = CheckResult(name: "http", passed: false, evidence: "503", threshold: 3)
        d = Machine.apply(d, .checksObserved([failing]), now: start).deployment
        #expect(d.consecutiveFailures["http"] == 1)
        let later = start.addingTimeInterval(1)
        #expect(Machine.decide(d, now: later) == .wait(until: start.addingTimeInterval(10)))
        #expect(Machine.decide(d, now: start.addingTimeInterval(10)) == .perform(.runChecks))
        d = Machine.apply(d, .checksObserved([CheckResult(name: "http", passed: true, evidence: "200", threshold: 3)]), now: start.addingTimeInterval(10)).deployment
        guard case .transition(let t) = Machine.decide(d, now: start.addingTimeInterval(10)) else {
            Issue.record("expected the step to move on once the check passed")
            return
        }
        #expect(t.deployment.stepIndex == 1)
    }

    @Test func promotionPastAGateWaitsForAFailingCheckToResolve() {
        var d = makeDeployment(steps: [.weight(10, bake: .zero), .pause, .weight(100, bake: .zero)])
        d.state = .paused
        d.stepIndex = 1
        d.greenWeight = 10
        d.promoteRequested = true
        d.consecutiveFailures = ["alarm:x": 1]
        d.nextCheckAt = start
        #expect(Machine.decide(d, now: start) == .perform(.runChecks))
    }
}

@Suite struct TargetHealthJudgementTests {
    @Test func instancesBeingReplacedAreReportedButNotCounted() {
        let report = TargetHealthReport(targets: [
            .init(instanceId: "i-1", state: "healthy", lifecycleState: "InService"),
            .init(instanceId: "i-2", state: "initial", lifecycleState: "Pending"),
            .init(instanceId: "i-3", state: "draining", lifecycleState: "Terminating"),
        ])
        let result = report.check(maxUnhealthy: 0)
        #expect(result.passed)
        #expect(result.evidence.contains("i-2 Pending") && result.evidence.contains("i-3 Terminating"))
        #expect(report.allHealthy(expected: 1))
        #expect(!report.allHealthy(expected: 2))
    }

    @Test func anUnhealthyInServiceInstanceOrNoHealthyOneFailsTheCheck() {
        let unhealthy = TargetHealthReport(targets: [
            .init(instanceId: "i-1", state: "healthy", lifecycleState: "InService"),
            .init(instanceId: "i-2", state: "unhealthy", reason: "Target.FailedHealthChecks", lifecycleState: "InService"),
        ])
        #expect(!unhealthy.check(maxUnhealthy: 0).passed)
        #expect(unhealthy.check(maxUnhealthy: 1).passed)
        let nobody = TargetHealthReport(targets: [.init(instanceId: "i-2", state: "initial", lifecycleState: "Pending")])
        #expect(!nobody.check(maxUnhealthy: 5).passed)
    }
}

@Suite struct FleetDetailTests {
    /// Events about one fleet name it under `fleet`, and under `asg` too for readers written before `fleet` (deprecated):
    /// the two agree on every such event of a whole release, its removals included.
    @Test func everyEventAboutAFleetNamesItUnderFleetAndTheDeprecatedAsg() {
        var sim = Simulation(makeDeployment(retire: ["web-old"]))
        sim.run()
        let about = sim.log.filter { $0.details[LogEntry.fleetKey] != nil || $0.details[LogEntry.legacyFleetKey] != nil }
        #expect(about.count >= 3, Comment(rawValue: "\(sim.log.map(\.message))"))
        for entry in about {
            #expect(entry.details["fleet"] != nil && entry.details["fleet"] == entry.details["asg"], Comment(rawValue: entry.message))
        }
        #expect(Set(about.compactMap { $0.details["fleet"] }).isSuperset(of: ["switchyard-web-d1", "web-old"]))
        #expect(LogEntry.fleet("g", ["fleet": "other", "x": "1"]) == ["fleet": "g", "asg": "g", "x": "1"])
    }
}
