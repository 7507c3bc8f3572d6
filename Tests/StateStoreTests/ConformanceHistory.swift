import Foundation
import StateStore
import SwitchyardCore
import Testing

/// History, export, the queries housekeeping uses, and `state copy`'s import: the same answers from every backend.
@Suite struct StoreHistoryConformance {
    /// 24 finished deployments over two services and two AMIs, one an hour, plus one active: newest is index 23.
    static func seed(_ store: any StateStore) throws -> [Deployment] {
        var all: [Deployment] = []
        for n in 0..<24 {
            var d = sampleDeployment(id: String(format: "d%02d", n), service: n % 3 == 0 ? "api" : "web")
            d.plan.image = n % 2 == 0 ? "ami-aaaaaaaa" : "ami-bbbbbbbb"
            d.createdAt = t0.addingTimeInterval(Double(n) * 3600)
            d.updatedAt = d.createdAt.addingTimeInterval(60)
            d.state = [.completed, .rolledBack, .failed][n % 3 == 0 ? 0 : n % 4 == 1 ? 1 : n % 4 == 3 ? 2 : 0]
            all.append(try store.insert(d, log: LogEntry(from: .pending, to: d.state, message: "\(d.id) done"), actor: "ci@runner",
                                        at: d.updatedAt))
        }
        var active = sampleDeployment(id: "live", service: "web")
        active.createdAt = t0.addingTimeInterval(30 * 3600)
        all.append(try store.insert(active, log: created, actor: "ana@laptop", at: active.createdAt))
        return all
    }

    static func newestFirst(_ ds: [Deployment]) -> [String] {
        ds.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
    }

