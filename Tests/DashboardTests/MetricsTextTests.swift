@testable import Dashboard
import Foundation
import SwitchyardCore
import Testing

@Suite struct MetricsTextTests {
    @Test func labelValuesAreEscaped() {
        #expect(MetricsText.escape(#"a"b\c"#) == #"a\"b\\c"#)
        #expect(MetricsText.escape("two\nlines") == #"two\nlines"#)
        #expect(MetricsText.escape("plain-ünïcode") == "plain-ünïcode")
    }

    @Test func everyFamilyHasHelpAndTypeBeforeItsSamples() {
        var web = ReleaseBoard.Service(name: "we\"b")
        var d = sample(state: .shifting)
        d.greenWeight = 10
        web.latest = d
        web.deployments = 3
        web.rollbacks = 1
        web.checkFailures = ["http": 2, "alarm": 1]
        let snapshot = ReleaseBoard.Snapshot(services: [web], generation: 1, refreshedAt: t0, refreshSeconds: 0.002)
        let text = MetricsText.render(snapshot, requests: [RequestCounter.Key(route: "list", code: 200): 4], now: t0.addingTimeInterval(1.5))
        let lines = text.split(separator: "\n").map(String.init)
        var declared: Set<String> = []
        for line in lines {
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") { declared.insert(line.split(separator: " ")[2].description); continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            #expect(declared.contains(name), "\(name) has no TYPE before it")
        }
        #expect(lines.contains(#"switchyard_release_info{service="we\"b",deployment="20270115-080000-0001",ami="ami-22222222",state="shifting"} 1"#))
        #expect(lines.contains(#"switchyard_release_green_weight{service="we\"b",deployment="20270115-080000-0001"} 10"#))
        #expect(lines.contains(#"switchyard_release_phase{service="we\"b",deployment="20270115-080000-0001",phase="shifting"} 1"#))
        #expect(lines.contains(#"switchyard_release_phase{service="we\"b",deployment="20270115-080000-0001",phase="completed"} 0"#))
        #expect(lines.filter { $0.hasPrefix("switchyard_release_phase{") }.count == DeploymentState.allCases.count)
        #expect(lines.contains(#"switchyard_check_failures_total{service="we\"b",kind="alarm"} 1"#))
        #expect(lines.contains(#"switchyard_check_failures_total{service="we\"b",kind="http"} 2"#))
        #expect(lines.contains(#"switchyard_rollbacks_total{service="we\"b"} 1"#))
        #expect(lines.contains(#"switchyard_serve_requests_total{route="list",code="200"} 4"#))
        #expect(lines.contains("switchyard_serve_state_age_seconds 1.500"))
        #expect(lines.contains("# TYPE switchyard_rollbacks_total counter"))
        #expect(text.hasSuffix("\n"))
    }

    @Test func aServiceWithoutARecordStillCountsItsRollbacks() {
        let snapshot = ReleaseBoard.Snapshot(services: [ReleaseBoard.Service(name: "api", rollbacks: 2)], generation: 0, refreshedAt: nil, refreshSeconds: 0)
        let text = MetricsText.render(snapshot, requests: [:])
        #expect(text.contains(#"switchyard_rollbacks_total{service="api"} 2"#))
        #expect(!text.contains("switchyard_release_info{"))
        #expect(text.contains("switchyard_serve_state_age_seconds NaN"))
    }
}
