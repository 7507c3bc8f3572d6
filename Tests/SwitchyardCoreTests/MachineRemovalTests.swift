import Foundation
@testable import SwitchyardCore
import Testing

/// The removal progression on its own: blue's retirement after its retention, groups retired from green's target
/// group, a crash at every deadline, and what `status`/`show` are told.
@Suite struct MachineRemovalTests {
    let green = "switchyard-web-d1"

    /// A release completed with the given retention and settle, and its promotion time.
    func completed(retention: TimeSpan = .zero, settle: TimeSpan = .seconds(15)) -> (Deployment, Date) {
        var d = settled(settle, steps: [.weight(100, bake: .zero)])
        d.plan.spec.promotion.blueRetention = retention
        var sim = Simulation(d)
        sim.run()
        #expect(sim.d.state == .completed)
        return (sim.d, sim.d.promotedAt ?? .distantFuture)
    }

    /// DescribeTargetHealth as AWS answers a drain: `draining` until the delay is over, then nothing.
    func drainingUntil(_ until: @escaping (Deployment) -> Date?, now: Box) -> (Effect, Deployment) -> Event {
        { effect, d in
            guard case .observeDrain(let group) = effect else { return Simulation.natural(effect) }
            let end = until(d) ?? .distantPast
            return .drainObserved(fleet: group, targets: now.now < end ? [target("i-1", "draining"), target("i-2", "draining")] : [])
        }
    }

    @Test func blueIsRetiredAfterTheSettleFromPromotionAndAFullDrain() {
        let (d, promoted) = completed()
        let clock = Box(promoted)
        var now = promoted
        var d2 = d
        var seen: [(Effect, Date)] = []
        let answer = drainingUntil({ $0.removal?.drainUntil }, now: clock)
        while let decision = Machine.housekeeping(d2, now: now) {
            clock.now = now
            switch decision {
            case .transition(let t): d2 = t.deployment
            case .wait(let until): now = until
            case .perform(let effect):
                seen.append((effect, now))
                d2 = Machine.apply(d2, answer(effect, d2), now: now).deployment
            case .done: Issue.record("housekeeping never answers done")
            }
            if seen.count > 100 { break }
        }
        #expect(d2.blueRetiredAt != nil && d2.removal == nil)
        #expect(d2.updatedAt == d.updatedAt, "housekeeping after the end does not move the end")
        let deregistered = seen.first { $0.0 == .deregisterFleet("web-blue") }?.1
        let retired = seen.first { $0.0 == .retireBlue }?.1
        #expect(deregistered == promoted.addingTimeInterval(15))
        #expect(retired == promoted.addingTimeInterval(15 + 300))
    }

    @Test func aBlueWhoseTrafficLeftLongAgoIsRemovedOnceAWSListsNoneOfItsTargets() {
        let (d, promoted) = completed(retention: .minutes(30))
        let late = promoted.addingTimeInterval(3600)
        // A load balancer ends the drain of a target with nothing in flight at once: AWS lists none.
        let run = housekeep(d, now: late) { effect, _ in
            if case .observeDrain(let group) = effect { return .drainObserved(fleet: group, targets: []) }
            return Simulation.natural(effect)
        }
        #expect(run.effects == [.deregisterFleet("web-blue"), .observeDrain("web-blue"), .retireBlue])
        #expect(run.now == late)
    }

    @Test func aTargetStillListedDrainingKeepsItsFleetPastTheDelayAndStopsTheRetirementAfterTheGrace() {
        // However long ago its traffic left: the load balancer counts the delay from when it took the deregistration
        // (which Auto Scaling may send after the detach's answer), and a target it lists draining may have a request
        // in flight. Listed past the delay and the grace, the retirement stops and says so; blue stays.
        let (d, promoted) = completed(retention: .minutes(30))
        let late = promoted.addingTimeInterval(3600)
        // As gc does: it stops at the first look that leaves the removal stuck.
        var run = (effects: [Effect](), d: d, now: late)
        while let decision = Machine.housekeeping(run.d, now: run.now), run.d.removal?.stuck == nil, run.effects.count < 200 {
            switch decision {
            case .transition(let t): run.d = t.deployment
            case .wait(let until): run.now = until
            case .perform(let effect):
                run.effects.append(effect)
                let event: Event = if case .observeDrain(let group) = effect { .drainObserved(fleet: group, targets: [target("i-1", "draining")]) }
                    else { Simulation.natural(effect) }
                run.d = Machine.apply(run.d, event, now: run.now).deployment
            case .done: Issue.record("housekeeping never answers done")
            }
        }
        #expect(run.effects.first == .deregisterFleet("web-blue"))
        #expect(!run.effects.contains(.retireBlue))
        #expect(run.now >= late.addingTimeInterval(300 + Machine.drainGrace), "kept while listed, through the delay and the grace")
        #expect(run.d.removal?.stuck?.contains("still has 1 target registered") == true, "\(run.d.removal?.stuck ?? "")")
        #expect(run.d.removal?.stuck?.contains("i-1 draining") == true)
    }