    @Test(arguments: StoreFactories.available)
    func historyFiltersAndPages(_ backend: StoreFactory) throws {
        let (store, other) = try backend.pair()
        let all = try Self.seed(store)
        let queries: [HistoryQuery] = [
            HistoryQuery(limit: 10, page: 1), HistoryQuery(limit: 10, page: 3), HistoryQuery(limit: 10, page: 4),
            HistoryQuery(service: "api", limit: 3, page: 2), HistoryQuery(states: [.rolledBack, .failed], limit: 5, page: 1),
            HistoryQuery(ami: "ami-bbbbbbbb", limit: 100), HistoryQuery(service: "web", states: [.completed], ami: "ami-aaaaaaaa"),
            HistoryQuery(since: t0.addingTimeInterval(5 * 3600), until: t0.addingTimeInterval(9 * 3600)),
        ]
        for query in queries {
            let matching = Self.newestFirst(all.filter { query.matches(service: $0.service, state: $0.state, ami: $0.image, createdAt: $0.createdAt) })
            let page = Array(matching.dropFirst(query.offset).prefix(query.limit))
            let (deployments, total) = try other.history(query)
            #expect(deployments.map(\.id) == page, "history \(query)")
            #expect(total == matching.count, "total \(query)")
            #expect(try other.historyPage(query).map(\.id) == page, "page \(query)")
            let summaries = try other.historySummaries(query)
            #expect(summaries.deployments.map(\.id) == page, "summaries \(query)")
            #expect(summaries.more == (matching.count > query.offset + query.limit), "more \(query)")
        }
        let row = try #require(try other.historySummaries(HistoryQuery(service: "api", limit: 1)).deployments.first)
        let d21 = try #require(all.first { $0.id == "d21" })
        #expect(row == DeploymentSummary(id: "d21", service: "api", ami: d21.image, state: d21.state, createdAt: d21.createdAt,
                                         updatedAt: d21.updatedAt, actor: d21.actor))
        #expect(try other.latest(service: "web", states: [.rolledBack])?.id == Self.newestFirst(all.filter { $0.service == "web" && $0.state == .rolledBack }).first)
        #expect(try other.latest(service: "nope", states: DeploymentState.allCases) == nil)
        #expect(try other.deployments(service: "web", limit: 2, activeOnly: false).map(\.id) == ["live", "d23"])
    }

    @Test(arguments: StoreFactories.available)
    func housekeepingFindsRetainedBluesAndLeftoverRoutes(_ backend: StoreFactory) throws {
        let store = try backend.one()
        var kept = sampleDeployment(id: "kept", state: .completed)
        kept.retentionDeadline = t0.addingTimeInterval(3600)
        try store.insert(kept, log: created, actor: "a", at: t0)
        var retired = sampleDeployment(id: "retired", state: .completed)
        retired.blueRetiredAt = t0
        retired.createdAt = t0.addingTimeInterval(1)
        try store.insert(retired, log: created, actor: "a", at: t0)
        var apiKept = sampleDeployment(id: "api-kept", service: "api", state: .completed)
        apiKept.createdAt = t0.addingTimeInterval(2)
        try store.insert(apiKept, log: created, actor: "a", at: t0)
        var routed = sampleDeployment(id: "routed", state: .failed)
        routed.plan.spec.checks.http?.testRoute = .init(header: "x-switchyard")
        try store.insert(routed, log: created, actor: "a", at: t0)
        var cleaned = routed
        cleaned.id = "cleaned"
        cleaned.progress.insert(.testRouteRemoved)
        try store.insert(cleaned, log: created, actor: "a", at: t0)
        try store.insert(sampleDeployment(id: "plain-failed", state: .failed), log: created, actor: "a", at: t0)

        #expect(try store.retainedBlues(service: nil).map(\.id) == ["api-kept", "kept"])
        #expect(try store.retainedBlues(service: "web").map(\.id) == ["kept"])
        #expect(try store.leftoverTestRoutes(service: nil).map(\.id) == ["routed"])
        #expect(try store.leftoverTestRoutes(service: "api").isEmpty)
        #expect(try store.blueGroups(service: "web") == ["web-blue"])
        #expect(try store.blueGroups(service: "api") == ["api-blue"])
        #expect(try store.blueGroups(service: "nope").isEmpty)
    }

    @Test(arguments: StoreFactories.available)
    func exportStreamsEventsInTimeOrder(_ backend: StoreFactory) throws {
        let store = try backend.one()
        let all = try Self.seed(store)
        var seen: [ExportedEvent] = []
        try store.exportEvents(since: nil, until: nil, service: nil) { seen.append($0) }
        #expect(seen.count == all.count)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.event.at <= $1.event.at })
        #expect(seen.first?.event.message == "d00 done" && seen.first?.service == "api" && seen.first?.ami == "ami-aaaaaaaa")
        var api: [String] = []
        try store.exportEvents(since: t0.addingTimeInterval(3 * 3600), until: t0.addingTimeInterval(12 * 3600), service: "api") {
            api.append($0.event.deploymentId)
        }
        #expect(api == ["d03", "d06", "d09"])
    }

    @Test(arguments: StoreFactories.available)
    func importCarriesATrailOverOnceAndRefusesADifferentOne(_ backend: StoreFactory) throws {
        let source = try StoreFactories.sqlite.one()
        let target = try backend.one()
        var d = try source.insert(sampleDeployment(id: "moved"), log: created, actor: "a", at: t0)
        d.state = .paused
        d = try source.save(d, log: LogEntry(from: .pending, to: .paused, message: "at the gate", details: ["k": "v"]), actor: "b",
                            at: t0.addingTimeInterval(5))
        try source.addRequest(deploymentId: d.id, kind: .promote, reason: nil, actor: "lead@box", at: t0.addingTimeInterval(6))
        let trail = try source.events(deploymentId: d.id)
        let requests = try source.pendingRequests(deploymentId: d.id)

        #expect(try target.importDeployment(d, events: trail, requests: requests) == .imported)
        #expect(try target.deployment(id: d.id) == d)
        #expect(try target.events(deploymentId: d.id).map(\.content) == trail.map(\.content))
        #expect(try target.pendingRequests(deploymentId: d.id).map { [$0.kind.rawValue, $0.actor] } == [["promote", "lead@box"]])
        #expect(try target.lease(service: "web") == nil)
        // The copy goes on from the version it had: a stale writer still fails there.
        var next = try #require(try target.deployment(id: d.id))
        next.state = .promoting
        #expect(throws: StateStoreError.self) { try target.save(sampleDeployment(id: "moved"), log: nil, actor: "x", at: t0) }

        #expect(try target.importDeployment(d, events: trail, requests: requests) == .alreadyThere)
        #expect(try target.events(deploymentId: d.id).count == trail.count)
        var changed = d
        changed.greenWeight = 50
        let error = #expect(throws: StateStoreError.self) { try target.importDeployment(changed, events: trail, requests: []) }
        guard case .importConflict(let id, _)? = error else { Issue.record("wrong error: \(String(describing: error))"); return }
        #expect(id == "moved")
        #expect(throws: StateStoreError.self) { try target.importDeployment(d, events: Array(trail.prefix(1)), requests: []) }
        // A second active deployment of the service is refused as insert would.
        #expect(throws: StateStoreError.self) {
            try target.importDeployment(sampleDeployment(id: "also-active"), events: [], requests: [])
        }
        next = try target.save(next, log: nil, actor: "x", at: t0)
        #expect(next.version == (d.version ?? 1) + 1)
    }
}

