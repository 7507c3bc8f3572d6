import Foundation
@testable import SwitchyardCore
import Testing

/// The machine's side of the scale-out pattern (`traffic.shared`): steps reached over several looks, bounded in time,
/// checked while they are reached; a rollback that waits for blue and fails rather than remove the only fleet serving.
@Suite struct MachineSharedTests {
    func shared() -> Deployment {
        var d = makeDeployment(steps: [.weight(25, bake: .seconds(60)), .weight(100, bake: .seconds(30))])
        d.plan.spec.traffic = .init(shared: .init(targetGroup: tgA))
        d.plan.greenPool = tgA
        d.plan.shared = SharedPlan(startHealthy: 2)
        d.plan.settle = .zero
        return Deployment(id: d.id, plan: d.plan, fileDigest: "x", actor: "a@b", now: start)
    }

    /// Green is created at 0 and goes from its capacity wait straight to the steps (no health gate for no instance);
    /// the record says it is format 2.
    @Test func greenStartsAtZeroAndTheFirstStepIsScaledTo() {
        var d = shared()
        #expect(d.recordFormat == 2 && d.plan.greenLaunchCapacity == 0)
        d.state = .waitingForCapacity
        d = Machine.apply(d, .capacityObserved(CapacityReport(desired: 0, inService: 0, instances: 0)), now: start).deployment
        #expect(d.state == .shifting && d.reached(.greenServed))
        #expect(Machine.decide(d, now: start) == .perform(.setSplit(green: 25)))
    }

    /// Behind a Classic Load Balancer the record is format 3: a switchyard that knows only format 2 would read its
    /// pool id as a target group's ARN, so it refuses the record instead.
    @Test func aClassicLoadBalancersRecordIsFormat3() {
        var d = makeDeployment(steps: [.weight(100, bake: .zero)])
        d.plan.spec.traffic = .init(shared: .init(classicLoadBalancer: "web-clb"))
        d.plan.greenPool = "loadbalancer/web-clb"
        d.plan.shared = SharedPlan(startHealthy: 2)
        #expect(Deployment(id: d.id, plan: d.plan, fileDigest: "x", actor: "a@b", now: start).recordFormat == 3)
        #expect(shared().recordFormat == 2, "a target group's stays 2: older switchyards read it")
    }

    /// A look that is not there yet is looked at again after the interval, the step's total kept from its first look;
    /// the confirmation starts the bake and makes that total the next step's base.
    @Test func aStepIsLookedAtAgainUntilConfirmed() {
        var d = shared()
        d.state = .shifting
        d = Machine.apply(d, .splitProgressing(green: 25, summary: "green scaled out from 0 to 1", total: 2), now: start).deployment
        #expect(d.shareTotal == 2 && d.greenWeight == 0)
        #expect(Machine.decide(d, now: start) == .wait(until: start.addingTimeInterval(10)))
        let later = start.addingTimeInterval(10)
        #expect(Machine.decide(d, now: later) == .perform(.setSplit(green: 25)))
        d = Machine.apply(d, .splitProgressing(green: 25, summary: "blue i-1 deregistered", total: 3, healthy: 1), now: later).deployment
        #expect(d.shareTotal == 2, "the first look's total stands for the whole step")
        #expect(d.shareHealthySeen == 1, "the next look is told what this one saw of green")
        d = Machine.apply(d, .splitConfirmed(green: 25), now: later.addingTimeInterval(10)).deployment
        #expect(d.greenWeight == 25 && d.shareTotal == nil && d.shareBase == 2 && d.bakeStartedAt != nil && d.shareHealthySeen == nil)
    }

    /// A step that does not get there within fleet.capacity_timeout + checks.healthy_timeout rolls back.
    @Test func aStepNotReachedInTimeRollsBack() {
        var d = shared()
        d.state = .shifting
        let limit = start.addingTimeInterval(600 + 300)
        #expect(Machine.decide(d, now: limit.addingTimeInterval(-1)) == .perform(.setSplit(green: 25)))
        guard case .transition(let t) = Machine.decide(d, now: limit) else { Issue.record("no rollback"); return }
        #expect(t.deployment.state == .rollingBack && t.deployment.rollbackReason?.contains("did not reach 25% green") == true)
    }

    /// A runner resumed long after it stopped gives the step (and a rollback's restore of blue) its whole bound from the
    /// resume, instead of rolling back (or failing) at once for time it was not running.
    @Test func aResumeGivesTheStepAndTheRestoreTheirWholeBound() {
        var d = shared()
        d.state = .shifting
        let hours = start.addingTimeInterval(3 * 3600)
        let observed = Observation(weights: [:], blueExists: true, blueInService: 2, greenExists: true, greenInService: 0, greenDesired: 1)
        var resumed = Machine.reconcile(d, observed: observed, actor: "a", now: hours).deployment
        #expect(Machine.decide(resumed, now: hours) == .perform(.setSplit(green: 25)))
        d = Machine.startRollback(d, now: start, reason: "check failed").deployment
        resumed = Machine.reconcile(d, observed: observed, actor: "a", now: hours).deployment
        #expect(Machine.decide(resumed, now: hours) == .perform(.restoreBlue))
    }

