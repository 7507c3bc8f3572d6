import SwitchyardCore
import Testing

@Suite struct SharedSplitTests {
    @Test func greensCountIsTheStepsShareOfTheHealthyTotalRoundedHalfUp() {
        #expect(SharedSplit.step(share: 25, startHealthy: 4, blueHealthy: 4, greenHealthy: 0) == SharedSplit(total: 4, green: 1))
        #expect(SharedSplit.step(share: 50, startHealthy: 4, blueHealthy: 3, greenHealthy: 1) == SharedSplit(total: 4, green: 2))
        #expect(SharedSplit.step(share: 10, startHealthy: 6, blueHealthy: 6, greenHealthy: 0).green == 1, "0.6 rounds up to 1")
        #expect(SharedSplit.step(share: 30, startHealthy: 5, blueHealthy: 5, greenHealthy: 0).green == 2, "1.5 rounds half up")
        #expect(SharedSplit.step(share: 100, startHealthy: 4, blueHealthy: 2, greenHealthy: 2) == SharedSplit(total: 4, green: 4))
        #expect(SharedSplit.step(share: 0, startHealthy: 4, blueHealthy: 2, greenHealthy: 2) == SharedSplit(total: 4, green: 0))
    }

    @Test func aPartialStepNeverEmptiesEitherFleet() {
        // spinnaker#2645: a percentage that disabled the whole old group.
        let high = SharedSplit.step(share: 90, startHealthy: 3, blueHealthy: 3, greenHealthy: 0)
        #expect(high.green == 2 && high.blue == 1)
        let low = SharedSplit.step(share: 1, startHealthy: 10, blueHealthy: 10, greenHealthy: 0)
        #expect(low.green == 1 && low.blue == 9)
        let one = SharedSplit.step(share: 25, startHealthy: 1, blueHealthy: 1, greenHealthy: 0)
        #expect(one == SharedSplit(total: 2, green: 1), "one instance cannot be shared: the step holds two")
    }

    @Test func theTotalNeverFallsBelowTheStartNorBelowWhatAScaleEventAdded() {
        // orca#3037: a step that left fewer instances than the service started with.
        #expect(SharedSplit.step(share: 50, startHealthy: 4, blueHealthy: 2, greenHealthy: 0).total == 4, "an instance lost is replaced")
        // aws-codedeploy-samples#80: blue scaled out between two steps; the step counts what is healthy now.
        let grown = SharedSplit.step(share: 50, startHealthy: 4, blueHealthy: 6, greenHealthy: 2)
        #expect(grown == SharedSplit(total: 8, green: 4))
        for start in 1...12 {
            for share in stride(from: 0, through: 100, by: 5) {
                let s = SharedSplit.step(share: share, startHealthy: start, blueHealthy: start, greenHealthy: 0)
                #expect(s.total >= start && s.green >= 0 && s.blue >= 0)
                // Within half an instance of the share, unless that would empty a fleet in a partial step.
                #expect(abs(s.green * 100 - share * s.total) <= 50 || (share > 0 && share < 100 && (s.green == 1 || s.blue == 1)))
            }
        }
    }

    @Test func greenScalesOutBeforeBlueGivesAnyUp() {
        let s = SharedSplit.step(share: 50, startHealthy: 4, blueHealthy: 4, greenHealthy: 0)
        // While green scales out blue keeps all 4: the healthy total is 4 + green's, never below 4.
        #expect(s.greenFirst(greenHealthy: 0) == 2)
        #expect(s.greenFirst(greenHealthy: 3) == 3, "green is never scaled in on the way up")
    }
}
