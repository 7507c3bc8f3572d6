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
        #expect(Array(sim.effects.suffix(4)) == [.restoreBlue, .deregisterFleet("switchyard-web-d1"), .observeDrain("switchyard-web-d1"), .removeGreen])
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
            effect == .setSplit(green: 50) ? .effectFailed(effect, message: "ValidationError: nope") : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.d.rollbackReason == "moving traffic to 50% green failed: ValidationError: nope")
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
        .begun, .fleetRetired("x"), .greenTemplateReady(9), .greenFleetReady,
        .capacityObserved(CapacityReport(desired: 2, inService: 2, instances: 2)), .greenHealthObserved(healthy),
        .splitConfirmed(green: 50), .promotionConfirmed, .greenRemoved, .promoteRequested, .blueRetired(by: nil),
    ]

    /// Which (state, event) pairs are meaningful; every other pair must change nothing.
    static func fits(_ state: DeploymentState, _ event: Event) -> Bool {
        switch (state, event) {
        case (.pending, .begun), (.launching, .fleetRetired), (.launching, .greenTemplateReady), (.launching, .greenFleetReady),
             (.waitingForCapacity, .capacityObserved), (.checkingHealth, .greenHealthObserved), (.shifting, .splitConfirmed),
             (.promoting, .promotionConfirmed), (.rollingBack, .greenRemoved), (.paused, .promoteRequested),
             (.completed, .blueRetired):
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

    /// Only an operator's rollback reopens a terminal deployment: a completed one while blue is retained, a failed one
    /// to retry. Nothing reopens a rolled-back one, and no other event touches any of them.
    @Test(arguments: [DeploymentState.completed, .rolledBack, .failed])
    func terminalStatesAreFinal(_ state: DeploymentState) {
        var d = makeDeployment()
        d.state = state
        d.blueRetiredAt = start
        #expect(Machine.decide(d, now: start) == .done)
        for event in Self.events + [.rollbackRequested(reason: "r", actor: "a"), .effectFailed(.restoreBlue, message: "m")] {
            let reopened = state == .failed && event == .rollbackRequested(reason: "r", actor: "a")
            #expect((Machine.apply(d, event, now: start).deployment == d) == !reopened, "\(state) on \(event)")
        }
        for next in DeploymentState.allCases where next != state {
            #expect(state.allows(next) == (next == .rollingBack && state != .rolledBack), "\(state) → \(next)")
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

@Suite struct MachineRetentionTests {
    func completed() -> Simulation {
        var sim = Simulation(makeDeployment())
        sim.run()
        #expect(sim.d.state == .completed && sim.d.greenWeight == 100)
        #expect(sim.d.retentionDeadline == sim.now.adding(sim.d.plan.spec.promotion.blueRetention))
        return sim
    }

    @Test func undoInsideTheRetentionWindowMovesTrafficBackAtOnceThenRemovesGreen() {
        var sim = completed()
        let before = sim.effects.count
        sim.now = sim.now.addingTimeInterval(60)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "bad release", actor: "ops@box"), now: sim.now))
        #expect(sim.d.state == .rollingBack)
        #expect(sim.log.last?.from == .completed)
        #expect(sim.log.last?.details["undo"] != nil)
        sim.run()
        #expect(sim.d.state == .rolledBack && sim.d.greenWeight == 0)
        // No scale-up wait and no checks: blue kept its capacity.
        #expect(Array(sim.effects[before...]) == [.restoreBlue, .deregisterFleet("switchyard-web-d1"), .observeDrain("switchyard-web-d1"), .removeGreen])
        #expect(sim.d.rollbackReason == "requested by ops@box: bad release")
    }

    @Test func afterTheWindowBlueIsRetiredOnceAndRollbackChangesNothing() {
        let sim = completed()
        let deadline = sim.d.retentionDeadline!
        #expect(Machine.housekeeping(sim.d, now: deadline.addingTimeInterval(-1)) == nil)
        #expect(sim.d.blueRetained(at: deadline.addingTimeInterval(-1)))
        let late = deadline.addingTimeInterval(1)
        #expect(!sim.d.blueRetained(at: late))
        let ignored = Machine.apply(sim.d, .rollbackRequested(reason: "too late", actor: "a"), now: late)
        #expect(ignored.deployment == sim.d && ignored.log == nil)
        #expect(housekeep(sim.d, now: late).effects == [.deregisterFleet("web-blue"), .observeDrain("web-blue"), .retireBlue])
        let retired = Machine.apply(sim.d, .blueRetired(by: nil), now: late)
        #expect(retired.deployment.state == .completed && retired.deployment.blueRetiredAt == late)
        #expect(retired.deployment.updatedAt == sim.d.updatedAt, "the release still finished at its promotion")
        #expect(retired.log?.message == "blue web-blue scaled to 0 and deleted: its retention ended")
        #expect(Machine.housekeeping(retired.deployment, now: late) == nil)
        #expect(Machine.apply(retired.deployment, .blueRetired(by: nil), now: late).log == nil)
    }

    @Test func aNewReleaseEndsTheRetentionEarlyAndSaysWhich() {
        let sim = completed()
        let t = Machine.apply(sim.d, .blueRetired(by: "20261124-010000-0002"), now: sim.now)
        #expect(!t.deployment.blueRetained(at: sim.now))
        #expect(t.log?.details["by_deployment"] == "20261124-010000-0002")
        #expect(t.log?.message.contains("retention ended early") == true)
    }

    @Test func aFailedRollbackCanBeRetriedAndSkipsWhatIsDone() {
        var sim = Simulation(makeDeployment())
        sim.run(limit: 12)
        sim.answer = { effect, _ in effect == .removeGreen ? .effectFailed(.removeGreen, message: "AccessDenied") : Simulation.natural(effect) }
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "a"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .failed && sim.d.reached(.trafficRestored))
        #expect(sim.d.failureReason?.contains("Traffic is 100% on blue web-blue") == true)
        sim.answer = { effect, _ in Simulation.natural(effect) }
        let before = sim.effects.count
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "retry", actor: "b"), now: sim.now))
        #expect(sim.d.state == .rollingBack && sim.d.failureReason == nil)
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(Array(sim.effects[before...]) == [.removeGreen])
    }
}

