import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct MachineRollbackTests {
    func shifting() -> Simulation {
        var sim = Simulation(makeDeployment())
        sim.run(limit: 12)
        #expect(sim.d.state == .shifting && sim.d.greenWeight == 10)
        return sim
    }

    @Test func rollbackFromShiftingRestoresBlueBeforeRemovingGreen() {
        var sim = shifting()
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "latency", actor: "ops@box"), now: sim.now))
        let logged = sim.log.last
        #expect(logged?.to == .rollingBack)
        #expect(logged?.details["actor"] == "ops@box")
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(Array(sim.effects.suffix(2)) == [.restoreBlue, .removeGreen])
        #expect(sim.d.greenWeight == 0)
        #expect(sim.d.rollbackReason == "requested by ops@box: latency")
    }

    @Test func aSecondRequestKeepsTheFirstReason() {
        var sim = shifting()
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "first", actor: "a"), now: sim.now))
        let before = sim.d
        let after = Machine.apply(sim.d, .rollbackRequested(reason: "second", actor: "b"), now: sim.now)
        #expect(after.deployment == before)
        #expect(after.log == nil)
    }

    @Test func failingCheckWithThresholdRollsBackOnlyAfterConsecutiveFailures() {
        var sim = shifting()
        let failing = CheckResult(name: "http", passed: false, evidence: "GET /healthz answered 503", threshold: 3)
        let passing = CheckResult(name: "http", passed: true, evidence: "200", threshold: 3)
        for result in [failing, failing, passing, failing, failing] {
            sim.take(Machine.apply(sim.d, .checksObserved([result]), now: sim.now))
            #expect(sim.d.state == .shifting)
        }
        #expect(sim.d.consecutiveFailures["http"] == 2)
        sim.take(Machine.apply(sim.d, .checksObserved([failing]), now: sim.now))
        #expect(sim.d.state == .rollingBack)
        let entry = sim.log.last
        #expect(entry?.details["check"] == "http")
        #expect(entry?.details["evidence"] == "GET /healthz answered 503")
        #expect(entry?.details["consecutive_failures"] == "3")
    }

    @Test func maxUnhealthyTargetsIsTheTargetHealthThreshold() {
        let report = TargetHealthReport(targets: [.init(instanceId: "i-1", state: "unhealthy", reason: "Target.FailedHealthChecks"),
                                                  .init(instanceId: "i-2", state: "healthy"), .init(instanceId: "i-3", state: "draining")])
        #expect(report.check(maxUnhealthy: 2).passed)
        let failed = report.check(maxUnhealthy: 1)
        #expect(!failed.passed)
        #expect(failed.evidence == "1/3 targets healthy; i-1 unhealthy (Target.FailedHealthChecks), i-3 draining")
    }

    @Test func effectFailureGoingForwardStartsARollbackNamingTheEffect() {
        var sim = Simulation(makeDeployment())
        sim.answer = { effect, _ in
            effect == .setWeights(green: 50) ? .effectFailed(effect, message: "ValidationError: nope") : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.d.rollbackReason == "setting the listener to 50% green failed: ValidationError: nope")
    }

    @Test func listenerRefusedDuringRollbackEndsFailedSayingWhereTrafficIs() {
        var sim = shifting()
        sim.answer = { effect, _ in
            effect == .restoreBlue ? .effectFailed(effect, message: "AccessDenied") : Simulation.natural(effect)
        }
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "a"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .failed)
        #expect(sim.d.failureReason == "moving all traffic back to blue failed during rollback: AccessDenied. Traffic is where the last confirmed step left it: blue 90% / green 10%. Retry with `switchyard rollback d1`.")
        #expect(!sim.effects.contains(.removeGreen))
    }

    @Test func greenThatCannotBeDeletedAfterTrafficIsBackSaysBlueServes() {
        var sim = shifting()
        sim.answer = { effect, _ in effect == .removeGreen ? .effectFailed(effect, message: "ResourceInUse") : Simulation.natural(effect) }
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "a"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .failed)
        #expect(sim.d.failureReason?.contains("Traffic is 100% on blue web-blue.") == true)
    }

    @Test func failingCheckWhilePausedRollsBack() {
        var sim = Simulation(makeDeployment(steps: [.weight(10, bake: .zero), .pause, .weight(100, bake: .zero)]))
        sim.run(limit: 100, stopAtPause: true)
        #expect(sim.d.state == .paused)
        sim.answer = { effect, _ in
            effect == .runChecks ? .checksObserved([CheckResult(name: "alarm:web-5xx", passed: false, evidence: "alarm web-5xx is ALARM")]) : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.d.rollbackReason?.contains("alarm web-5xx is ALARM") == true)
    }
}

@Suite struct MachineTableTests {
    static let events: [Event] = [
        .begun, .groupRetired("x"), .launchTemplateVersionReady(9), .greenGroupReady,
        .capacityObserved(CapacityReport(desired: 2, inService: 2, instances: 2)), .targetHealthObserved(healthy),
        .weightsConfirmed(green: 50), .promotionConfirmed, .greenRemoved, .promoteRequested,
    ]

    /// Which (state, event) pairs are meaningful; every other pair must change nothing.
    static func fits(_ state: DeploymentState, _ event: Event) -> Bool {
        switch (state, event) {
        case (.pending, .begun), (.launching, .groupRetired), (.launching, .launchTemplateVersionReady), (.launching, .greenGroupReady),
             (.waitingForCapacity, .capacityObserved), (.checkingHealth, .targetHealthObserved), (.shifting, .weightsConfirmed),
             (.promoting, .promotionConfirmed), (.rollingBack, .greenRemoved), (.paused, .promoteRequested):
            return true
        default:
            return false
        }
    }

    @Test(arguments: DeploymentState.allCases)
    func eventsThatDoNotFitChangeNothing(_ state: DeploymentState) {
        var d = makeDeployment()
        d.state = state
        for event in Self.events where !Self.fits(state, event) {
            let t = Machine.apply(d, event, now: start.addingTimeInterval(5))
            #expect(t.deployment == d, "\(state) changed on \(event)")
            #expect(t.log == nil)
        }
    }

    @Test(arguments: [DeploymentState.completed, .rolledBack, .failed])
    func terminalStatesAreFinal(_ state: DeploymentState) {
        var d = makeDeployment()
        d.state = state
        #expect(Machine.decide(d, now: start) == .done)
        for event in Self.events + [.rollbackRequested(reason: "r", actor: "a"), .effectFailed(.restoreBlue, message: "m")] {
            #expect(Machine.apply(d, event, now: start).deployment == d)
        }
    }

    @Test(arguments: DeploymentState.allCases.filter { !$0.isTerminal && $0 != .rollingBack })
    func everyActiveStateCanRollBack(_ state: DeploymentState) {
        var d = makeDeployment()
        d.state = state
        let t = Machine.apply(d, .rollbackRequested(reason: "r", actor: "a"), now: start)
        #expect(t.deployment.state == .rollingBack)
        #expect(t.log?.from == state)
    }
}