@Suite struct StateCopyTests {
    @Test(arguments: StoreFactories.available)
    func aCopyCarriesEveryDeploymentOnceAndCanBeRunAgain(_ backend: StoreFactory) throws {
        let source = try StoreFactories.sqlite.one()
        let all = try StoreHistoryConformance.seed(source)
        try source.addRequest(deploymentId: "live", kind: .rollback, reason: "slow", actor: "ops@box", at: t0)
        try source.acquireLease(deploymentId: "live", service: "web", holder: machine("a"), at: t0, ttl: 15)
        let target = try backend.one()
        let counts = try StateCopy.run(from: source, to: target, pageSize: 7)
        #expect(counts.deployments == all.count && counts.events == all.count && counts.requests == 1 && counts.alreadyThere == 0)
        #expect(try target.history(HistoryQuery(limit: 100)).deployments == (try source.history(HistoryQuery(limit: 100)).deployments))
        #expect(try target.events(deploymentId: "d05").map(\.content) == (try source.events(deploymentId: "d05").map(\.content)))
        #expect(try target.pendingRequests(deploymentId: "live").map(\.reason) == ["slow"])
        #expect(try target.lease(service: "web") == nil, "leases stay behind")

        let again = try StateCopy.run(from: source, to: target, pageSize: 7)
        #expect(again.deployments == 0 && again.alreadyThere == all.count)
        #expect(try target.events(deploymentId: "d05").count == 1)
    }

    /// A source record the copy cannot read stops it before anything is written, wherever in the source it is.
    @Test(arguments: StoreFactories.available)
    func aSourceRecordInANewerFormatStopsTheCopyBeforeAnythingIsWritten(_ backend: StoreFactory) throws {
        let source = try StoreFactories.sqlite.one()
        let all = try StoreHistoryConformance.seed(source)
        var newer = sampleDeployment(id: "newer", service: "old", state: .completed)
        newer.createdAt = t0.addingTimeInterval(-86_400 * 365)
        newer.recordFormat = RecordCoding.format + 1
        try source.insert(newer, log: created, actor: "a", at: t0)
        let target = try backend.one()
        let error = #expect(throws: StateStoreError.self) { try StateCopy.run(from: source, to: target, pageSize: 3) }
        guard case .newerRecord(let id, _, _)? = error else { Issue.record("wrong refusal: \(String(describing: error))"); return }
        #expect(id == "newer")
        #expect(try target.history(HistoryQuery()).total == 0, "nothing of the \(all.count) readable ones was copied either")
    }

    @Test func aTargetHoldingADifferentDeploymentOfTheSameIdGetsNothing() throws {
        let source = try StoreFactories.sqlite.one()
        _ = try StoreHistoryConformance.seed(source)
        let target = try StoreFactories.sqlite.one()
        var other = sampleDeployment(id: "d07", state: .failed)
        other.createdAt = t0
        try target.insert(other, log: created, actor: "someone", at: t0)
        let error = #expect(throws: StateCopy.Conflicts.self) { try StateCopy.run(from: source, to: target) }
        #expect(error?.problems.count == 1 && error?.problems.first?.hasPrefix("d07: ") == true)
        #expect(try target.history(HistoryQuery()).total == 1, "nothing was copied")
    }
}
