import Foundation
import Orchestrator
import Probes
import SwitchyardCore

/// `checks.http`: an HTTP request to green (through its test route where the backend has one), expecting a status.
/// Asks AWS nothing; runs before traffic too; waits at most its own timeout and fails after its own threshold.
struct HTTPProbeCheck: CheckKind {
    var section: String { "checks.http" }
    var beforeTraffic: Bool { true }

    func reads(_ plan: ReleasePlan) -> [TickCost.Read] { [] }

    func check(_ d: Deployment, _ tick: CheckTick) -> ScheduledCheck? {
        guard var http = d.plan.spec.checks.http else { return nil }
        var host: String?
        (http.url, host) = tick.effects.traffic(d).probe(http.url, greenPool: d.plan.greenPool)
        // A probe holds only its spec: the shared transport keeps the connection alive from tick to tick.
        let probe = HTTPProbe(spec: http, hostHeader: host)
        return ScheduledCheck(name: "http", timeoutThreshold: http.failureThreshold, timeout: min(http.timeout.seconds, d.plan.spec.checks.interval.seconds)) {
            [await probe.check()]
        }
    }
}
