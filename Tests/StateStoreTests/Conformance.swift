import Foundation
import SQLiteStateStore
import StateStore
import SwitchyardCore
import Testing

/// A way to get fresh, empty stores of one backend, for the conformance suite.
struct StoreFactory: Sendable, CustomStringConvertible {
    var description: String
    /// Two handles on one fresh, empty store, as two processes (or two machines) would open it.
    var pair: @Sendable () throws -> (any StateStore, any StateStore)

    func one() throws -> any StateStore { try pair().0 }
}

enum StoreFactories {
    static let sqlite = StoreFactory(description: "sqlite") {
        let path = temporaryPath()
        return (try SQLiteStateStore(path: path), try SQLiteStateStore(path: path))
    }

    /// Every backend the suite runs against. A backend that needs a server (DynamoDB on moto) adds its factory here
    /// only when the server is reachable, so the suite runs wherever `swift test` does.
    static var available: [StoreFactory] { [sqlite] + (dynamoDB.map { [$0] } ?? []) }
}

/// A holder on another host, so only its expiry decides whether it is live (no pid check).
func machine(_ name: String) -> LeaseHolder { LeaseHolder(id: name, pid: 4242, host: "machine-\(name)", actor: "\(name)@machine-\(name)") }

/// The guarantees of the `StateStore` protocol (see Sources/StateStore/StateStore.swift), for every backend.
@Suite struct StoreConformance {
    /// A record a newer switchyard wrote in a format this one does not know is refused on every read, naming the
    /// deployment and both formats: this process neither acts on it without the fields it cannot see nor saves it back
    /// without them. A record that says format 1, or nothing, reads as before.
    @Test(arguments: StoreFactories.available)
    func aRecordInANewerFormatIsRefusedOnEveryRead(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        var newer = sampleDeployment(id: "newer")
        newer.recordFormat = RecordCoding.format + 1
        try store.insert(newer, log: created, actor: "a", at: t0)
        var first = sampleDeployment(id: "first", service: "api")
        first.recordFormat = 1
        try store.insert(first, log: created, actor: "a", at: t0)
        for reading in [{ _ = try other.deployment(id: "newer") }, { _ = try other.latest(service: "web", states: DeploymentState.allCases) },
                        { _ = try other.deployments(service: "web", limit: 10, activeOnly: false) }] as [() throws -> Void] {
            let refusal = #expect(throws: StateStoreError.self) { try reading() }
            guard case .newerRecord(let id, let format, let known)? = refusal else { Issue.record("wrong refusal: \(String(describing: refusal))"); continue }
            #expect(id == "newer" && format == RecordCoding.format + 1 && known == RecordCoding.format)
            #expect("\(refusal!)".contains("use a newer switchyard"))
        }
        #expect(try other.deployment(id: "first")?.id == "first")
        #expect(try other.deployments(service: "api", limit: 10, activeOnly: false).map(\.id) == ["first"])
    }