    @Test func aKilledRetirementGoesOnFromTheStoredDeadlinesAndNeverEarly() throws {
        let (d, promoted) = completed()
        // gc stored the start and the deregistration, then was killed.
        var record = d
        let settleEnd = promoted.addingTimeInterval(15)
        guard case .transition(let begun) = Machine.housekeeping(record, now: promoted) else { Issue.record("no start"); return }
        record = begun.deployment
        #expect(record.removal?.settleUntil == settleEnd)
        #expect(Machine.housekeeping(record, now: promoted.addingTimeInterval(5)) == .wait(until: settleEnd))
        record = Machine.apply(record, .fleetDeregistered(fleet: "web-blue", pools: [tgA], delaySeconds: 300), now: settleEnd).deployment
        let stored = try JSONDecoder().decode(Deployment.self, from: JSONEncoder().encode(record))
        #expect(stored.removal == record.removal)
        // The next gc, 100 s later: it looks at the drain, and waits only what is left of the delay.
        let later = settleEnd.addingTimeInterval(100)
        #expect(Machine.housekeeping(stored, now: later) == .perform(.observeDrain("web-blue")))
        let looked = Machine.apply(stored, .drainObserved(fleet: "web-blue", targets: [target("i-1", "draining")]), now: later).deployment
        guard case .wait(let until) = Machine.housekeeping(looked, now: later) else { Issue.record("no wait"); return }
        #expect(until <= settleEnd.addingTimeInterval(300) && until > later)
        // However often it looks, blue goes only once the delay is over.
        var now = later
        var current = looked
        while now < settleEnd.addingTimeInterval(300) {
            let decision = Machine.housekeeping(current, now: now)
            #expect(decision != .perform(.retireBlue), "blue removed \(now.timeIntervalSince(settleEnd)) s into a 300 s drain")
            if case .wait(let until) = decision { now = until }
            else { current = Machine.apply(current, .drainObserved(fleet: "web-blue", targets: [target("i-1", "draining")]), now: now).deployment }
        }
        current = Machine.apply(current, .drainObserved(fleet: "web-blue", targets: [target("i-1", "draining")]), now: now).deployment
        #expect(Machine.housekeeping(current, now: now) != .perform(.retireBlue), "still listed draining at the delay's end")
        current = Machine.apply(current, .drainObserved(fleet: "web-blue", targets: []), now: now).deployment
        #expect(Machine.housekeeping(current, now: now) == .perform(.retireBlue))
    }

    @Test func undoIsRefusedOnceBlueHasBegunToLeave() {
        let (d, promoted) = completed(retention: .minutes(30))
        #expect(d.blueRetained(at: promoted))
        var leaving = d
        leaving.removal = FleetRemoval(group: "web-blue", trafficLeftAt: promoted, settle: .seconds(15), now: promoted)
        #expect(!leaving.blueRetained(at: promoted))
    }

