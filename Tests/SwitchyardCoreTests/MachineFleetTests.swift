import Foundation
@testable import SwitchyardCore
import Testing

/// The fleet effects in the machine: blue pinned before green's version exists, every copy after green exists and
/// before its capacity is judged, green released before promotion is confirmed, blue's capacity read before traffic
/// returns to it and blue restored last.
@Suite struct MachineFleetTests {
    static let fleet = FleetPlan(copies: [.lifecycleHooks, .suspendedProcesses, .scalingPolicies, .scheduledActions],
                                 items: ["scaling policy cpu50 (TargetTrackingScaling)"], blueSuspendedProcesses: ["AZRebalance"],
                                 pinnedProcesses: ["ScheduledActions"], blueTemplateVersion: "$Latest")

    func dressed(steps: [DeploymentSpec.Step] = [.weight(10, bake: .seconds(60)), .weight(100, bake: .seconds(30))]) -> Deployment {
        var d = makeDeployment(steps: steps)
        d.plan.fleet = Self.fleet
        return d
    }

    func distinct(_ effects: [Effect]) -> [Effect] { effects.reduce(into: [Effect]()) { if $0.last != $1 { $0.append($1) } } }

    @Test func aReleaseOfADressedBluePinsCopiesAndReleasesInOrder() {
        var sim = Simulation(dressed())
        sim.run()
        #expect(sim.d.state == .completed)
        #expect(distinct(sim.effects) == [.begin, .pinBlue, .ensureGreenTemplate, .ensureGreenFleet(template: 4),
                                          .copyToGreen(.lifecycleHooks), .copyToGreen(.suspendedProcesses), .copyToGreen(.scalingPolicies),
                                          .copyToGreen(.scheduledActions), .observeCapacity, .observeGreenHealth,
                                          .setSplit(green: 10), .runChecks, .setSplit(green: 100), .runChecks, .releaseGreen, .confirmPromotion])
        #expect(sim.d.reached(.bluePinned) && sim.d.reached(.greenReleased))
        #expect(sim.d.greenCopies == Self.fleet.copies)
        #expect(sim.log.contains { $0.message == "copied to green: scaling_policies" && $0.details["copy"] == "scaling_policies" })
        #expect(sim.log.contains { $0.message == "blue web-blue pinned for the release: MinSize 2 (was 1)" })
    }

    @Test func eachCopyRunsOnceAndACopyNotRecordedRunsAgain() {
        var d = dressed()
        d.state = .waitingForCapacity
        d.greenTemplateVersion = 4
        d.greenCopies = [.lifecycleHooks]
        #expect(Machine.decide(d, now: start) == .perform(.copyToGreen(.suspendedProcesses)))
        // A crash after the call but before the save: the record still asks for the same copy.
        #expect(Machine.decide(d, now: start) == .perform(.copyToGreen(.suspendedProcesses)))
        d = Machine.apply(d, .copiedToGreen(.suspendedProcesses, summary: "x"), now: start).deployment
        #expect(Machine.decide(d, now: start) == .perform(.copyToGreen(.scalingPolicies)))
        d.greenCopies = Self.fleet.copies
        #expect(Machine.decide(d, now: start) == .perform(.observeCapacity))
    }

    @Test func aRollbackReadsBlueBeforeTrafficReturnsAndRestoresBlueLast() {
        var sim = Simulation(dressed())
        sim.answer = { effect, _ in
            if case .setSplit(let green) = effect, green == 100 { return .effectFailed(effect, message: "listener refused") }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        let tail = Array(distinct(sim.effects).suffix(6))
        #expect(tail == [.restoreBlue, .observeBlue, .deregisterFleet("switchyard-web-d1"), .observeDrain("switchyard-web-d1"), .removeGreen, .restoreBlueFleet])
        #expect(sim.d.reached(.blueRestored))
        #expect(sim.d.blueCapacityAtRollback == CapacityReport(desired: 2, inService: 2, instances: 2))
        #expect(sim.log.contains { $0.message == "blue web-blue has 2 InService instances (2 when the release started): it carries the traffic back" })
    }

    @Test func aBlueShortOfCapacityIsLoggedAsAWarningAndTrafficStillReturns() {
        var sim = Simulation(dressed())
        sim.answer = { effect, _ in
            if case .setSplit(let green) = effect, green == 100 { return .effectFailed(effect, message: "listener refused") }
            if effect == .observeBlue { return .blueObserved(CapacityReport(desired: 1, inService: 1, instances: 1)) }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        let warning = sim.log.first { $0.message.hasPrefix("warning: blue web-blue has only 1 InService instances (2 when the release started)") }
        #expect(warning?.details["blue_in_service"] == "1")
        #expect(sim.effects.contains(.restoreBlue))
    }

    @Test func aBlueThatCannotBeRestoredFailsTheRollbackWithTrafficOnBlue() {
        var sim = Simulation(dressed())
        sim.answer = { effect, _ in
            if case .setSplit(let green) = effect, green == 100 { return .effectFailed(effect, message: "listener refused") }
            if effect == .restoreBlueFleet { return .effectFailed(effect, message: "AccessDenied") }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .failed)
        #expect(sim.d.failureReason?.contains("Traffic is 100% on blue web-blue") == true)
        #expect(sim.d.failureReason?.contains("switchyard rollback d1") == true)
    }

    @Test func recordsMadeBeforeFleetsWereCopiedGoOnAsTheyBegan() throws {
        var sim = Simulation(makeDeployment())
        sim.run()
        #expect(!sim.effects.contains(.pinBlue) && !sim.effects.contains(.releaseGreen))
        // And they decode: a stored record without any of the new keys.
        let encoded = try JSONEncoder().encode(makeDeployment())
        var json = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        var plan = try #require(json["plan"] as? [String: Any])
        var spec = try #require(plan["spec"] as? [String: Any])
        var fleet = try #require(spec["fleet"] as? [String: Any])
        fleet["otherTargetGroups"] = nil
        fleet["launchTemplateDefault"] = nil
        spec["fleet"] = fleet
        plan["spec"] = spec
        plan["fleet"] = nil
        json["plan"] = plan
        let old = try JSONSerialization.data(withJSONObject: json)
        let decoded = try JSONDecoder().decode(Deployment.self, from: old)
        #expect(decoded.plan.fleet == nil)
        #expect(decoded.plan.spec.fleet.otherPools == .refuse && decoded.plan.spec.fleet.templateDefault == .keep)
        #expect(!decoded.reached(.bluePinned) && decoded.greenCopies == nil)
    }

    @Test func theFleetPlanSaysWhatToResumeAndWhatGreenRunsWith() {
        #expect(Self.fleet.blueFloats)
        #expect(Self.fleet.greenProcessesDuringRelease == ["AZRebalance", "ScheduledActions"])
        #expect(Self.fleet.processesToResume == ["ScheduledActions"])
        let own = FleetPlan(blueSuspendedProcesses: ["ScheduledActions"], pinnedProcesses: ["ScheduledActions"], blueTemplateVersion: "7")
        #expect(own.processesToResume == [] && !own.blueFloats)
    }
}