    @Test(arguments: StoreFactories.available)
    func oneActiveDeploymentPerService(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        let first = try store.insert(sampleDeployment(id: "first"), log: created, actor: "a", at: t0)
        let refusal = #expect(throws: StateStoreError.self) {
            try other.insert(sampleDeployment(id: "second"), log: created, actor: "b", at: t0)
        }
        guard case .activeDeploymentExists(let id, _, _)? = refusal else { Issue.record("wrong refusal: \(String(describing: refusal))"); return }
        #expect(id == "first")
        #expect(try store.deployment(id: "second") == nil)
        #expect(try store.events(deploymentId: "second").isEmpty)
        try other.insert(sampleDeployment(id: "other", service: "api"), log: created, actor: "b", at: t0)
        var done = first
        done.state = .completed
        try store.save(done, log: nil, actor: "a", at: t0)
        try other.insert(sampleDeployment(id: "second"), log: created, actor: "b", at: t0)
        #expect(try store.deployments(service: "web", limit: 10, activeOnly: true).map(\.id) == ["second"])
        #expect(Set(try store.deployments(service: nil, limit: 10, activeOnly: true).map(\.id)) == ["second", "other"])
    }

    @Test(arguments: StoreFactories.available)
    func insertTakesTheLeaseInTheSameWriteOrNothing(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        var old = sampleDeployment(id: "old")
        old.state = .completed
        try store.insert(old, log: created, actor: "a", at: t0)
        // A housekeeping process holds the service's lease (on a finished deployment).
        try store.acquireLease(deploymentId: "old", service: "web", holder: machine("keeper"), at: t0, ttl: 15)
        #expect(throws: LeaseError.self) {
            try other.insert(sampleDeployment(id: "new"), log: created, actor: "b", at: t0.addingTimeInterval(1), lease: machine("b"), ttl: 15)
        }
        #expect(try store.deployment(id: "new") == nil, "the deployment must not be stored without its lease")
        #expect(try store.events(deploymentId: "new").isEmpty)
        // Once that lease has expired, insert takes it over with the deployment.
        try other.insert(sampleDeployment(id: "new"), log: created, actor: "b", at: t0.addingTimeInterval(16), lease: machine("b"), ttl: 15)
        let lease = try #require(try store.lease(service: "web"))
        #expect(lease.holder == machine("b") && lease.deploymentId == "new")
        #expect(lease.expiresAt == t0.addingTimeInterval(31))
    }

    @Test(arguments: StoreFactories.available)
    func aFencedSaveIsRefusedToAnotherHolder(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        var mine = try store.insert(sampleDeployment(), log: created, actor: "a", at: t0, lease: machine("a"), ttl: 15)
        mine.state = .launching
        mine = try store.save(mine, log: LogEntry(from: .pending, to: .launching, message: "mine"), actor: "a", at: t0.addingTimeInterval(1),
                              holder: machine("a"))
        // Machine a stops past its lease; machine b takes the deployment over.
        let previous = try other.acquireLease(deploymentId: mine.id, service: "web", holder: machine("b"), at: t0.addingTimeInterval(20), ttl: 15)
        #expect(previous?.holder == machine("a"))
        var theirs = try #require(try other.deployment(id: mine.id))
        theirs.state = .rollingBack
        theirs = try other.save(theirs, log: LogEntry(from: .launching, to: .rollingBack, message: "theirs"), actor: "b",
                                at: t0.addingTimeInterval(21), holder: machine("b"))
        // Machine a wakes up and tries to write: refused, nothing of it stored.
        var stale = mine
        stale.state = .waitingForCapacity
        #expect(throws: LeaseError.self) {
            try store.save(stale, log: LogEntry(from: .launching, to: .waitingForCapacity, message: "stale"), actor: "a",
                           at: t0.addingTimeInterval(22), holder: machine("a"))
        }
        #expect(throws: LeaseError.self) {
            try store.renewLease(service: "web", deploymentId: mine.id, holder: machine("a"), at: t0.addingTimeInterval(22), ttl: 15)
        }
        #expect(try store.deployment(id: mine.id) == theirs)
        #expect(try store.events(deploymentId: mine.id).map(\.message) == ["created", "mine", "theirs"])
    }

    @Test(arguments: StoreFactories.available)
    func aStaleVersionFailsAndChangesNothing(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        let inserted = try store.insert(sampleDeployment(), log: created, actor: "a", at: t0)
        #expect(inserted.version == 1)
        var a = try #require(try store.deployment(id: inserted.id))
        var b = try #require(try other.deployment(id: inserted.id))
        #expect(a.version == 1 && b.version == 1)
        a.state = .launching
        a = try store.save(a, log: LogEntry(from: .pending, to: .launching, message: "a"), actor: "a", at: t0)
        #expect(a.version == 2)
        b.state = .failed
        let error = #expect(throws: StateStoreError.self) {
            try other.save(b, log: LogEntry(from: .pending, to: .failed, message: "b"), actor: "b", at: t0)
        }
        guard case .staleRecord(let id, let expected, let found)? = error else { Issue.record("wrong error: \(String(describing: error))"); return }
        #expect(id == a.id && expected == 1 && found == 2)
        #expect(error?.description.contains("another process holds this deployment") == true)
        #expect(try other.deployment(id: a.id) == a)
        #expect(try other.events(deploymentId: a.id).map(\.message) == ["created", "a"])
        // A copy that was never stored counts as what insert wrote (version 1): stale too by now.
        #expect(throws: StateStoreError.self) { try store.save(sampleDeployment(), log: nil, actor: "a", at: t0) }
        // Going on from what save returned works, and every read carries the stored version.
        a.state = .waitingForCapacity
        a = try store.save(a, log: nil, actor: "a", at: t0)
        #expect(a.version == 3)
        #expect(try other.deployments(service: "web", limit: 1, activeOnly: true).first?.version == 3)
        #expect(try other.history(HistoryQuery()).deployments.first?.version == 3)
    }

    @Test(arguments: StoreFactories.available)
    func aFinalStateNeverChanges(_ backend: StoreFactory) throws {
        let store = try backend.one()
        var d = try store.insert(sampleDeployment(), log: created, actor: "a", at: t0)
        d.state = .rolledBack
        d = try store.save(d, log: nil, actor: "a", at: t0)
        d.state = .shifting
        let error = #expect(throws: StateStoreError.self) { try store.save(d, log: nil, actor: "a", at: t0) }
        guard case .terminalStateIsFinal? = error else { Issue.record("wrong error: \(String(describing: error))"); return }
        #expect(try store.deployment(id: d.id)?.state == .rolledBack)
        #expect(throws: StateStoreError.self) { try store.save(sampleDeployment(id: "nope"), log: nil, actor: "a", at: t0) }
    }

    @Test(arguments: StoreFactories.available)
    func eventsComeBackInTheOrderWritten(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        var d = try store.insert(sampleDeployment(), log: created, actor: "alice@laptop", at: t0)
        try other.insert(sampleDeployment(id: "api-1", service: "api"), log: created, actor: "x", at: t0)
        for n in 1...30 {
            d.updatedAt = t0.addingTimeInterval(Double(n) * 0.001)
            // Same timestamps on purpose for some: order is the order of writing, not of time.
            let log = n % 7 == 0 ? nil : LogEntry(from: .pending, to: .pending, message: "event \(n)", details: ["n": "\(n)"])
            d = try store.save(d, log: log, actor: "bob@ci", at: t0.addingTimeInterval(Double(n / 3)))
        }
        let events = try other.events(deploymentId: d.id)
        let expected = ["created"] + (1...30).filter { $0 % 7 != 0 }.map { "event \($0)" }
        #expect(events.map(\.message) == expected)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.id < $1.id })
        #expect(events.allSatisfy { $0.deploymentId == d.id })
        #expect(events[1].details == ["n": "1"] && events[1].actor == "bob@ci" && events[1].at == t0)
        #expect(events[0].actor == "alice@laptop")
        #expect(try other.deployment(id: d.id)?.updatedAt == t0.addingTimeInterval(0.030))
    }

    @Test(arguments: StoreFactories.available)
    func requestsQueueUntilHandled(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        let d = try store.insert(sampleDeployment(), log: created, actor: "a", at: t0)
        try store.insert(sampleDeployment(id: "api-1", service: "api"), log: created, actor: "a", at: t0)
        #expect(try store.pendingRequests(deploymentId: d.id).isEmpty)
        try other.addRequest(deploymentId: d.id, kind: .rollback, reason: "latency", actor: "ops@box", at: t0.addingTimeInterval(1))
        try other.addRequest(deploymentId: "api-1", kind: .promote, reason: nil, actor: "x@box", at: t0.addingTimeInterval(1))
        try other.addRequest(deploymentId: d.id, kind: .promote, reason: nil, actor: "lead@box", at: t0.addingTimeInterval(2))
        let pending = try store.pendingRequests(deploymentId: d.id)
        #expect(pending.map(\.kind) == [.rollback, .promote])
        #expect(pending[0].reason == "latency" && pending[0].actor == "ops@box" && pending[0].at == t0.addingTimeInterval(1))
        #expect(pending[1].reason == nil && pending[0].id < pending[1].id)
        try store.markHandled(pending[0], at: t0.addingTimeInterval(3))
        #expect(try other.pendingRequests(deploymentId: d.id).map(\.actor) == ["lead@box"])
        #expect(try other.pendingRequests(deploymentId: "api-1").map(\.kind) == [.promote])
    }

    @Test(arguments: StoreFactories.available)
    func leasesExpireAndPassOn(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        let d = try store.insert(sampleDeployment(), log: created, actor: "a", at: t0)
        #expect(try store.lease(service: "web") == nil)
        #expect(try store.acquireLease(deploymentId: d.id, service: "web", holder: machine("a"), at: t0, ttl: 15) == nil)
        #expect(throws: LeaseError.self) {
            try other.acquireLease(deploymentId: d.id, service: "web", holder: machine("b"), at: t0.addingTimeInterval(10), ttl: 15)
        }
        try store.renewLease(service: "web", deploymentId: d.id, holder: machine("a"), at: t0.addingTimeInterval(10), ttl: 15)
        #expect(try other.lease(service: "web")?.expiresAt == t0.addingTimeInterval(25))
        #expect(try other.lease(service: "web")?.heartbeatAt == t0.addingTimeInterval(10))
        #expect(throws: LeaseError.self) {
            try other.acquireLease(deploymentId: d.id, service: "web", holder: machine("b"), at: t0.addingTimeInterval(20), ttl: 15)
        }
        // Past its expiry the lease is not live, and another holder takes it over.
        #expect(try other.lease(service: "web")?.isLive(at: t0.addingTimeInterval(26)) == false)
        let previous = try other.acquireLease(deploymentId: d.id, service: "web", holder: machine("b"), at: t0.addingTimeInterval(26), ttl: 15)
        #expect(previous?.holder == machine("a"))
        #expect(throws: LeaseError.self) {
            try store.renewLease(service: "web", deploymentId: d.id, holder: machine("a"), at: t0.addingTimeInterval(27), ttl: 15)
        }
        // Releasing a lease one no longer holds leaves the new holder's alone.
        try store.releaseLease(service: "web", holder: machine("a"))
        let lease = try #require(try store.lease(deploymentId: d.id))
        #expect(lease.holder == machine("b") && lease.service == "web" && lease.acquiredAt == t0.addingTimeInterval(26))
        // The holder itself may take it again (a renewed acquire returns no previous holder).
        #expect(try other.acquireLease(deploymentId: d.id, service: "web", holder: machine("b"), at: t0.addingTimeInterval(30), ttl: 15) == nil)
        try other.releaseLease(service: "web", holder: machine("b"))
        #expect(try store.lease(service: "web") == nil)
        #expect(try store.lease(deploymentId: d.id) == nil)
    }
}
