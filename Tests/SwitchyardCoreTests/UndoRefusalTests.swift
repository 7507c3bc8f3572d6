import Foundation
@testable import SwitchyardCore
import Testing

/// Undoing a completed release never sends traffic to a blue that is gone or smaller than the green serving it.
@Suite struct UndoRefusalTests {
    func completed() -> Deployment {
        var d = makeDeployment()
        d.state = .completed
        d.greenWeight = 100
        return d
    }

    func observed(blueExists: Bool = true, blue: Int, green: Int) -> Observation {
        Observation(weights: [tgA: 0, tgB: 100], blueExists: blueExists, blueInService: blue, greenExists: true, greenInService: green, greenDesired: green)
    }

    @Test func aBlueAsLargeAsGreenMayTakeTheTrafficBack() {
        #expect(Machine.undoRefusal(completed(), observed: observed(blue: 2, green: 2)) == nil)
        #expect(Machine.undoRefusal(completed(), observed: observed(blue: 3, green: 2)) == nil)
    }

    @Test func aGoneOrSmallerBlueIsRefusedWithTheNumbers() throws {
        let gone = try #require(Machine.undoRefusal(completed(), observed: observed(blueExists: false, blue: 0, green: 2)))
        #expect(gone.contains("web-blue no longer exists") && gone.contains("blue 0% / green 100%"))
        let smaller = try #require(Machine.undoRefusal(completed(), observed: observed(blue: 1, green: 2)))
        #expect(smaller.contains("has 1 InService instance(s), fewer than the 2 of green"))
        #expect(Machine.undoRefusal(completed(), observed: observed(blue: 0, green: 0)) != nil)
    }

    @Test func onlyACompletedReleaseIsJudgedThisWay() {
        var shifting = completed()
        shifting.state = .shifting
        #expect(Machine.undoRefusal(shifting, observed: observed(blue: 0, green: 2)) == nil)
    }
}
