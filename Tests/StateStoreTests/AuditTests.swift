import Foundation
@testable import SQLiteStateStore
@testable import StateStore
import SwitchyardCore
import Testing

@Suite struct AuditTests {
    /// Six deployments over six days: web and api alternating, every third rolled back.
    func filled() throws -> SQLiteStateStore {
        let store = try SQLiteStateStore(path: temporaryPath())
        for day in 0..<6 {
            let service = day % 2 == 0 ? "web" : "api"
            var d = sampleDeployment(id: "2027011\(day)-080000-000\(day)", service: service)
            d.createdAt = t0.addingTimeInterval(Double(day) * 86_400)
            d.updatedAt = d.createdAt.addingTimeInterval(300)
            d.plan.image = day == 5 ? "ami-55555555" : "ami-22222222"
            try store.insert(d, log: created, actor: "a", at: d.createdAt)
            d.state = day % 3 == 2 ? .rolledBack : .completed
            try store.save(d, log: LogEntry(from: .pending, to: d.state, message: "done \(day)"), actor: "a", at: d.updatedAt)
        }
        return store
    }

    @Test func filtersCombineAndPagesAreNewestFirst() throws {
        let store = try filled()
        let all = try store.history(HistoryQuery(limit: 4))
        #expect(all.total == 6)
        #expect(all.deployments.map(\.id) == ["20270115-080000-0005", "20270114-080000-0004", "20270113-080000-0003", "20270112-080000-0002"])
        #expect(try store.history(HistoryQuery(limit: 4, page: 2)).deployments.map(\.id) == ["20270111-080000-0001", "20270110-080000-0000"])
        #expect(try store.history(HistoryQuery(service: "web")).deployments.map(\.id) == ["20270114-080000-0004", "20270112-080000-0002", "20270110-080000-0000"])
        #expect(try store.history(HistoryQuery(states: [.rolledBack])).deployments.map(\.id) == ["20270115-080000-0005", "20270112-080000-0002"])
        #expect(try store.history(HistoryQuery(ami: "ami-55555555")).deployments.map(\.id) == ["20270115-080000-0005"])
        let since = t0.addingTimeInterval(3 * 86_400)
        let until = t0.addingTimeInterval(5 * 86_400)
        let window = try store.history(HistoryQuery(service: "api", since: since, until: until))
        #expect(window.deployments.map(\.id) == ["20270113-080000-0003"] && window.total == 1)
    }

    @Test func exportStreamsEveryEventInTimeOrderWithItsService() throws {
        let store = try filled()
        var lines: [ExportedEvent] = []
        try store.exportEvents(since: nil, until: nil, service: nil) { lines.append($0) }
        #expect(lines.count == 12)
        #expect(lines.map(\.event.at) == lines.map(\.event.at).sorted())
        #expect(lines.first?.service == "web" && lines.first?.event.message == "created")
        var api: [ExportedEvent] = []
        try store.exportEvents(since: t0.addingTimeInterval(2 * 86_400), until: nil, service: "api") { api.append($0) }
        #expect(api.map(\.event.deploymentId) == ["20270113-080000-0003", "20270113-080000-0003", "20270115-080000-0005", "20270115-080000-0005"])
        #expect(api.last?.ami == "ami-55555555" && api.last?.event.to == .rolledBack)
    }

    @Test func theAuditQueriesUseIndexes() throws {
        let store = try filled()
        for sql in [
            "SELECT id FROM deployments WHERE service = 'web' ORDER BY created_at DESC LIMIT 20",
            "SELECT id FROM deployments WHERE ami = 'ami-1' ORDER BY created_at DESC LIMIT 20",
            "SELECT id FROM deployments WHERE state = 'failed' ORDER BY created_at DESC LIMIT 20",
            "SELECT id FROM deployments ORDER BY created_at DESC LIMIT 20",
            "SELECT id FROM events WHERE deployment_id = 'x' ORDER BY id",
            "SELECT id FROM events WHERE at >= '2027' ORDER BY at",
        ] {
            let plan = try store.rawQuery("EXPLAIN QUERY PLAN " + sql).map { $0.compactMap { $0 }.joined(separator: " ") }.joined(separator: "; ")
            #expect(plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"), "\(sql): \(plan)")
            #expect(!plan.contains("USE TEMP B-TREE"), "\(sql) sorts without an index: \(plan)")
        }
    }
}

@Suite struct StoredTimeTests {
    @Test func textAndParseRoundTripToTheMillisecond() {
        let date = Date(timeIntervalSince1970: 1_800_000_000.123)
        #expect(StoredTime.text(date) == "2027-01-15T08:00:00.123Z")
        #expect(StoredTime.parse("2027-01-15T08:00:00.123Z")?.timeIntervalSince1970 == 1_800_000_000.123)
        #expect(StoredTime.parse("2027-01-15T08:00:00Z")?.timeIntervalSince1970 == 1_800_000_000)
        #expect(StoredTime.text(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        for bad in ["", "2027-01-15", "2027-01-15T08:00:00", "2027-01-15 08:00:00Z", "2027-0x-15T08:00:00Z", "2027-01-15T08:00:00.Z"] {
            #expect(StoredTime.parse(bad) == nil, "\(bad)")
        }
        // Text order is time order.
        let dates = (0..<50).map { Date(timeIntervalSince1970: Double($0) * 3_333_333.333) }
        #expect(dates.map(StoredTime.text) == dates.map(StoredTime.text).sorted())
    }
}

@Suite struct RetainedBlueTests {
    @Test func onlyCompletedReleasesWithTheirBlueStillStandingAreFoundThroughTheirIndex() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        for (n, state) in [DeploymentState.completed, .completed, .rolledBack, .completed].enumerated() {
            var d = sampleDeployment(id: "2027011\(n)-080000-000\(n)", service: n == 3 ? "api" : "web")
            d.createdAt = t0.addingTimeInterval(Double(n) * 60)
            try store.insert(d, log: created, actor: "a", at: d.createdAt)
            d.state = state
            if n == 0 { d.blueRetiredAt = t0 }
            try store.save(d, log: nil, actor: "a", at: d.createdAt)
        }
        #expect(try store.retainedBlues(service: nil).map(\.id) == ["20270113-080000-0003", "20270111-080000-0001"])
        #expect(try store.retainedBlues(service: "web").map(\.id) == ["20270111-080000-0001"])
        #expect(try store.blueGroups(service: "web") == ["web-blue"])
        #expect(try store.blueGroups(service: "nobody").isEmpty)
        let plan = try store.rawQuery("EXPLAIN QUERY PLAN SELECT id FROM deployments INDEXED BY deployments_blue_retained "
            + "WHERE state = 'completed' AND json_extract(record, '$.blueRetiredAt') IS NULL").map { $0.compactMap { $0 }.joined(separator: " ") }
        #expect(plan.joined().contains("USING INDEX deployments_blue_retained"))
    }
}
