import Foundation
@testable import SwitchyardCore
import Testing

/// Runs the housekeeping of a terminal deployment to its end, answering every effect naturally (or with `answer`).
func housekeep(_ d: Deployment, now: Date, answer: (Effect, Deployment) -> Event = { effect, _ in Simulation.natural(effect) })
    -> (effects: [Effect], d: Deployment, now: Date) {
    var d = d
    var now = now
    var effects: [Effect] = []
    for _ in 0..<500 {
        guard let decision = Machine.housekeeping(d, now: now) else { break }
        switch decision {
        case .transition(let t): d = t.deployment
        case .wait(let until): now = until
        case .perform(let effect):
            effects.append(effect)
            d = Machine.apply(d, answer(effect, d), now: now).deployment
        case .done: return (effects, d, now)
        }
    }
    return (effects, d, now)
}

/// A deployment whose listener changes take `settle` to reach clients (`traffic.settle`).
func settled(_ settle: TimeSpan = .seconds(15), steps: [DeploymentSpec.Step] = [.weight(10, bake: .seconds(60)), .weight(50, bake: .seconds(60)), .weight(100, bake: .seconds(30))],
             retire: [String] = []) -> Deployment {
    var d = makeDeployment(steps: steps, retire: retire)
    d.plan.settle = settle
    return d
}

/// A release rolling back whose green had traffic, the listener confirmed at 100 % blue at `start`.
func restored(_ d: Deployment) -> Deployment {
    var d = d
    d.state = .rollingBack
    d.progress.insert(.trafficRestored)
    d.progress.insert(.greenServed)
    d.trafficRestoredAt = start
    return d
}

/// A target of a deregistered fleet as DescribeTargetHealth lists it.
func target(_ id: String, _ state: String) -> TargetHealthReport.Target { .init(instanceId: id, state: state) }

/// Every fleet that loses traffic is deregistered only once clients cannot reach it, and removed only once it drained;
/// a bake counts from when the step is live; the test route is trusted only once it is live and proven.
@Suite struct MachineSettleTests {
    let green = "switchyard-web-d1"

    @Test func eachStepBakesFromItsConfirmationPlusTheSettleAndRecordsBoth() {
        var sim = Simulation(settled())
        var confirmations: [(confirmed: Date, live: Date)] = []
        var baked: [Date] = []
        while sim.d.state != .completed {
            let before = sim.log.count
            sim.run(limit: 1)
            for entry in sim.log[before...] {
                if entry.message.hasPrefix("step"), entry.details["live_at"] != nil, let confirmed = sim.d.weightsConfirmedAt, let live = sim.d.bakeStartedAt {
                    confirmations.append((confirmed, live))
                    #expect(entry.message.contains("the bake starts once it is live, after traffic.settle 15s (settling until "))
                }
                if entry.message.contains("baked") { baked.append(sim.now) }
            }
        }
        #expect(confirmations.count == 3 && baked.count == 3)
        for ((confirmed, live), done) in zip(confirmations, baked) {
            #expect(live == confirmed.addingTimeInterval(15))
            #expect(done >= live)
        }
        #expect(baked[0].timeIntervalSince(confirmations[0].live) == 60)
        // 150 s of bake plus 3 × 15 s of settle.
        #expect(sim.now == start.addingTimeInterval(150 + 45))
    }

    @Test func checksDuringTheSettleDoNotLetAStepMoveOn() {
        var d = settled(steps: [.weight(10, bake: .zero), .weight(100, bake: .zero)])
        d.state = .shifting
        let confirmed = Machine.apply(d, .splitConfirmed(green: 10), now: start).deployment
        let checked = Machine.apply(confirmed, .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok")]),
                                    now: start.addingTimeInterval(10)).deployment
        // A zero bake still needs a tick of checks under the live step: the one during the settle judged the old one.
        #expect(Machine.decide(checked, now: start.addingTimeInterval(14)) == .wait(until: start.addingTimeInterval(15)))
        #expect(Machine.decide(checked, now: start.addingTimeInterval(15)) == .perform(.runChecks))
    }

    @Test func noCheckRunsDuringTheSettleAStepsChecksStartWhenItIsLive() {
        var d = settled(steps: [.weight(10, bake: .seconds(60)), .weight(100, bake: .zero)])
        d.state = .shifting
        let confirmed = Machine.apply(d, .splitConfirmed(green: 10), now: start).deployment
        let interval = d.plan.spec.checks.interval.seconds
        #expect(interval < 15)
        // One interval after the confirmation the step is not live yet: the checks would judge the step before.
        #expect(Machine.decide(confirmed, now: start.addingTimeInterval(interval)) == .wait(until: start.addingTimeInterval(15)))
        // Nor does a resume's recheck run then.
        var resumed = confirmed
        resumed.recheckAfterResume = true
        #expect(Machine.decide(resumed, now: start.addingTimeInterval(interval)) == .wait(until: start.addingTimeInterval(15)))
        #expect(Machine.decide(confirmed, now: start.addingTimeInterval(15)) == .perform(.runChecks))
        // A whole release: every check of a step runs at or after that step's live time.
        var sim = Simulation(settled())
        var checkedAt: [(Date, Date)] = []
        while !sim.d.state.isTerminal {
            let before = sim.effects.count
            sim.run(limit: 1)
            if sim.effects.count > before, sim.effects.last == .runChecks, sim.d.state == .shifting, let live = sim.d.bakeStartedAt { checkedAt.append((sim.now, live)) }
        }
        #expect(!checkedAt.isEmpty)
        #expect(checkedAt.allSatisfy { $0.0 >= $0.1 }, "\(checkedAt)")
    }

