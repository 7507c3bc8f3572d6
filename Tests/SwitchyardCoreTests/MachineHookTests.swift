import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct MachineHookTests {
    func withHooks(_ hooks: Hooks, steps: [DeploymentSpec.Step] = [.weight(10, bake: .seconds(60)), .weight(50, bake: .seconds(60)), .weight(100, bake: .seconds(30))]) -> Deployment {
        var d = makeDeployment(steps: steps)
        d.plan.spec.hooks = hooks
        return d
    }

    /// A simulation where a hook's outcome is chosen by the test; every hook run is recorded with the weight it saw.
    func simulate(_ d: Deployment, failing: Set<String> = [], stopAtPause: Bool = false) -> (Simulation, [(String, Int)]) {
        var sim = Simulation(d)
        var runs: [(String, Int)] = []
        sim.answer = { effect, d in
            guard case .runHook(let ref) = effect else { return Simulation.natural(effect) }
            runs.append((ref.key, d.greenWeight))
            return .hookFinished(ref, HookResult(exitCode: failing.contains(ref.key) ? 1 : 0, output: "line 1\nline 2\nsmoke failed: 503 from /healthz\n"))
        }
        sim.run(stopAtPause: stopAtPause)
        return (sim, runs)
    }

    @Test func hooksRunAtTheirPointsInOrder() {
        let d = withHooks(Hooks(beforeTraffic: [Hook(run: ["smoke"], onFailure: .rollback)], afterStep: [Hook(run: ["load"], onFailure: .rollback)],
                                beforePromotion: [Hook(run: ["ticket"], onFailure: .rollback)], afterPromotion: [Hook(run: ["tell"], onFailure: .ignore)]))
        let (sim, runs) = simulate(d)
        #expect(sim.d.state == .completed)
        #expect(runs.map(\.0) == ["before_traffic[1]", "after_step[1]@0", "after_step[1]@1", "after_step[1]@2", "before_promotion[1]", "after_promotion[1]"])
        #expect(runs.map(\.1) == [0, 10, 50, 100, 100, 100], "each after_step hook sees its step's confirmed weight")
        // The promotion hooks run around the promotion: before the test route and green's release, after the read-back.
        let kinds = sim.effects.map(\.kind)
        #expect(kinds.firstIndex(of: "runHook") ?? 0 < kinds.firstIndex(of: "setSplit") ?? 0)
        #expect(sim.effects.suffix(2) == [.confirmPromotion, .runHook(HookRef(point: .afterPromotion, index: 0))])
        #expect(sim.d.finishedHooks?.count == 6 && sim.d.runningHook == nil)
        #expect(sim.log.contains { $0.message.hasPrefix("running the after_step hook 1 for step 2/3 at 50% green: load") })
    }

    @Test func aFailingBeforeTrafficHookRollsBackBeforeAnyTrafficMoves() throws {
        let d = withHooks(Hooks(beforeTraffic: [Hook(run: ["smoke"], onFailure: .rollback)], afterRollback: [Hook(run: ["page"], onFailure: .ignore)]))
        let (sim, runs) = simulate(d, failing: ["before_traffic[1]"])
        #expect(sim.d.state == .rolledBack)
        #expect(sim.weights.isEmpty, "no weight ever changed: \(sim.weights)")
        #expect(!sim.effects.contains { if case .setSplit = $0 { return true } else { return false } })
        #expect(runs.map(\.0) == ["before_traffic[1]", "after_rollback[1]"])
        let reason = try #require(sim.d.rollbackReason)
        #expect(reason.contains("before_traffic hook 1 (smoke) exited 1") && reason.contains("smoke failed: 503 from /healthz"))
        let entry = try #require(sim.log.first { $0.to == .rollingBack })
        #expect(entry.details["exit_code"] == "1" && entry.details["output"]?.contains("line 1") == true && entry.details["check"] == "hook:before_traffic")
    }

    @Test func pauseWaitsAndPromoteGoesOnWithoutSkippingAStepOrRerunningTheHook() throws {
        let d = withHooks(Hooks(beforeTraffic: [Hook(run: ["smoke"], onFailure: .pause)], afterStep: [Hook(run: ["load"], onFailure: .pause)]))
        var (sim, runs) = simulate(d, failing: ["before_traffic[1]", "after_step[1]@1"], stopAtPause: true)
        #expect(sim.d.state == .paused && sim.d.hookPause == .shifting && sim.d.greenWeight == 0)
        #expect(sim.log.last?.message.contains("`switchyard promote d1` goes on past it") == true)
        sim.d = Machine.apply(sim.d, .promoteRequested, now: sim.now).deployment
        sim.run(limit: 1)
        #expect(sim.d.state == .shifting && sim.d.stepIndex == 0 && sim.d.hookPause == nil)
        sim.run(stopAtPause: true)
        #expect(sim.d.state == .paused && sim.d.stepIndex == 1 && sim.d.greenWeight == 50, "the first step was not skipped")
        sim.d = Machine.apply(sim.d, .promoteRequested, now: sim.now).deployment
        let before = sim.effects.count
        sim.run(limit: 1)
        #expect(sim.d.state == .shifting && sim.d.stepIndex == 1 && sim.d.greenWeight == 50)
        sim.run()
        #expect(sim.d.state == .completed)
        runs = sim.effects.dropFirst(before).compactMap { if case .runHook(let ref) = $0 { return (ref.key, 0) } else { return nil } }
        #expect(runs.map(\.0) == ["after_step[1]@2"], "the failed hook did not run again after promote")
        #expect(sim.weights == [10, 50, 100])
    }

    @Test func ignoreGoesOnAndAfterTheEndAFailureOnlyLogs() {
        var hooks = Hooks(afterStep: [Hook(run: ["load"], onFailure: .ignore)], afterPromotion: [Hook(run: ["tell"], onFailure: .ignore)])
        let (sim, _) = simulate(withHooks(hooks), failing: ["after_step[1]@0", "after_promotion[1]"])
        #expect(sim.d.state == .completed && sim.d.rollbackReason == nil)
        #expect(sim.log.contains { $0.message.contains("after_promotion hook 1 (tell) exited 1") && $0.message.contains("the release is over") })
        // Even a hook stored with `rollback` there (the parser refuses it) cannot undo a finished promotion.
        hooks.afterPromotion = [Hook(run: ["tell"], onFailure: .rollback)]
        let (again, _) = simulate(withHooks(hooks), failing: ["after_promotion[1]"])
        #expect(again.d.state == .completed)
    }

    @Test func aFailingBeforePromotionHookRollsBackFromPromoting() {
        let (sim, _) = simulate(withHooks(Hooks(beforePromotion: [Hook(run: ["ticket"], onFailure: .rollback)])), failing: ["before_promotion[1]"])
        #expect(sim.d.state == .rolledBack && sim.d.rollbackReason?.contains("before_promotion hook 1 (ticket) exited 1") == true)
        #expect(!sim.effects.contains(.confirmPromotion))
    }

    @Test func aStartedHookRunsAgainAfterACrashAndAFinishedOneNever() throws {
        let d = withHooks(Hooks(beforeTraffic: [Hook(run: ["smoke"], onFailure: .rollback)], afterStep: [Hook(run: ["load"], onFailure: .rollback)]))
        var sim = Simulation(d)
        // Up to the first after_step hook stored as started: the process dies there.
        for _ in 0..<100 where sim.d.runningHook != "after_step[1]@0" {
            switch Machine.decide(sim.d, now: sim.now) {
            case .transition(let t): sim.take(t)
            case .perform(let effect): sim.take(Machine.apply(sim.d, Simulation.natural(effect), now: sim.now))
            case .wait(let until): sim.now = until
            case .done: break
            }
        }
        #expect(sim.d.finishedHooks == ["before_traffic[1]"])
        let seen = Observation(weights: [tgA: 90, tgB: 10], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        let r = Machine.reconcile(sim.d, observed: seen, actor: "ops", now: sim.now)
        #expect(r.log.message.contains("hook after_step[1]@0 had not finished; running it again"))
        var resumed = Simulation(r.deployment)
        resumed.now = sim.now
        resumed.run()
        let hooks = resumed.effects.compactMap { if case .runHook(let ref) = $0 { return ref.key } else { return nil } }
        #expect(hooks == ["after_step[1]@0", "after_step[1]@1", "after_step[1]@2"], "before_traffic, finished, never runs again")
        #expect(resumed.d.state == .completed)
    }

    @Test func anInterruptedHookStaysStartedAndARollbackForgetsIt() {
        var d = withHooks(Hooks(beforeTraffic: [Hook(run: ["smoke"], onFailure: .rollback)]))
        d.state = .shifting
        guard case .transition(let started) = Machine.decide(d, now: start) else { Issue.record("expected the start to be stored"); return }
        let ref = HookRef(point: .beforeTraffic, index: 0)
        #expect(started.deployment.runningHook == ref.key)
        #expect(Machine.decide(started.deployment, now: start) == .perform(.runHook(ref)))
        let stopped = Machine.apply(started.deployment, .hookInterrupted(ref), now: start)
        #expect(stopped.deployment.runningHook == ref.key && stopped.log?.message.contains("runs again on `switchyard resume d1`") == true)
        let rolled = Machine.apply(stopped.deployment, .rollbackRequested(reason: "no", actor: "ops"), now: start)
        #expect(rolled.deployment.runningHook == nil)
    }

    @Test func theEnvironmentDescribesTheReleaseAndNothingElse() {
        var d = withHooks(Hooks(afterStep: [Hook(run: ["x"], onFailure: .ignore)]))
        d.plan.spec.checks.http = .init(url: "http://alb/healthz", testRoute: .init(header: "X-Canary"))
        d.stepIndex = 1
        d.greenWeight = 50
        let env = Hook.environment(d, HookRef(point: .afterStep, index: 0, step: 1))
        #expect(env == [
            "SWITCHYARD_HOOK": "after_step", "SWITCHYARD_DEPLOYMENT_ID": "d1", "SWITCHYARD_SERVICE": "web", "SWITCHYARD_AMI": "ami-22222222",
            "SWITCHYARD_STEP": "2", "SWITCHYARD_STEPS": "3", "SWITCHYARD_GREEN_WEIGHT": "50", "SWITCHYARD_GREEN_TARGET_GROUP": tgB,
            "SWITCHYARD_BLUE_TARGET_GROUP": tgA, "SWITCHYARD_GREEN_ASG": "switchyard-web-d1", "SWITCHYARD_BLUE_ASG": "web-blue",
            "SWITCHYARD_REGION": "us-east-1", "SWITCHYARD_TEST_ROUTE_HEADER": "X-Canary: green",
        ])
        d.progress.insert(.testRouteRemoved)
        #expect(Hook.environment(d, HookRef(point: .afterRollback, index: 0))["SWITCHYARD_TEST_ROUTE_HEADER"] == nil)
        #expect(env["SWITCHYARD_LOAD_BALANCER_NAME"] == nil)
    }

    /// Behind a shared Classic Load Balancer a hook gets its name, and no pool id posing as a target group's ARN.
    @Test func aSharedClassicLoadBalancerIsNamedToHooksByItsName() {
        var d = withHooks(Hooks(afterStep: [Hook(run: ["x"], onFailure: .ignore)]))
        d.plan.spec.traffic = .init(shared: .init(classicLoadBalancer: "web-clb"))
        d.plan.greenPool = "loadbalancer/web-clb"
        d.plan.blue.pool = "loadbalancer/web-clb"
        let env = Hook.environment(d, HookRef(point: .afterStep, index: 0, step: 1))
        #expect(env["SWITCHYARD_LOAD_BALANCER_NAME"] == "web-clb")
        #expect(env["SWITCHYARD_GREEN_TARGET_GROUP"] == "" && env["SWITCHYARD_BLUE_TARGET_GROUP"] == "")
    }
}

extension MachineHookTests {
    @Test func aHookTouchesNoAWSButStartsOnlyUnderTheLease() {
        let effect = Effect.runHook(HookRef(point: .beforeTraffic, index: 0))
        #expect(!effect.writesAWS && effect.needsLease && effect.kind == "runHook")
        #expect(!Effect.runChecks.needsLease && Effect.setSplit(green: 10).needsLease)
    }
}
