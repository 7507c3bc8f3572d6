import Foundation
import Testing
@testable import AWSProvider
@testable import Orchestrator

/// Messages that count things say `1 instance`, never `1 instances`.
struct CountedMessageTests {
    @Test func oneIdleInstanceIsCountedInTheSingular() {
        let one = PlanError.pairIdleNotEmpty(group: "web-b", instances: 1, desired: 1).description
        #expect(one.contains("has 1 instance (desired capacity 1)") && one.contains("left it there"))
        let two = PlanError.pairIdleNotEmpty(group: "web-b", instances: 2, desired: 2).description
        #expect(two.contains("has 2 instances (desired capacity 2)") && two.contains("left them there"))
    }

    @Test func oneInstanceStillRunningIsCountedInTheSingular() {
        #expect(PairError.stillRunning(group: "web-b", instances: 1, after: 600).description
            == "web-b still has 1 instance 600 s after it was scaled in; it may still be draining or protected from scale-in")
        #expect(PairError.stillRunning(group: "web-b", instances: 3, after: 600).description
            == "web-b still has 3 instances 600 s after it was scaled in; they may still be draining or protected from scale-in")
    }
}