    @Test func aRollbackMovesTrafficAtOnceAndRemovesGreenOnlyAfterSettleDeregistrationAndDrain() {
        var sim = Simulation(settled())
        sim.run(limit: 11)
        #expect(sim.d.state == .shifting && sim.d.greenWeight == 10)
        let asked = sim.now
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "latency", actor: "ops"), now: sim.now))
        var at: [Effect: Date] = [:]
        var registered = [target("i-1", "draining"), target("i-2", "draining")]
        sim.answer = { effect, d in
            if case .observeDrain(let group) = effect { return .drainObserved(fleet: group, targets: registered) }
            return Simulation.natural(effect)
        }
        while !sim.d.state.isTerminal {
            let before = sim.effects.count
            sim.run(limit: 1)
            if sim.effects.count > before, let effect = sim.effects.last, at[effect] == nil { at[effect] = sim.now }
            // AWS reports draining until the delay is over, then nothing.
            if let until = sim.d.removal?.drainUntil, sim.now >= until { registered = [] }
        }
        #expect(sim.d.state == .rolledBack)
        let restored = at[.restoreBlue]!
        #expect(restored == asked, "traffic goes back to blue at once")
        let deregistered = at[.deregisterFleet(green)]!
        #expect(deregistered == restored.addingTimeInterval(15), "green is deregistered once clients can no longer reach it")
        let removed = at[.removeGreen]!
        #expect(removed == deregistered.addingTimeInterval(300), "in-flight requests get the target group's deregistration delay")
        #expect(sim.log.contains { $0.message.hasPrefix("green \(green) leaves service: settling until ") })
        #expect(sim.log.contains { $0.message.hasPrefix("\(green) deregistered (detached from \(tgB)); draining until ") })
    }

    @Test func theDrainEndsAsSoonAsNoTargetIsRegistered() {
        var sim = Simulation(settled())
        sim.run(limit: 11)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "r", actor: "ops"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .rolledBack)
        let removed = sim.log.firstIndex { $0.message.hasPrefix("green group \(green) scaled to 0 and deleted") }
        let drained = sim.log.firstIndex { $0.message == "\(green) drained: none of its instances is registered any more" }
        #expect(drained != nil && removed != nil && drained! < removed!)
    }

    @Test func aStaleHealthyReadAfterDeregistrationIsWaitedOutNotTakenAsDrained() {
        var sim = Simulation(restored(settled()))
        var reads = 0
        sim.answer = { effect, _ in
            if case .observeDrain(let group) = effect {
                reads += 1
                return .drainObserved(fleet: group, targets: reads == 1 ? [target("i-1", "healthy")] : [])
            }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.effects.filter { $0 == .observeDrain(green) }.count == 2)
    }

    @Test func targetsStillListedDrainingPastTheDelayAreWaitedForNotTakenAsDrained() {
        // Auto Scaling sends the deregistration after the detach's answer, so the load balancer's delay may end after
        // ours: green goes only once AWS lists none of its targets.
        var sim = Simulation(restored(settled(.zero)))
        var reads = 0
        let delay = start.addingTimeInterval(300)
        sim.answer = { effect, d in
            if case .observeDrain(let group) = effect {
                reads += 1
                // Listed draining until two looks after our delay ended.
                let past = d.removal?.registered != nil && (d.removal?.nextObservationAt ?? .distantPast) > delay
                if past { reads += 100 }
                return .drainObserved(fleet: group, targets: reads < 200 ? [target("i-1", "draining")] : [])
            }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.now > delay, "green is removed only once no target of it is listed, not when our delay ends")
        #expect(!sim.log.contains { $0.message.contains("target(s)") })
        #expect(sim.log.contains { $0.message == "\(green) drained: none of its instances is registered any more" })
    }

    @Test func targetsStillListedDrainingPastTheGraceStopTheRemovalAndGreenStays() {
        var sim = Simulation(restored(settled(.zero)))
        sim.answer = { effect, _ in
            if case .observeDrain(let group) = effect { return .drainObserved(fleet: group, targets: [target("i-1", "draining")]) }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .failed)
        #expect(!sim.effects.contains(.removeGreen))
        #expect(sim.now >= start.addingTimeInterval(300 + Machine.drainGrace))
        #expect(sim.d.failureReason?.contains("still has 1 target registered") == true, "\(sim.d.failureReason ?? "")")
        #expect(sim.d.failureReason?.contains("i-1 draining") == true)
    }

    @Test func aTargetStillServingPastTheDrainFailsTheRollbackAndGreenStays() {
        var sim = Simulation(restored(settled(.zero)))
        sim.answer = { effect, _ in
            if case .observeDrain(let group) = effect { return .drainObserved(fleet: group, targets: [target("i-1", "healthy")]) }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .failed)
        #expect(!sim.effects.contains(.removeGreen))
        #expect(sim.now >= start.addingTimeInterval(300 + Machine.drainGrace))
        #expect(sim.d.failureReason?.contains("still has 1 target registered") == true)
        #expect(sim.d.failureReason?.contains("i-1 healthy") == true)
        // A retried rollback detaches green again (someone may have attached it back), drains from there, and removes
        // green once it reads drained.
        sim.answer = { effect, _ in Simulation.natural(effect) }
        let before = sim.effects.count
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "retry", actor: "ops"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(Array(sim.effects[before...]) == [.deregisterFleet(green), .observeDrain(green), .removeGreen])
    }

    @Test func aGreenThatNeverTookTrafficIsDeregisteredAndRemovedWithoutWaiting() {
        var sim = Simulation(settled())
        sim.answer = { effect, _ in
            switch effect {
            case .observeGreenHealth: return .greenHealthObserved(TargetHealthReport(targets: [target("i-1", "unhealthy")]))
            case .observeDrain(let group): return .drainObserved(fleet: group, targets: [target("i-1", "draining")])
            default: return Simulation.natural(effect)
            }
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.d.rollbackReason?.contains("checks.healthy_timeout") == true)
        let rolledBackAt = start.addingTimeInterval(300)
        #expect(sim.now.timeIntervalSince(rolledBackAt) < 11, "no settle, no drain: green never had a client")
        #expect(sim.effects.contains(.deregisterFleet(green)))
    }

    @Test func theTestRouteIsTrustedOnlyOnceLiveAndProvenByThresholdPassingProbes() {
        var d = settled()
        d.plan.spec.checks.http = .init(url: "http://alb.internal/healthz", failureThreshold: 3, testRoute: .init())
        var sim = Simulation(d)
        let clock = Box(start)
        var probes: [Date] = []
        sim.answer = { effect, d in
            switch effect {
            case .observeGreenHealth, .runChecks:
                probes.append(clock.now)
                // The second probe after the route went live fails: the count starts again.
                let afterLive = probes.filter { $0 >= (d.testRouteLiveAt ?? .distantFuture) }.count
                let passed = afterLive != 2
                let http = CheckResult(name: "http", passed: passed, evidence: passed ? "200" : "503", threshold: 3)
                if effect == .runChecks { return .checksObserved([CheckResult(name: "target-health", passed: true, evidence: "ok"), http]) }
                return .greenHealthObserved(healthy, checks: [http])
            default: return Simulation.natural(effect)
            }
        }
        var created: Date?
        var firstWeight: Date?
        while !sim.d.state.isTerminal {
            clock.now = sim.now
            let before = sim.effects.count
            sim.run(limit: 1)
            guard sim.effects.count > before, let effect = sim.effects.last else { continue }
            if effect == .ensureTestRoute { created = sim.now }
            if effect == .setSplit(green: 10), firstWeight == nil { firstWeight = sim.now }
        }
        #expect(sim.d.state == .completed)
        let live = created!.addingTimeInterval(15)
        #expect(sim.d.testRouteLiveAt == live)
        // Ticks at +0 and +10 went before the rule was live; +20 passed, +30 failed, then +40, +50, +60 passed.
        #expect(Array(probes.prefix(7)) == (0..<7).map { created!.addingTimeInterval(Double($0) * 10) })
        #expect(firstWeight == created!.addingTimeInterval(60))
    }

    @Test func aFailingProbeThroughTheTestRouteStillRollsBackWhileItIsBeingProven() {
        var d = settled()
        d.plan.spec.checks.http = .init(url: "http://alb.internal/healthz", failureThreshold: 2, testRoute: .init())
        var sim = Simulation(d)
        sim.answer = { effect, _ in
            if effect == .observeGreenHealth {
                return .greenHealthObserved(healthy, checks: [CheckResult(name: "http", passed: false, evidence: "503", threshold: 2)])
            }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(!sim.effects.contains { if case .setSplit = $0 { return true } else { return false } })
        #expect(sim.d.rollbackReason?.contains("check http failed 2 times in a row") == true)
    }
}

/// A mutable time the answer closures read.
final class Box: @unchecked Sendable {
    var now: Date
    init(_ now: Date) { self.now = now }
}
