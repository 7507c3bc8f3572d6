import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct LaunchFailureRuleTests {
    static func activity(_ id: String, _ status: String, _ message: String = "We currently do not have sufficient capacity", at seconds: TimeInterval = 0) -> LaunchActivity {
        LaunchActivity(id: id, statusCode: status, message: message, startedAt: start.addingTimeInterval(seconds))
    }

    @Test func failuresAreCountedFromTheNewestBackToTheLastSuccess() {
        let activities = [Self.activity("4", "Failed", "no capacity in us-east-1a"), Self.activity("3", "InProgress"), Self.activity("2", "Failed"),
                          Self.activity("1", "Successful"), Self.activity("0", "Failed")]
        #expect(LaunchFailureRule.failures(activities, since: nil) == LaunchFailures(inARow: 2, newestId: "4", message: "no capacity in us-east-1a"))
        #expect(!LaunchFailureRule.endsTheWait(LaunchFailureRule.failures(activities, since: nil)))
    }

    @Test func threeInARowEndTheWait() {
        let activities = (1...3).reversed().map { Self.activity(String($0), "Failed", "Invalid IAM Instance Profile name", at: Double($0)) }
        let failures = LaunchFailureRule.failures(activities, since: nil)
        #expect(failures?.inARow == 3 && failures?.newestId == "3")
        #expect(LaunchFailureRule.endsTheWait(failures))
    }

    @Test func aSuccessAsTheNewestMeansNothingFails() {
        #expect(LaunchFailureRule.failures([Self.activity("2", "Successful"), Self.activity("1", "Failed")], since: nil) == nil)
        #expect(LaunchFailureRule.failures([], since: nil) == nil)
    }

    @Test func activitiesFromBeforeTheReleaseDoNotCount() {
        let activities = [Self.activity("3", "Failed", at: 10), Self.activity("2", "Failed", at: -60), Self.activity("1", "Failed", at: -120)]
        #expect(LaunchFailureRule.failures(activities, since: start)?.inARow == 1)
    }

    @Test func theWaitForCapacityEndsAtTheThirdFailureNamingAWSsWords() {
        var sim = Simulation(makeDeployment())
        var observed = 0
        sim.answer = { effect, _ in
            guard effect == .observeCapacity else { return Simulation.natural(effect) }
            observed += 1
            let activities = (1...observed).reversed().map { Self.activity("a\($0)", "Failed", "We currently do not have sufficient t3.micro capacity") }
            return .capacityObserved(CapacityReport(desired: 2, inService: 0, instances: 0,
                                                    launchFailures: LaunchFailureRule.failures(activities, since: nil)))
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(observed == 3)
        let reason = sim.d.rollbackReason ?? ""
        #expect(reason.contains("3 launch activities in a row failed"), Comment(rawValue: reason))
        #expect(reason.hasSuffix("AWS says: We currently do not have sufficient t3.micro capacity"), Comment(rawValue: reason))
        #expect(sim.now < start.addingTimeInterval(60), "the 10 min capacity timeout was not waited out")
        // Each new failure was said once, in AWS's words.
        let said = sim.log.filter { $0.message.hasPrefix("green's launch failed") }.map(\.message)
        #expect(said == (1...3).map { "green's launch failed (\($0) in a row; the wait ends at 3): We currently do not have sufficient t3.micro capacity" })
    }

    @Test func theCapacityTimeoutReasonNamesTheLastFailure() {
        var sim = Simulation(makeDeployment())
        sim.answer = { effect, _ in
            guard effect == .observeCapacity else { return Simulation.natural(effect) }
            return .capacityObserved(CapacityReport(desired: 2, inService: 1, instances: 1,
                                                    launchFailures: LaunchFailures(inARow: 1, newestId: "x", message: "Invalid IAM Instance Profile name")))
        }
        sim.run()
        #expect(sim.d.rollbackReason?.contains("fleet.capacity_timeout 10m") == true)
        #expect(sim.d.rollbackReason?.contains("1 launch(es) in a row failed, the last: Invalid IAM Instance Profile name") == true)
    }
}

@Suite struct UnreachableAWSTests {
    static let refused = "autoscaling DescribeAutoScalingGroups at https://autoscaling.us-east-1.amazonaws.com: connection refused"

    func rollingBack() -> Simulation {
        var sim = Simulation(makeDeployment())
        sim.run(limit: 12)
        sim.take(Machine.apply(sim.d, .rollbackRequested(reason: "alarm", actor: "a"), now: sim.now))
        #expect(sim.d.state == .rollingBack && sim.d.greenWeight == 10)
        return sim
    }

    @Test func theBackoffIsCappedAt30Seconds() {
        #expect((1...8).map(EffectRetry.delay(after:)) == [1, 2, 4, 8, 16, 30, 30, 30])
    }

    @Test func aRollbackNeverGivesUpWhileAWSIsUnreachable() {
        var sim = rollingBack()
        var failures = 0
        sim.answer = { effect, _ in
            if effect == .restoreBlue, failures < 9 {
                failures += 1
                return .effectUnreachable(effect, message: Self.refused)
            }
            return Simulation.natural(effect)
        }
        let began = sim.now
        sim.run()
        #expect(sim.d.state == .rolledBack && sim.d.greenWeight == 0)
        #expect(failures == 9)
        let attempts = sim.log.filter { $0.message.contains("could not reach AWS (attempt ") }
        #expect(attempts.count == 9)
        #expect(attempts[0].message.hasPrefix("moving all traffic back to blue could not reach AWS (attempt 1): \(Self.refused); trying again in 1 s"),
                Comment(rawValue: attempts[0].message))
        #expect(attempts[8].details["retry_in_seconds"] == "30")
        // 1 + 2 + 4 + 8 + 16 + 30 * 4 seconds of waiting, never less.
        #expect(sim.now.timeIntervalSince(began) >= 151)
    }

    @Test func aRefusalStillEndsTheRollbackFailedWithTheCommandThatFinishesIt() {
        var sim = rollingBack()
        sim.answer = { effect, _ in
            effect == .restoreBlue ? .effectFailed(effect, message: "AccessDenied") : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .failed)
        #expect(sim.d.trafficUnsettled, "10% still on green: not over")
        #expect(sim.d.failureReason?.contains("switchyard rollback d1") == true)
    }

    @Test func retiringAGroupBeforeTheReleaseIsRetriedWhileItMayStandInGreensTargetGroup() {
        // Not yet detached from green's target group, and AWS out of reach for longer than fleet.capacity_timeout
        // (10 min): tried again and again, never rolled back; green is not made beside it.
        var detach = Simulation(makeDeployment(retire: ["web-old"]))
        var detachFailures = 0
        detach.answer = { effect, d in
            if case .deregisterFleet = effect, detachFailures < 30 {
                detachFailures += 1
                #expect(!d.reached(.greenGroupCreated), "green is not made while the old group may stand in its target group")
                return .effectUnreachable(effect, message: "no answer")
            }
            return Simulation.natural(effect)
        }
        detach.run()
        #expect(detach.d.state == .completed, Comment(rawValue: detach.log.map(\.message).joined(separator: "\n")))
        #expect(detach.now >= start.addingTimeInterval(700), "the retries went on past fleet.capacity_timeout")
        #expect(detach.d.retiredGroups == ["web-old"])
    }

    @Test func retireGroupUnreachablePastCapacityTimeoutIsNotRolledBack() {
        // The old group is detached and drained; its deletion stays busy (ResourceContention) for the whole busy limit,
        // 10 min, as long as fleet.capacity_timeout: the call fails only past it. The removal is left off (the group
        // serves nothing) and the release goes on to complete.
        var sim = Simulation(makeDeployment(retire: ["web-old"]))
        while true {
            let decision = Machine.decide(sim.d, now: sim.now)
            if case .perform(.retireFleet("web-old")) = decision { break }
            switch decision {
            case .perform(let effect): sim.take(Machine.apply(sim.d, Simulation.natural(effect), now: sim.now))
            case .transition(let t): sim.take(t)
            case .wait(let until): sim.now = until
            case .done: Issue.record("ended before the old group's deletion"); return
            }
        }
        sim.now = sim.d.phaseStartedAt.addingTimeInterval(601)
        sim.take(Machine.apply(sim.d, .effectUnreachable(.retireFleet("web-old"),
                                                         message: "autoscaling DeleteAutoScalingGroup: ResourceContention past the busy limit"), now: sim.now))
        sim.run()
        #expect(sim.d.state == .completed, Comment(rawValue: sim.log.map(\.message).joined(separator: "\n")))
        #expect(sim.d.rollbackReason == nil)
        #expect(sim.d.retiredGroups.isEmpty && sim.d.leftOffGroups == ["web-old"])
        #expect(!sim.effects.contains(.retireFleet("web-old")), "left off at once: the release does not wait on it again")
        #expect(sim.log.contains { $0.message.hasPrefix("retiring web-old left off: retiring web-old could not reach AWS") })
    }

    @Test func unreachableAWSAnywhereElseRollsBackAsAnyFailure() {
        var sim = Simulation(makeDeployment())
        sim.answer = { effect, _ in
            effect == .setSplit(green: 10) ? .effectUnreachable(effect, message: "no answer") : Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.d.rollbackReason == "set weights to 10% green failed: no answer" || sim.d.rollbackReason?.contains("no answer") == true)
    }

    @Test func onlyAFailedDeploymentWithGreenStillWeightedIsUnsettled() {
        var d = makeDeployment()
        d.state = .failed
        #expect(!d.trafficUnsettled)
        d.greenWeight = 10
        #expect(d.trafficUnsettled)
        d.progress.insert(.trafficRestored)
        #expect(!d.trafficUnsettled)
        d.progress.remove(.trafficRestored)
        d.state = .rolledBack
        #expect(!d.trafficUnsettled)
    }
}
