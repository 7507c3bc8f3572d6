import Foundation
@testable import SQLiteStateStore
@testable import StateStore
import SwitchyardCore
import Testing

func temporaryPath(_ name: String = "state.db") -> String {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("switchyard-store-\(UUID().uuidString)")
        .appendingPathComponent("nested").appendingPathComponent(name).path
}

let t0 = Date(timeIntervalSince1970: 1_800_000_000)

func sampleDeployment(id: String = "20270115-080000-0001", service: String = "web", state: DeploymentState = .pending) -> Deployment {
    let spec = DeploymentSpec(
        service: service, region: "us-east-1",
        traffic: .init(pools: ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1",
                              "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2"],
                       settings: ["listenerArn": .string("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2")]),
        fleet: .init(), steps: [.weight(10, bake: .seconds(30)), .pause, .weight(100, bake: .zero)],
        checks: .init(alarms: ["web-5xx"], http: .init(url: "http://127.0.0.1:9/healthz")), promotion: .init())
    let blue = BlueFleet(group: "\(service)-blue", pool: spec.traffic.pools[0], templateId: "lt-1",
                         templateName: service, templateVersion: 3, image: "ami-11111111", architecture: "x86_64",
                         minSize: 2, maxSize: 4, desiredCapacity: 2)
    let plan = ReleasePlan(spec: spec, image: "ami-22222222", blue: blue, greenPool: spec.traffic.pools[1],
                           greenGroup: "switchyard-\(service)-\(id)")
    var d = Deployment(id: id, plan: plan, fileDigest: "digest", actor: "alice@laptop", now: t0)
    d.state = state
    return d
}

let created = LogEntry(from: .pending, to: .pending, message: "created")

@Suite struct StateStoreTests {
    @Test func emptyDatabaseGetsEveryMigrationOnce() throws {
        let path = temporaryPath()
        let store = try SQLiteStateStore(path: path)
        #expect(try store.appliedMigrations() == Migration.all.map(\.version))
        let tables = try store.rawQuery("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger', 'index') ORDER BY name").compactMap { $0[0] }
        for name in ["deployments", "events", "requests", "schema_migrations", "events_are_append_only_update",
                     "events_are_append_only_delete", "deployments_one_active_per_service", "deployments_by_service"] {
            #expect(tables.contains(name), "missing \(name)")
        }
        let reopened = try SQLiteStateStore(path: path)
        #expect(try reopened.appliedMigrations() == Migration.all.map(\.version))
    }

    @Test func existingDatabaseGetsOnlyTheNewMigrationsAndKeepsItsRows() throws {
        let path = temporaryPath()
        let first = try SQLiteStateStore(path: path)
        try first.insert(sampleDeployment(), log: created, actor: "alice@laptop", at: t0)
        let later = Migration(version: 99, name: "add_notes", sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);")
        let upgraded = try SQLiteStateStore(path: path, migrations: Migration.all + [later])
        #expect(try upgraded.appliedMigrations() == Migration.all.map(\.version) + [99])
        #expect(try upgraded.deployment(id: sampleDeployment().id) != nil)
        #expect(try upgraded.rawQuery("SELECT count(*) FROM notes").first?[0] == "0")
    }

    @Test func newerSchemaThanTheBinaryKnowsIsRefused() throws {
        let path = temporaryPath()
        let later = Migration(version: 99, name: "future", sql: "CREATE TABLE future (id INTEGER);")
        _ = try SQLiteStateStore(path: path, migrations: Migration.all + [later])
        #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
    }

    @Test func fileIsPrivateAndFoldersAreCreated() throws {
        let path = temporaryPath()
        _ = try SQLiteStateStore(path: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func journalIsWAL() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        #expect(try store.rawQuery("PRAGMA journal_mode").first?[0] == "wal")
    }

    @Test func garbageFileIsReportedByPath() throws {
        let path = temporaryPath()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        do {
            _ = try SQLiteStateStore(path: path)
            Issue.record("opened a garbage file")
        } catch {
            #expect(String(describing: error).contains(path))
        }
    }

    @Test func deploymentRoundTripsExactly() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        var d = sampleDeployment()
        try store.insert(d, log: created, actor: "alice@laptop", at: t0)
        d.state = .shifting
        d.greenWeight = 10
        d.bakeStartedAt = t0.addingTimeInterval(12.5)
        d.consecutiveFailures = ["http": 2]
        d.updatedAt = t0.addingTimeInterval(13)
        let saved = try store.save(d, log: LogEntry(from: .checkingHealth, to: .shifting, message: "step 1", details: ["green_weight": "10"]), actor: "alice@laptop", at: t0)
        d.version = 2
        #expect(saved == d)
        #expect(try store.deployment(id: d.id) == d)
        #expect(try store.deployment(id: "nope") == nil)
    }

