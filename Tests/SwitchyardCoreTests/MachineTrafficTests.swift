import Foundation
@testable import SwitchyardCore
import Testing

/// The test route's lifecycle and sticky rollbacks, as decisions of the machine.
@Suite struct MachineTrafficTests {
    func withTestRoute(_ d: Deployment = makeDeployment()) -> Deployment {
        var d = d
        d.plan.spec.checks.http = .init(url: "http://alb.internal/healthz", testRoute: .init())
        return d
    }

    func sticky(_ d: Deployment = makeDeployment()) -> Deployment {
        var d = d
        d.plan.stickyForwards = [listener: 300]
        return d
    }

    func distinct(_ effects: [Effect]) -> [Effect] {
        effects.reduce(into: [Effect]()) { if $0.last != $1 { $0.append($1) } }
    }

    @Test func theTestRouteStandsBeforeGreenIsCheckedAndGoesBeforeTheReleaseCompletes() {
        var sim = Simulation(withTestRoute())
        sim.run()
        #expect(sim.d.state == .completed)
        let effects = distinct(sim.effects)
        let created = effects.firstIndex(of: .ensureTestRoute)
        let removed = effects.firstIndex(of: .removeTestRoute)
        #expect(created != nil && created! < effects.firstIndex(of: .observeCapacity)!)
        #expect(effects.filter { $0 == .ensureTestRoute }.count == 1)
        #expect(Array(effects.suffix(2)) == [.removeTestRoute, .confirmPromotion])
        #expect(removed != nil)
        #expect(sim.d.testRouteId != nil && sim.d.reached(.testRouteRemoved))
        #expect(sim.log.contains { $0.message.contains("test route: requests carrying X-Switchyard-Route: green") })
    }

    @Test func withoutATestRouteNoRuleIsTouched() {
        var sim = Simulation(makeDeployment())
        sim.run()
        #expect(!sim.effects.contains(.ensureTestRoute) && !sim.effects.contains(.removeTestRoute) && !sim.effects.contains(.restoreStickiness))
    }

    @Test func aRollbackRemovesTheTestRouteAfterBlueHasTheTrafficAndBeforeGreenGoes() {
        var sim = Simulation(withTestRoute())
        sim.run(limit: 14)
        #expect(sim.d.state == .shifting)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "latency", actor: "ops"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(Array(distinct(sim.effects).suffix(5)) == [.restoreBlue, .removeTestRoute, .deregisterFleet("switchyard-web-d1"), .observeDrain("switchyard-web-d1"), .removeGreen])
    }

    @Test func aRouteCreatedJustBeforeACrashIsStillRemovedByTheRollback() {
        // The rule exists in AWS but the record never heard of it (crash between CreateRule and the save).
        var d = withTestRoute()
        d.state = .waitingForCapacity
        #expect(Machine.decide(d, now: start) == .perform(.ensureTestRoute))
        var sim = Simulation(Machine.startRollback(d, now: start, reason: "operator").deployment)
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.effects.contains(.removeTestRoute), "removal looks for the rule by its shape, not by the record")
    }

    @Test func aRollbackThatFailsLeavesTheRouteForGC() {
        var d = withTestRoute()
        d.state = .rollingBack
        d.progress.insert(.trafficRestored)
        let failed = Machine.apply(d, .effectFailed(.removeTestRoute, message: "AccessDenied"), now: start).deployment
        #expect(failed.state == .failed)
        #expect(Machine.housekeeping(failed, now: start) == .perform(.removeTestRoute))
        let cleaned = Machine.apply(failed, .testRouteRemoved, now: start.addingTimeInterval(60))
        #expect(cleaned.deployment.reached(.testRouteRemoved) && cleaned.deployment.state == .failed)
        #expect(cleaned.deployment.updatedAt == failed.updatedAt, "housekeeping after the end does not move the end")
        #expect(Machine.housekeeping(cleaned.deployment, now: start) == nil)
    }

    @Test func aStickyRollbackTurnsStickinessBackOnOnlyOnceGreenIsGone() {
        var sim = Simulation(sticky())
        sim.run(limit: 12)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "latency", actor: "ops"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(Array(distinct(sim.effects).suffix(5)) == [.restoreBlue, .deregisterFleet("switchyard-web-d1"), .observeDrain("switchyard-web-d1"), .removeGreen, .restoreStickiness])
        #expect(sim.log.contains { $0.message == "listener read back at 100% blue; stickiness off until green is gone" })
        #expect(sim.log.contains { $0.message.contains("stickiness turned back on") })
    }

    @Test func undoingACompletedStickyReleaseAlsoRestoresStickiness() {
        var sim = Simulation(sticky(withTestRoute()))
        sim.run()
        #expect(sim.d.state == .completed)
        let before = sim.effects.count
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "undo", actor: "ops"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .rolledBack)
        // The route went at promotion; it is not looked for again.
        #expect(distinct(Array(sim.effects.dropFirst(before))) == [.restoreBlue, .deregisterFleet("switchyard-web-d1"), .observeDrain("switchyard-web-d1"), .removeGreen, .restoreStickiness])
    }

    @Test func recordsStoredBeforeTheseFieldsDecodeAsBefore() throws {
        let d = makeDeployment()
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(d)) as! [String: Any]
        var plan = json["plan"] as! [String: Any]
        plan.removeValue(forKey: "stickyForwards")
        json["plan"] = plan
        for key in ["testRouteId", "testRouteRemoved", "stickinessRestored"] { json.removeValue(forKey: key) }
        let old = try JSONDecoder().decode(Deployment.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.plan.spec.traffic.forwards == [.listener(listener)])
        #expect(!old.needsTestRoute && !old.testRouteMayStand && !old.needsStickinessRestored)
    }
}

@Suite struct ReconcileForwardsTests {
    @Test func forwardsLeftHalfShiftedAreAdoptedAtGreensHighestShareAndWrittenAgain() {
        var d = makeDeployment()
        d.state = .shifting
        d.stepIndex = 1
        d.greenWeight = 10
        d.bakeStartedAt = start
        // The 50% write reached the first listener, not the second, before the crash.
        let seen = Observation(weights: [tgA: 90, tgB: 50], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2,
                               disagreement: "listener a: a=50%, b=50%; listener b: a=90%, b=10%")
        let r = Machine.reconcile(d, observed: seen, actor: "ops", now: start.addingTimeInterval(5))
        #expect(r.unsafe == nil)
        #expect(r.log.message.contains("the forwards disagree (listener a: a=50%, b=50%; listener b: a=90%, b=10%)"))
        #expect(r.deployment.greenWeight == 50 && r.deployment.bakeStartedAt == nil)
        var next = r.deployment
        next = Machine.apply(next, .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok")]), now: start.addingTimeInterval(5)).deployment
        #expect(Machine.decide(next, now: start.addingTimeInterval(5)) == .perform(.setSplit(green: 50)), "the step is written to every forward again")
    }

    @Test func aRollbackThatStoppedHalfWayIsRestoredAgain() {
        var d = makeDeployment()
        d.state = .rollingBack
        d.progress.insert(.trafficRestored)
        let seen = Observation(weights: [tgA: 100, tgB: 50], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2,
                               disagreement: "listener a: a=100%; listener b: a=50%, b=50%")
        let r = Machine.reconcile(d, observed: seen, actor: "ops", now: start)
        #expect(!r.deployment.reached(.trafficRestored))
        #expect(Machine.decide(r.deployment, now: start) == .perform(.restoreBlue))
    }
}
