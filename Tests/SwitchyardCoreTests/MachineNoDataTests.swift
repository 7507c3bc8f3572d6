import AWSProvider
import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct MachineNoDataTests {
    func bakedWith(_ checks: [CheckResult]) -> Deployment {
        var d = makeDeployment()
        d.state = .shifting
        d.greenWeight = 10
        d.bakeStartedAt = start
        d.lastChecksAt = start.addingTimeInterval(50)
        d.lastChecks = checks
        return d
    }

    func starved(_ onNoData: MetricCheck.NoData) -> CheckResult {
        CheckResult(name: "metric:errors", passed: true, evidence: "errors: not enough data (green 1, blue 4 samples; min_samples 3)", onNoData: onNoData)
    }

    func transition(_ d: Deployment, at seconds: TimeInterval) -> Transition? {
        guard case .transition(let t) = Machine.decide(d, now: start.addingTimeInterval(seconds)) else { return nil }
        return t
    }

    @Test func onNoDataRollbackRollsBackOnceTheBakeIsOver() throws {
        let d = bakedWith([CheckResult(name: "target-health", passed: true, evidence: "ok"), starved(.rollback)])
        #expect(transition(d, at: 55) == nil, "no verdict before the bake is over")
        let t = try #require(transition(d, at: 60))
        #expect(t.deployment.state == .rollingBack)
        #expect(t.log?.details["check"] == "metric:errors" && t.log?.details["on_no_data"] == "rollback")
        #expect(t.log?.details["evidence"]?.contains("not enough data") == true)
    }

    @Test func onNoDataPauseWaitsForAnOperatorAndPromoteGoesOnToTheNextStep() throws {
        let d = bakedWith([starved(.pause)])
        let paused = try #require(transition(d, at: 60))
        #expect(paused.deployment.state == .paused && paused.deployment.stepIndex == 0)
        #expect(paused.log?.message.contains("not enough data when step 1/3 had baked at 10% green") == true)
        var asked = paused.deployment
        asked.promoteRequested = true
        let advanced = try #require(transition(asked, at: 70))
        #expect(advanced.deployment.state == .shifting && advanced.deployment.stepIndex == 1)
    }

    @Test func onNoDataPassAndChecksWithDataAdvance() throws {
        let pass = try #require(transition(bakedWith([starved(.pass)]), at: 60))
        #expect(pass.deployment.stepIndex == 1 && pass.deployment.state == .shifting)
        let verdict = CheckResult(name: "metric:errors", passed: true, evidence: "errors pass: …")
        let withData = try #require(transition(bakedWith([verdict]), at: 60))
        #expect(withData.deployment.stepIndex == 1)
    }

    @Test func checksStoredBeforeOnNoDataExistedStillDecode() throws {
        let old = #"{"name":"http","passed":true,"evidence":"200","threshold":3}"#
        let result = try JSONDecoder().decode(CheckResult.self, from: Data(old.utf8))
        #expect(result.onNoData == nil && result.threshold == 3)
    }
}