    @Test func eventsAreAppendedInOrderAndCannotBeChanged() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        var d = sampleDeployment()
        try store.insert(d, log: created, actor: "alice@laptop", at: t0)
        d.state = .launching
        d = try store.save(d, log: LogEntry(from: .pending, to: .launching, message: "go", details: ["k": "v"]), actor: "bob@ci", at: t0.addingTimeInterval(1))
        try store.save(d, log: nil, actor: "bob@ci", at: t0.addingTimeInterval(2))
        let events = try store.events(deploymentId: d.id)
        #expect(events.map(\.message) == ["created", "go"])
        #expect(events[1].actor == "bob@ci")
        #expect(events[1].details == ["k": "v"])
        #expect(events[1].at == t0.addingTimeInterval(1))
        #expect(throws: SQLiteError.self) { try store.rawQuery("UPDATE events SET message = 'x'") }
        #expect(throws: SQLiteError.self) { try store.rawQuery("DELETE FROM events") }
    }

    @Test func secondActiveDeploymentOfAServiceIsRefusedNamingTheFirst() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        var first = sampleDeployment(id: "first")
        try store.insert(first, log: created, actor: "a", at: t0)
        do {
            try store.insert(sampleDeployment(id: "second"), log: created, actor: "b", at: t0)
            Issue.record("second active deployment was stored")
        } catch StateStoreError.activeDeploymentExists(let id, _, _) {
            #expect(id == "first")
        }
        try store.insert(sampleDeployment(id: "other", service: "api"), log: created, actor: "b", at: t0)
        first.state = .completed
        try store.save(first, log: nil, actor: "a", at: t0)
        try store.insert(sampleDeployment(id: "second"), log: created, actor: "b", at: t0)
        #expect(try store.deployments(service: "web", limit: 10, activeOnly: true).map(\.id) == ["second"])
    }

    @Test func terminalStateIsFinal() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        var d = sampleDeployment()
        try store.insert(d, log: created, actor: "a", at: t0)
        d.state = .rolledBack
        d = try store.save(d, log: nil, actor: "a", at: t0)
        d.state = .shifting
        #expect(throws: StateStoreError.self) { try store.save(d, log: nil, actor: "a", at: t0) }
        #expect(try store.deployment(id: d.id)?.state == .rolledBack)
    }

    @Test func requestsQueueUntilHandled() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        let d = sampleDeployment()
        try store.insert(d, log: created, actor: "a", at: t0)
        try store.addRequest(deploymentId: d.id, kind: .rollback, reason: "latency", actor: "ops@box", at: t0)
        try store.addRequest(deploymentId: d.id, kind: .promote, reason: nil, actor: "lead@box", at: t0)
        let pending = try store.pendingRequests(deploymentId: d.id)
        #expect(pending.map(\.kind) == [.rollback, .promote])
        #expect(pending[0].reason == "latency")
        try store.markHandled(pending[0], at: t0)
        #expect(try store.pendingRequests(deploymentId: d.id).map(\.kind) == [.promote])
    }

    @Test func twoConnectionsSeeEachOthersWrites() throws {
        let path = temporaryPath()
        let a = try SQLiteStateStore(path: path)
        let b = try SQLiteStateStore(path: path)
        try a.insert(sampleDeployment(), log: created, actor: "a", at: t0)
        #expect(try b.deployment(id: sampleDeployment().id) != nil)
        try b.addRequest(deploymentId: sampleDeployment().id, kind: .rollback, reason: nil, actor: "b", at: t0)
        #expect(try a.pendingRequests(deploymentId: sampleDeployment().id).count == 1)
    }

    @Test func historyIsNewestFirstAndFiltersByService() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        for (index, service) in ["web", "api", "web"].enumerated() {
            var d = sampleDeployment(id: "d\(index)", service: service)
            d.createdAt = t0.addingTimeInterval(Double(index))
            d.state = .completed
            try store.insert(d, log: created, actor: "a", at: t0)
        }
        #expect(try store.deployments(service: nil, limit: 10, activeOnly: false).map(\.id) == ["d2", "d1", "d0"])
        #expect(try store.deployments(service: "web", limit: 1, activeOnly: false).map(\.id) == ["d2"])
        #expect(try store.latest(service: "web", states: [.completed])?.id == "d2")
    }

    @Test func defaultPathFollowsTheEnvironment() {
        #expect(SQLiteStateStore.defaultPath(environment: ["SWITCHYARD_DB": "/x/y.db", "HOME": "/h"]) == "/x/y.db")
        #expect(SQLiteStateStore.defaultPath(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/switchyard/state.db")
        #expect(SQLiteStateStore.defaultPath(environment: ["HOME": "/h"]) == "/h/.local/state/switchyard/state.db")
    }

    @Test func embeddedMigrationsMatchTheSQLFiles() throws {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("migrations").path) {
            dir = dir.deletingLastPathComponent()
        }
        let folder = dir.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count == Migration.all.count, "run scripts/embed-migrations")
        for (file, migration) in zip(files, Migration.all) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(text == migration.sql + "\n" || text == migration.sql, "\(file) differs from the embedded copy: run scripts/embed-migrations")
            #expect(file.hasPrefix(String(format: "%04d_", migration.version)))
        }
    }
}
