import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct HandChangeTests {
    func shiftingAt10() -> Deployment {
        var d = makeDeployment()
        d.state = .shifting
        d.progress.insert(.greenServed)
        d.greenWeight = 10
        d.stepIndex = 1
        return d
    }

    @Test func aReadOtherThanTheLastWriteAndTheTargetIsAChangeByHand() {
        let d = shiftingAt10()
        let expected = ReadConsistency.expected(d)
        #expect(expected == [tgA: 90, tgB: 10])
        #expect(ReadConsistency.isHandChange([tgA: 100, tgB: 0], expected: expected, blue: tgA, green: tgB, target: 50))
        #expect(ReadConsistency.isHandChange(["tg-maint": 100], expected: expected, blue: tgA, green: tgB, target: 50))
        #expect(!ReadConsistency.isHandChange([tgA: 90, tgB: 10], expected: expected, blue: tgA, green: tgB, target: 50))
        // Already at the target (a write that landed before a crash): writing it again changes nothing.
        #expect(!ReadConsistency.isHandChange([tgA: 50, tgB: 50], expected: expected, blue: tgA, green: tgB, target: 50))
    }

    @Test func aForwardLeftAtTheStepBeforeByAWriteStoppedHalfWayIsNoChangeByHand() {
        // Resumed after a crash mid-write: the record adopted 50 from the forward that took it; another is still at 10.
        var d = shiftingAt10()
        d.greenWeight = 50
        #expect(ReadConsistency.previousStep(d) == 10)
        let expected = ReadConsistency.expected(d)
        #expect(!ReadConsistency.isHandChange([tgA: 90, tgB: 10], expected: expected, blue: tgA, green: tgB, target: 50, previous: 10))
        #expect(ReadConsistency.isHandChange([tgA: 100], expected: expected, blue: tgA, green: tgB, target: 50, previous: 10))
    }

    @Test func aChangeByHandPausesNamingItAndLeavesTheWeightsAsRecorded() {
        let d = shiftingAt10()
        let change = TrafficChange(resource: "listener \(listener)", expected: [tgA: 90, tgB: 10], found: [tgA: 100, tgB: 0])
        let t = Machine.apply(d, .trafficChangedByHand(change), now: start)
        #expect(t.deployment.state == .paused && t.deployment.handChange == change && t.deployment.greenWeight == 10)
        #expect(t.log?.message.contains("traffic changed by hand: listener \(listener) forwards \(tgA)=100%") == true)
        #expect(t.log?.details["found"] == "\(tgA)=100%")
        // Paused, the checks go on; nothing is written.
        #expect(Machine.decide(t.deployment, now: start) == .perform(.runChecks))
    }

    @Test func acceptingAdoptsTheSplitFoundAndGoesOnComparingWithIt() {
        var d = shiftingAt10()
        let change = TrafficChange(resource: "listener \(listener)", expected: [tgA: 90, tgB: 10], found: [tgA: 100, tgB: 0])
        d = Machine.apply(d, .trafficChangedByHand(change), now: start).deployment
        let t = Machine.apply(d, .acceptCurrentRequested(actor: "ops@host"), now: start)
        #expect(t.deployment.state == .shifting && t.deployment.handChange == nil)
        #expect(t.deployment.greenWeight == 0 && t.deployment.trafficBaseline == [tgA: 100, tgB: 0])
        #expect(ReadConsistency.expected(t.deployment) == [tgA: 100, tgB: 0])
        #expect(Machine.decide(t.deployment, now: start) == .perform(.setSplit(green: 50)))
        // The next write's confirmation ends the baseline: from then on the record's weights count.
        let written = Machine.apply(t.deployment, .splitConfirmed(green: 50), now: start)
        #expect(written.deployment.trafficBaseline == nil)
    }

    @Test func promotingWritesTheNextStepOverTheChangeWithoutAdoptingIt() {
        var d = shiftingAt10()
        let change = TrafficChange(resource: "listener \(listener)", expected: [tgA: 90, tgB: 10], found: ["tg-maint": 100])
        d = Machine.apply(d, .trafficChangedByHand(change), now: start).deployment
        d = Machine.apply(d, .promoteRequested, now: start).deployment
        guard case .transition(let t) = Machine.decide(d, now: start) else { Issue.record("no transition"); return }
        #expect(t.deployment.state == .shifting && t.deployment.greenWeight == 10 && t.deployment.trafficBaseline == ["tg-maint": 100])
        #expect(t.deployment.stepIndex == 1, "the step that was about to be written, not the one after")
    }

    @Test func acceptingOutsideAPauseByHandChangesNothing() {
        let d = shiftingAt10()
        #expect(Machine.apply(d, .acceptCurrentRequested(actor: "ops"), now: start).deployment == d)
    }
}

extension HandChangeTests {
    @Test func aThirdTargetGroupThePauseAlreadyNamesIsNoStrangerToResumeOrRollback() {
        var d = shiftingAt10()
        let seen = Observation(weights: ["tg-maint": 100], blueExists: true, blueInService: 2, greenExists: true, greenInService: 2, greenDesired: 2)
        #expect(Machine.reconcile(d, observed: seen, actor: "a", now: start).unsafe != nil, "unknown: someone else's change, not safe")
        let change = TrafficChange(resource: "listener \(listener)", expected: [tgA: 90, tgB: 10], found: ["tg-maint": 100])
        d = Machine.apply(d, .trafficChangedByHand(change), now: start).deployment
        let r = Machine.reconcile(d, observed: seen, actor: "a", now: start)
        #expect(r.unsafe == nil && r.deployment.state == .paused && r.deployment.handChange == change)
    }
}