    /// While the next step is scaled to, green serves the step before's share: a check tick comes between two looks.
    @Test func checksRunBetweenLooksWhileGreenServes() {
        var d = shared()
        d.state = .shifting
        d.greenWeight = 25
        d.stepIndex = 1
        d.lastChecksAt = start
        d = Machine.apply(d, .splitProgressing(green: 100, summary: "green scaled out from 1 to 2", total: 2), now: start.addingTimeInterval(1)).deployment
        #expect(Machine.decide(d, now: start.addingTimeInterval(11)) == .perform(.runChecks))
        d = Machine.apply(d, .checksObserved([CheckResult(name: "alarm", passed: true, evidence: "OK")]), now: start.addingTimeInterval(11)).deployment
        #expect(Machine.decide(d, now: start.addingTimeInterval(21)) == .perform(.setSplit(green: 100)))
    }

    /// A rollback waits for blue, look by look; if blue never gets back in time it fails with green still serving,
    /// and nothing removes green.
    @Test func aRollbackThatCannotRestoreBlueFailsAndKeepsGreen() {
        var d = shared()
        d.state = .shifting
        d.greenWeight = 25
        d = Machine.startRollback(d, now: start, reason: "check failed").deployment
        #expect(Machine.decide(d, now: start) == .perform(.restoreBlue))
        d = Machine.apply(d, .splitProgressing(green: 0, summary: "blue scaled back from 1 to 2"), now: start).deployment
        #expect(!d.reached(.trafficRestored))
        #expect(Machine.decide(d, now: start.addingTimeInterval(10)) == .perform(.restoreBlue))
        guard case .transition(let t) = Machine.decide(d, now: start.addingTimeInterval(900)) else { Issue.record("no failure"); return }
        #expect(t.deployment.state == .failed && t.deployment.failureReason?.contains("green keeps its instances") == true)
        #expect(t.deployment.removal == nil && !t.deployment.reached(.greenRemoved))
    }
}

/// What the target-health check judges of green in a shared pool while a step scales it out
/// (`TargetHealthReport.sharedStepView`).
@Suite struct SharedStepViewTests {
    func target(_ id: String, _ state: String, _ lifecycle: String = "InService") -> TargetHealthReport.Target {
        .init(instanceId: id, state: state, reason: state == "healthy" ? nil : "Instance", lifecycleState: lifecycle)
    }

    /// The step took green from 2 to 4: the two it added read unhealthy while they boot; the check passes on the two
    /// that serve, and its evidence names the two it left out.
    @Test func theInstancesAStepAddsAreNotJudgedWhileTheyComeUp() {
        let report = TargetHealthReport(targets: [target("i-1", "healthy"), target("i-2", "healthy"),
                                                  target("i-3", "unhealthy"), target("i-4", "initial")])
        #expect(!report.check(maxUnhealthy: 0).passed)
        let view = report.sharedStepView(confirmed: 2)
        let result = view.check(maxUnhealthy: 0)
        #expect(result.passed, "\(result.evidence)")
        #expect(view.warmingUp?.map(\.instanceId).sorted() == ["i-3", "i-4"])
        #expect(result.evidence.contains("not judged yet") && result.evidence.contains("i-3 unhealthy") && result.evidence.contains("i-4 initial"))
    }

    /// No more are spared than the step added: a green instance that served and failed is judged, whichever of the
    /// unhealthy ones it is.
    @Test func anUnhealthyInstanceBeyondWhatTheStepAddedIsJudged() {
        let report = TargetHealthReport(targets: [target("i-1", "unhealthy"), target("i-2", "healthy"),
                                                  target("i-3", "unhealthy"), target("i-4", "healthy")])
        let view = report.sharedStepView(confirmed: 3)
        #expect(view.unhealthy.count == 1 && view.warmingUp?.count == 1)
        #expect(!view.check(maxUnhealthy: 0).passed)
        #expect(view.check(maxUnhealthy: 1).passed)
        // At the confirmed count, nothing is spared: a bake's unhealthy instance is a failing green.
        let baked = TargetHealthReport(targets: [target("i-1", "unhealthy"), target("i-2", "healthy")]).sharedStepView(confirmed: 2)
        #expect(baked.warmingUp == nil && !baked.check(maxUnhealthy: 0).passed)
    }

    /// `initial` is never judged, even beyond what the step added (as before), and it uses up the spare count;
    /// instances coming or going are reported, not judged, and take none of it.
    @Test func initialIsNeverJudgedAndUsesTheSpareCountFirst() {
        let report = TargetHealthReport(targets: [target("i-1", "healthy"), target("i-2", "initial"), target("i-3", "initial"),
                                                  target("i-4", "unhealthy"), target("i-5", "healthy", "Pending")])
        let view = report.sharedStepView(confirmed: 2)
        #expect(view.warmingUp?.map(\.instanceId) == ["i-2", "i-3"])
        #expect(view.unhealthy.map(\.instanceId) == ["i-4"] && view.changing.map(\.instanceId) == ["i-5"])
        // Every one still unready with none healthy: no healthy instance fails the check, as before.
        let none = TargetHealthReport(targets: [target("i-1", "unhealthy")]).sharedStepView(confirmed: 0)
        #expect(none.unhealthy.isEmpty && !none.check(maxUnhealthy: 0).passed)
    }
}
