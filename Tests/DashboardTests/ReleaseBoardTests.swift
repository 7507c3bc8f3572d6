@testable import Dashboard
import Foundation
import SQLiteStateStore
import StateStore
import SwitchyardCore
import Testing

@Suite struct ReleaseBoardTests {
    func log(_ from: DeploymentState, _ to: DeploymentState, _ message: String, _ details: [String: String] = [:]) -> LogEntry {
        LogEntry(from: from, to: to, message: message, details: details)
    }

    @Test func countsReleasesRollbacksAndCheckFailuresOnceEach() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        let board = ReleaseBoard()
        var a = try store.insert(sample(id: "20270115-080000-0001"), log: log(.pending, .pending, "created"), actor: "alice", at: t0)
        try board.refresh(store, now: t0)
        #expect(board.snapshot().services.map(\.name) == ["web"])
        #expect(board.snapshot().services[0].latest?.id == a.id)
        let first = board.currentGeneration
        #expect(first > 0)

        a.state = .shifting
        a.greenWeight = 10
        a = try store.save(a, log: log(.pending, .shifting, "step 1"), actor: "alice", at: t0.addingTimeInterval(1))
        a.state = .rollingBack
        a = try store.save(a, log: log(.shifting, .rollingBack, "rolling back", ["check": "http", "evidence": "503"]), actor: "alice", at: t0.addingTimeInterval(2))
        a.state = .rolledBack
        a.greenWeight = 0
        a = try store.save(a, log: log(.rollingBack, .rolledBack, "rolled back"), actor: "alice", at: t0.addingTimeInterval(3))
        try board.refresh(store, now: t0)
        var web = try #require(board.snapshot().services.first)
        #expect(web.rollbacks == 1)
        #expect(web.checkFailures == ["http": 1])
        #expect(web.latest?.state == .rolledBack)
        #expect(board.changed(after: first, deployment: a.id) != nil)

        // A person's rollback is not a check failure; a later release becomes the latest.
        var b = try store.insert(sample(id: "20270115-090000-0002"), log: log(.pending, .pending, "created"), actor: "bob", at: t0.addingTimeInterval(10))
        b.state = .rollingBack
        b = try store.save(b, log: log(.pending, .rollingBack, "rolling back: requested", ["check": "manual"]), actor: "bob", at: t0.addingTimeInterval(11))
        try board.refresh(store, now: t0)
        web = try #require(board.snapshot().services.first)
        #expect(web.checkFailures == ["http": 1])
        #expect(web.deployments == 2)
        #expect(web.latest?.id == b.id)

        // Reading again (the overlap re-reads the last minute) counts nothing twice and is no change.
        let settled = board.currentGeneration
        try board.refresh(store, now: t0)
        try board.refresh(store, now: t0)
        #expect(board.currentGeneration == settled)
        #expect(board.snapshot().services.first?.rollbacks == 1)
        #expect(board.snapshot().services.first?.deployments == 2)
    }

    @Test func aSaveWithoutAnEventOfARunningReleaseIsAChange() throws {
        let store = try SQLiteStateStore(path: temporaryPath())
        let board = ReleaseBoard()
        var d = try store.insert(sample(), log: log(.pending, .pending, "created"), actor: "alice", at: t0)
        d.state = .shifting
        d = try store.save(d, log: log(.pending, .shifting, "step"), actor: "alice", at: t0)
        try board.refresh(store, now: t0)
        let before = board.currentGeneration
        #expect(board.changed(after: before, deployment: d.id) == nil)
        d.lastChecks = [CheckResult(name: "http", passed: true, evidence: "200")]
        d = try store.save(d, log: nil, actor: "alice", at: t0.addingTimeInterval(1))
        try board.refresh(store, now: t0)
        #expect(board.changed(after: before, deployment: d.id) != nil)
        #expect(board.snapshot().services.first?.latest?.lastChecks?.first?.evidence == "200")
        #expect(board.changed(after: before, deployment: "another") == nil)
    }
}