@Suite struct MachineChecksBeforeTrafficTests {
    @Test func aFiringAlarmBeforeTrafficRollsBackWithoutAnyWeight() {
        var sim = Simulation(makeDeployment())
        sim.answer = { effect, _ in
            effect == .observeGreenHealth
                ? .greenHealthObserved(healthy, checks: [CheckResult(name: "alarm:web-5xx", passed: false, evidence: "alarm web-5xx is ALARM: Threshold Crossed")])
                : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(!sim.effects.contains { if case .setSplit = $0 { return true } else { return false } })
        let rollback = sim.log.first { $0.to == .rollingBack }
        #expect(rollback?.from == .checkingHealth)
        #expect(rollback?.details["evidence"] == "alarm web-5xx is ALARM: Threshold Crossed")
    }

    @Test func aProbeFailureBelowItsThresholdWaitsAndASuccessResetsTheCount() {
        var d = makeDeployment()
        d.state = .checkingHealth
        let unhealthy = TargetHealthReport(targets: [.init(instanceId: "i-1", state: "initial")])
        let failing = CheckResult(name: "http", passed: false, evidence: "GET / failed: connection refused", threshold: 2)
        let passing = CheckResult(name: "http", passed: true, evidence: "GET / answered 200", threshold: 2)
        var t = Machine.apply(d, .greenHealthObserved(unhealthy, checks: [failing]), now: start)
        #expect(t.deployment.state == .checkingHealth && t.deployment.consecutiveFailures["http"] == 1)
        t = Machine.apply(t.deployment, .greenHealthObserved(unhealthy, checks: [passing]), now: start)
        #expect(t.deployment.consecutiveFailures["http"] == nil)
        t = Machine.apply(t.deployment, .greenHealthObserved(unhealthy, checks: [failing]), now: start)
        #expect(t.deployment.state == .checkingHealth)
        t = Machine.apply(t.deployment, .greenHealthObserved(healthy, checks: [failing]), now: start)
        #expect(t.deployment.state == .rollingBack)
        #expect(t.log?.details["consecutive_failures"] == "2")
    }
}
