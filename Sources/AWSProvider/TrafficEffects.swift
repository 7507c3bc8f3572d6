import AWS
import Foundation
import Orchestrator
import Logging
import SwitchyardCore

/// Reading traffic back when reads may be stale (`ReadConsistency`).
extension AWSEffects {
    /// Every forward at 100 % green: from this process's own last write when it was less than one interval ago, else
    /// read, and read again with backoff for up to `ReadConsistency.readBackLimit` before a forward short of it counts
    /// as a mismatch (with `bake: 0s` the read comes right after the write, when it may still show the step before).
    func confirmAllGreen(_ d: Deployment) async throws {
        let green = d.plan.greenPool
        if let known = memo.recentWeights(now: clock.now(), within: d.plan.spec.checks.interval.seconds),
           known.forwards.allSatisfy({ $0.percent[green] == 100 }) {
            return
        }
        try await traffic(d).confirm(green: 100, greenPool: green, clock: clock) { short, attempt, delay in
            logger.info("promotion read back short of 100% green; reading again, as the read may be stale",
                        metadata: ["deployment.id": "\(d.id)", "resource": "\(short.resource)", "found": "\(ForwardWeights.text(short.percent))",
                                   "try": "\(attempt)", "retry_in_seconds": "\(delay)"])
        }
    }

    /// What a step's read before its write found.
    enum StepRead {
        case asExpected(TrafficWeights)
        case changedByHand(TrafficChange)
    }

    /// Reads the forwards before a step's write and compares each with what this deployment last wrote (or let stand).
    /// A difference is read again once the read-consistency window is over, so a stale read is not taken for a change
    /// by hand; one still there then is (`ReadConsistency.isHandChange`).
    func readComparing(_ d: Deployment, target: Int) async throws -> StepRead {
        let router = traffic(d)
        let expected = ReadConsistency.expected(d)
        let blue = d.plan.blue.pool, green = d.plan.greenPool
        func changed(_ weights: TrafficWeights) -> ForwardWeights? {
            weights.forwards.first {
                ReadConsistency.isHandChange($0.percent, expected: expected, blue: blue, green: green, target: target,
                                             previous: weights.agreed ? nil : ReadConsistency.previousStep(d))
            }
        }
        let first = try await router.currentWeights()
        guard let suspect = changed(first) else { return .asExpected(first) }
        logger.info("a forward reads other than this deployment last wrote it; reading again after the read-consistency window",
                    metadata: ["deployment.id": "\(d.id)", "resource": "\(suspect.resource)", "found": "\(ForwardWeights.text(suspect.percent))",
                               "window_seconds": "\(readWindow)"])
        try await clock.sleep(until: clock.now().addingTimeInterval(readWindow))
        let again = try await router.currentWeights()
        guard let forward = changed(again) else { return .asExpected(again) }
        return .changedByHand(TrafficChange(resource: forward.resource, expected: expected, found: forward.percent))
    }
}
