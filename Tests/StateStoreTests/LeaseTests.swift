import Foundation
@testable import SQLiteStateStore
@testable import StateStore
import SwitchyardCore
import Testing

@Suite struct LeaseTests {
    let ttl: TimeInterval = 15
    /// A holder on another host, so the pid check cannot call it dead: only its expiry counts.
    func remote(_ name: String) -> LeaseHolder { LeaseHolder(id: name, pid: 4242, host: "elsewhere", actor: "\(name)@elsewhere") }

    @Test func startTakesTheLeaseWithTheDeploymentAndASecondHolderIsRefusedByName() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        let d = sampleDeployment()
        try store.insert(d, log: created, actor: "a", at: t0, lease: remote("first"), ttl: ttl)
        let lease = try #require(try store.lease(service: "web"))
        #expect(lease.deploymentId == d.id && lease.holder == remote("first"))
        #expect(lease.expiresAt == t0.addingTimeInterval(ttl))
        #expect(try store.lease(deploymentId: d.id) == lease)

        let later = t0.addingTimeInterval(5)
        let error = #expect(throws: LeaseError.self) {
            try store.acquireLease(deploymentId: d.id, service: "web", holder: remote("second"), at: later, ttl: ttl)
        }
        #expect(error?.description.contains("pid 4242 on elsewhere (first@elsewhere), last seen 5s ago") == true)
        #expect(try store.lease(service: "web")?.holder == remote("first"))
    }

    @Test func aFencedSaveIsRefusedOnceAnotherHolderTookTheLease() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        var d = sampleDeployment()
        d = try store.insert(d, log: created, actor: "a", at: t0, lease: remote("first"), ttl: ttl)
        d.state = .launching
        d = try store.save(d, log: nil, actor: "a", at: t0.addingTimeInterval(1), holder: remote("first"))
        // Stopped past its lease; another process takes over and moves the record on.
        try store.acquireLease(deploymentId: d.id, service: "web", holder: remote("second"), at: t0.addingTimeInterval(60), ttl: ttl)
        var theirs = d
        theirs.state = .rollingBack
        try store.save(theirs, log: nil, actor: "b", at: t0.addingTimeInterval(61), holder: remote("second"))
        var stale = d
        stale.state = .waitingForCapacity
        #expect(throws: LeaseError.self) {
            try store.save(stale, log: LogEntry(from: .launching, to: .waitingForCapacity, message: "stale"), actor: "a",
                           at: t0.addingTimeInterval(62), holder: remote("first"))
        }
        #expect(try store.deployment(id: d.id)?.state == .rollingBack)
        #expect(try store.events(deploymentId: d.id).contains { $0.message == "stale" } == false)
    }

    @Test func renewalKeepsItAliveAndAnExpiredLeaseIsTakenOver() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        let d = sampleDeployment()
        try store.insert(d, log: created, actor: "a", at: t0, lease: remote("first"), ttl: ttl)
        try store.renewLease(service: "web", deploymentId: d.id, holder: remote("first"), at: t0.addingTimeInterval(10), ttl: ttl)
        #expect(throws: LeaseError.self) {
            try store.acquireLease(deploymentId: d.id, service: "web", holder: remote("second"), at: t0.addingTimeInterval(20), ttl: ttl)
        }
        let stale = try store.acquireLease(deploymentId: d.id, service: "web", holder: remote("second"), at: t0.addingTimeInterval(26), ttl: ttl)
        #expect(stale?.holder == remote("first"))
        // The first holder learns it lost the lease the next time it renews, and must stop.
        #expect(throws: LeaseError.self) {
            try store.renewLease(service: "web", deploymentId: d.id, holder: remote("first"), at: t0.addingTimeInterval(27), ttl: ttl)
        }
        // Releasing someone else's lease does nothing.
        try store.releaseLease(service: "web", holder: remote("first"))
        #expect(try store.lease(service: "web")?.holder == remote("second"))
        try store.releaseLease(service: "web", holder: remote("second"))
        #expect(try store.lease(service: "web") == nil)
    }

    @Test func aLeaseOfAProcessGoneFromThisHostIsDeadAtOnce() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let now = Date()
        let gone = Lease(service: "web", deploymentId: "x", holder: LeaseHolder(pid: child.processIdentifier, actor: "a"),
                         acquiredAt: now, heartbeatAt: now, expiresAt: now.addingTimeInterval(ttl))
        #expect(!gone.isLive(at: now))
        var mine = gone
        mine.holder = LeaseHolder(actor: "a")
        #expect(mine.isLive(at: now))
        #expect(!mine.isLive(at: now.addingTimeInterval(ttl)))
    }

    @Test func anInsertRefusedForTheLeaseStoresNothing() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        var first = sampleDeployment(id: "20270115-080000-0001")
        try store.insert(first, log: created, actor: "a", at: t0, lease: remote("first"), ttl: ttl)
        first.state = .rolledBack
        try store.save(first, log: nil, actor: "a", at: t0)
        // The deployment ended, but its process still holds the service for a moment.
        let second = sampleDeployment(id: "20270115-080001-0002")
        #expect(throws: LeaseError.self) {
            try store.insert(second, log: created, actor: "b", at: t0.addingTimeInterval(1), lease: remote("second"), ttl: ttl)
        }
        #expect(try store.deployment(id: second.id) == nil)
        #expect(try store.events(deploymentId: second.id).isEmpty)
    }

    @Test func onlyAnOperatorRollbackReopensATerminalDeployment() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        var d = sampleDeployment()
        try store.insert(d, log: created, actor: "a", at: t0)
        d.state = .completed
        d = try store.save(d, log: nil, actor: "a", at: t0)
        d.state = .shifting
        #expect(throws: StateStoreError.self) { try store.save(d, log: nil, actor: "a", at: t0) }
        d.state = .rollingBack
        d = try store.save(d, log: nil, actor: "a", at: t0)
        d.state = .rolledBack
        d = try store.save(d, log: nil, actor: "a", at: t0)
        d.state = .rollingBack
        #expect(throws: StateStoreError.self) { try store.save(d, log: nil, actor: "a", at: t0) }
    }

    @Test func aVersionOneDatabaseGainsTheLeaseTable() throws {
        let path = temporaryPath()
        let old = try SQLiteStateStore(path: path, migrations: Array(Migration.all.prefix(1)))
        try insertAsVersionOneDid(sampleDeployment(), into: old)
        #expect(throws: (any Error).self) { try old.lease(service: "web") }
        let upgraded = try SQLiteStateStore(path: path)
        #expect(try upgraded.appliedMigrations() == Migration.all.map(\.version))
        #expect(try upgraded.lease(service: "web") == nil)
        // A record from before versions were kept reads as version 1 and saves on from there.
        var d = try #require(try upgraded.deployment(id: sampleDeployment().id))
        #expect(d.version == 1)
        d.state = .launching
        #expect(try upgraded.save(d, log: nil, actor: "a", at: t0).version == 2)
    }
}

/// Writes a deployment row as a switchyard with only the first migration did (no version column).
func insertAsVersionOneDid(_ d: Deployment, into store: SQLiteStateStore) throws {
    let record = String(decoding: try RecordCoding.encoder.encode(d), as: UTF8.self).replacingOccurrences(of: "'", with: "''")
    let now = StoredTime.text(d.createdAt)
    _ = try store.rawQuery("""
        INSERT INTO deployments (id, service, ami, file_digest, state, step_index, green_weight, blue_asg, green_asg,
            blue_target_group, green_target_group, actor, created_at, updated_at, finished_at, record)
        VALUES ('\(d.id)', '\(d.service)', '\(d.image)', 'digest', '\(d.state.rawValue)', 0, 0, 'web-blue', 'green', 'tg-a', 'tg-b',
            'a', '\(now)', '\(now)', NULL, '\(record)')
        """)
}