    @Test func aResumeMidSettleWaitsOnlyWhatIsLeft() throws {
        var sim = Simulation(settled())
        sim.run(limit: 11)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "ops"), now: sim.now))
        while sim.d.removal == nil { sim.run(limit: 1) }
        let settleEnd = try #require(sim.d.removal?.settleUntil)
        #expect(settleEnd == sim.d.trafficRestoredAt?.addingTimeInterval(15))
        // Killed here; resumed 5 s later, AWS shows green at 0.
        let seen = Observation(weights: [tgA: 100, tgB: 0], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        let resumedAt = sim.now.addingTimeInterval(5)
        let r = Machine.reconcile(sim.d, observed: seen, actor: "ops@box", now: resumedAt)
        #expect(r.unsafe == nil)
        #expect(Machine.decide(r.deployment, now: resumedAt) == .wait(until: settleEnd))
        #expect(Machine.decide(r.deployment, now: settleEnd) == .perform(.deregisterFleet(green)))
    }

    @Test func aResumeMidDrainLooksAgainAndNeverRemovesBeforeTheDelay() throws {
        var sim = Simulation(settled())
        sim.run(limit: 11)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "ops"), now: sim.now))
        while sim.d.removal?.deregisteredAt == nil { sim.run(limit: 1) }
        let until = try #require(sim.d.removal?.drainUntil)
        let deregistered = try #require(sim.d.removal?.deregisteredAt)
        #expect(until == deregistered.addingTimeInterval(300))
        let seen = Observation(weights: [tgA: 100, tgB: 0], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        var d = Machine.reconcile(sim.d, observed: seen, actor: "ops@box", now: deregistered.addingTimeInterval(120)).deployment
        var now = deregistered.addingTimeInterval(120)
        var removedAt: Date?
        for _ in 0..<100 {
            switch Machine.decide(d, now: now) {
            case .wait(let t): now = t
            case .transition(let t): d = t.deployment
            case .perform(.removeGreen): removedAt = now
            case .perform(let effect):
                let event = effect == .observeDrain(green)
                    ? Event.drainObserved(fleet: green, targets: now < until ? [target("i-1", "draining")] : [])
                    : Simulation.natural(effect)
                d = Machine.apply(d, event, now: now).deployment
            case .done: break
            }
            if removedAt != nil { break }
        }
        #expect(removedAt == until)
    }

    @Test func aResumeThatFindsGreenWeightedAgainRestoresBlueAndStartsTheRemovalOver() {
        var sim = Simulation(settled())
        sim.run(limit: 11)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "ops"), now: sim.now))
        while sim.d.removal == nil { sim.run(limit: 1) }
        // Someone put 10 % back on green by hand before the resume.
        let seen = Observation(weights: [tgA: 90, tgB: 10], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        let r = Machine.reconcile(sim.d, observed: seen, actor: "ops@box", now: sim.now.addingTimeInterval(60))
        #expect(r.deployment.removal == nil && !r.deployment.reached(.trafficRestored))
        #expect(Machine.decide(r.deployment, now: sim.now.addingTimeInterval(60)) == .perform(.restoreBlue))
    }

    @Test func groupsRetiredFromGreensTargetGroupSettleFromTheDeploymentsCreation() {
        var sim = Simulation(settled(retire: ["old-a"]))
        var deregistered: Date?
        while !sim.d.state.isTerminal, deregistered == nil {
            let before = sim.effects.count
            sim.run(limit: 1)
            if sim.effects.count > before, sim.effects.last == .deregisterFleet("old-a") { deregistered = sim.now }
        }
        #expect(deregistered == start.addingTimeInterval(15))
        sim.run()
        #expect(sim.d.state == .completed && sim.d.retiredGroups == ["old-a"] && sim.d.removal == nil)
    }

    @Test func aRollbackFinishesARetirementItInterruptedOnceDeregisteredAndDropsAnUntouchedOne() {
        var d = settled(retire: ["old-a"])
        d.state = .launching
        d.removal = FleetRemoval(group: "old-a", trafficLeftAt: start, settle: .seconds(15), now: start)
        var sim = Simulation(Machine.startRollback(d, now: start, reason: "operator").deployment)
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(!sim.effects.contains(.retireFleet("old-a")) && !sim.effects.contains(.deregisterFleet("old-a")))
        #expect(sim.log.contains { $0.message == "retiring old-a left off: it was not deregistered yet, and stays as it is" })

        d.removal?.deregisteredAt = start
        d.removal?.drainUntil = start
        d.removal?.pools = [tgB]
        sim = Simulation(Machine.startRollback(d, now: start, reason: "operator").deployment)
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.effects.contains(.retireFleet("old-a")))
        #expect(sim.d.retiredGroups == ["old-a"])
        let retired = sim.effects.firstIndex(of: .retireFleet("old-a")) ?? 0
        let greenGone = sim.effects.firstIndex(of: .removeGreen) ?? 0
        #expect(retired < greenGone)
    }

    @Test func withRoute53GreenStaysTheRecordsTTLThenIsDeregisteredAndDrained() {
        var d = makeDeployment()
        d.plan.trafficSettleSeconds = 30
        var sim = Simulation(d)
        sim.run(limit: 11)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "ops"), now: sim.now))
        var at: [Effect: Date] = [:]
        while !sim.d.state.isTerminal {
            let before = sim.effects.count
            sim.run(limit: 1)
            if sim.effects.count > before, let effect = sim.effects.last, at[effect] == nil { at[effect] = sim.now }
        }
        #expect(at[.deregisterFleet(green)] == at[.restoreBlue]?.addingTimeInterval(30))
        #expect(at[.removeGreen] != nil && at[.removeGreen]! >= at[.deregisterFleet(green)]!)
    }

    @Test func removingTheTestRouteDuringARollbackPushesGreensSettle() {
        var d = settled()
        d.plan.spec.checks.http = .init(url: "http://alb.internal/healthz", testRoute: .init())
        var sim = Simulation(d)
        sim.run(limit: 16)
        #expect(sim.d.state == .shifting)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "ops"), now: sim.now))
        var restored: Date?
        var routeGone: Date?
        var deregistered: Date?
        while !sim.d.state.isTerminal {
            let before = sim.effects.count
            sim.run(limit: 1)
            guard sim.effects.count > before, let effect = sim.effects.last else { continue }
            if effect == .restoreBlue { restored = sim.now }
            if effect == .removeTestRoute { routeGone = sim.now }
            if effect == .deregisterFleet(green) { deregistered = sim.now }
            // A second passes between the two writes.
            if effect == .restoreBlue { sim.now = sim.now.addingTimeInterval(1) }
        }
        #expect(restored != nil && routeGone == restored!.addingTimeInterval(1))
        #expect(deregistered == routeGone?.addingTimeInterval(15), "requests carrying the header reach green until the rule's deletion is live")
    }

    @Test func aPairRollbackDeregistersAndDrainsTheIdleGroupBeforeGivingItBack() {
        var d = settled()
        d.plan.greenGroup = "web-green"
        d.plan.pair = PairPlan(groups: ["web-blue", "web-green"], greenBefore: GroupSettings(
            name: "web-green", templateId: "lt-1", templateVersion: "2", minSize: 0, maxSize: 4, desiredCapacity: 0,
            suspendedProcesses: [], pools: [tgB]))
        var sim = Simulation(d)
        sim.run(limit: 11)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "ops"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .rolledBack)
        let tail = Array(sim.effects.drop { $0 != .restoreBlue })
        #expect(Array(tail.prefix(4)) == [.restoreBlue, .deregisterFleet("web-green"), .observeDrain("web-green"), .removeGreen])
    }

    @Test func thePhaseSaysSettlingDeregisteringDrainingAndRemoving() {
        var r = FleetRemoval(group: green, trafficLeftAt: start, settle: .seconds(15), now: start)
        #expect(r.phase(at: start) == .settling(until: start.addingTimeInterval(15)))
        #expect(r.phase(at: start.addingTimeInterval(15)) == .deregistering)
        r.deregisteredAt = start.addingTimeInterval(15)
        r.drainUntil = start.addingTimeInterval(45)
        r.registered = [target("i-1", "draining"), target("i-2", "draining")]
        #expect(r.phase(at: start.addingTimeInterval(20)) == .draining(targets: 2, until: start.addingTimeInterval(45)))
        r.drained = true
        #expect(r.phase(at: start.addingTimeInterval(50)) == .removing)
        #expect(FleetRemoval(group: green, trafficLeftAt: nil, settle: .seconds(15), now: start).phase(at: start) == .deregistering)
    }

    @Test func eventsForAnotherGroupChangeNoRemoval() {
        var d = settled()
        d.state = .rollingBack
        d.removal = FleetRemoval(group: green, trafficLeftAt: start, settle: .seconds(15), now: start)
        let other = Machine.apply(d, .fleetDeregistered(fleet: "someone-else", pools: [tgB], delaySeconds: 10), now: start)
        #expect(other.deployment == d && other.log == nil)
        let early = Machine.apply(d, .drainObserved(fleet: green, targets: []), now: start)
        #expect(early.deployment.removal?.drained == nil, "a look before the deregistration proves nothing")
    }
}
