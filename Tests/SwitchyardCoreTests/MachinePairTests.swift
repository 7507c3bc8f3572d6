import Foundation
@testable import SwitchyardCore
import Testing

/// `fleet.mode: pair` runs the same machine: the same effects in the same order, with an audit trail that says the
/// idle group was updated, given back or kept, never created or deleted.
@Suite struct MachinePairTests {
    func paired(steps: [DeploymentSpec.Step] = [.weight(10, bake: .seconds(60)), .weight(100, bake: .seconds(30))]) -> Deployment {
        var d = makeDeployment(steps: steps)
        d.plan.greenGroup = "web-green"
        d.plan.fleet = FleetPlan(blueTemplateVersion: "3")
        d.plan.pair = PairPlan(groups: ["web-blue", "web-green"], greenBefore: GroupSettings(
            name: "web-green", templateId: "lt-1", templateVersion: "2", minSize: 0, maxSize: 4, desiredCapacity: 0,
            suspendedProcesses: ["AZRebalance"], pools: [tgB]))
        return d
    }

    @Test func aPairReleaseRunsTheSameEffectsAsACloneWithoutCopies() {
        var pair = Simulation(paired())
        pair.run()
        var clone = Simulation(makeDeployment(steps: [.weight(10, bake: .seconds(60)), .weight(100, bake: .seconds(30))]))
        clone.d.plan.fleet = FleetPlan(blueTemplateVersion: "3")
        clone.run()
        #expect(pair.d.state == .completed)
        #expect(pair.effects == clone.effects)
        #expect(pair.log.contains { $0.message == "green group web-green of the pair set to launch template version 4 and desired capacity 2" })
    }

    @Test func aPairRollbackSaysGreenIsGivenBackAndKept() {
        var sim = Simulation(paired())
        sim.answer = { effect, _ in
            if case .runChecks = effect { return .checksObserved([CheckResult(name: "http", passed: false, evidence: "503")]) }
            return Simulation.natural(effect)
        }
        sim.run()
        #expect(sim.d.state == .rolledBack)
        #expect(sim.effects.contains(.removeGreen))
        #expect(sim.log.contains { $0.message.hasPrefix("green group web-green scaled back to 0/0/4 (min/desired/max) with its own launch template version 2") })
        #expect(sim.log.last?.message == "rolled back: traffic is 100% on blue web-blue, green web-green back as it was")
    }

    @Test func retiringAPairBlueAfterItsRetentionKeepsIt() {
        var d = paired()
        d.state = .completed
        d.retentionDeadline = start
        #expect(housekeep(d, now: start).effects == [.deregisterFleet("web-blue"), .observeDrain("web-blue"), .retireBlue])
        let t = Machine.apply(d, .blueRetired(by: nil), now: start)
        #expect(t.log?.message == "blue web-blue scaled to 0 and kept (pair mode): its retention ended")
    }
}
