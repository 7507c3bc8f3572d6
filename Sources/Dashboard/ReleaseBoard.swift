import Foundation
import StateStore
import SwitchyardCore

/// What the dashboard knows of every service, kept current by reading the store's event log as it grows (one read of
/// the whole log at start, then only what was written since) and the records of the deployments that changed. The
/// page's service strip, `/metrics` and the live updates answer from it, never from a scan of the store: at 10,000
/// deployments a scrape costs what one service's line costs.
public final class ReleaseBoard: @unchecked Sendable {
    /// One service as the board has it.
    public struct Service: Sendable {
        public var name: String
        /// The newest deployment of the service, as last read.
        public var latest: Deployment?
        public var deployments = 0
        public var rollbacks = 0
        /// Check failures that rolled a release back or paused it, by kind (`http`, `alarm`, `metric`, `hook`, …).
        public var checkFailures: [String: Int] = [:]
        var latestId = ""
        var latestFirstSeen = Date.distantPast
    }

    /// A reading of the board: every service by name, and the change counter the live updates wait on.
    public struct Snapshot: Sendable {
        public var services: [Service]
        public var generation: Int
        public var refreshedAt: Date?
        public var refreshSeconds: Double
    }

    private let lock = NSLock()
    private var services: [String: Service] = [:]
    /// The newest event time read; the next read starts a minute before it, since writers' clocks differ a little.
    private var watermark: Date?
    /// The last event id read per deployment: ids grow in writing order within a deployment, so a re-read is skipped.
    private var lastEvent: [String: Int64] = [:]
    /// The stored version of each active deployment at the last look: a save without an event (a tick of checks) is
    /// a change too.
    private var activeVersions: [String: Int] = [:]
    private var generation = 0
    private var changed: [String: Int] = [:]
    private var refreshedAt: Date?
    private var refreshSeconds = 0.0

    public init() {}

    static let overlap: TimeInterval = 60

    /// Reads what was written since the last refresh. Safe to call from one thread while others read snapshots.
    public func refresh(_ store: StateStore, now: Date = Date()) throws {
        let started = Date()
        lock.lock()
        let since = watermark.map { $0.addingTimeInterval(-Self.overlap) }
        var known = lastEvent
        var updated = services
        lock.unlock()
        var touched: [String: String] = [:]  // deployment -> service, of every deployment with new events
        var newest = watermark
        try store.exportEvents(since: since, until: nil, service: nil) { exported in
            let e = exported.event
            if let last = known[e.deploymentId], e.id <= last { return }
            let firstOfDeployment = known[e.deploymentId] == nil
            known[e.deploymentId] = e.id
            touched[e.deploymentId] = exported.service
            if newest.map({ e.at > $0 }) ?? true { newest = e.at }
            var service = updated[exported.service] ?? Service(name: exported.service)
            if firstOfDeployment {
                service.deployments += 1
                if e.at > service.latestFirstSeen || (e.at == service.latestFirstSeen && e.deploymentId > service.latestId) {
                    service.latestFirstSeen = e.at
                    service.latestId = e.deploymentId
                }
            }
            if e.to == .rolledBack && e.from != .rolledBack { service.rollbacks += 1 }
            if let kind = Self.failureKind(e) { service.checkFailures[kind, default: 0] += 1 }
            updated[exported.service] = service
        }
        let active = try store.deployments(service: nil, limit: 500, activeOnly: true)
        var versions: [String: Int] = [:]
        lock.lock()
        for d in active {
            versions[d.id] = d.version ?? 1
            if activeVersions[d.id] != versions[d.id] { touched[d.id] = d.service }
        }
        // One that stopped being active changed too (its final save also wrote an event, unless the log was missed).
        for id in activeVersions.keys where versions[id] == nil { touched[id] = touched[id] ?? updated.values.first { $0.latestId == id }?.name }
        lock.unlock()
        let activeById = Dictionary(active.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (id, serviceName) in touched {
            guard var service = updated[serviceName], service.latestId == id else { continue }
            service.latest = try activeById[id] ?? store.deployment(id: id)
            updated[serviceName] = service
        }
        lock.lock()
        services = updated
        lastEvent = known
        watermark = newest
        activeVersions = versions
        if !touched.isEmpty {
            generation += 1
            for id in touched.keys { changed[id] = generation }
        }
        refreshedAt = now
        refreshSeconds = Date().timeIntervalSince(started)
        lock.unlock()
    }

    /// The kind of check failure an event records, if it is one: a rollback or pause a check (not a person) caused.
    static func failureKind(_ e: StoredEvent) -> String? {
        guard e.from != e.to, e.to == .rollingBack || e.to == .paused, let check = e.details["check"], check != "manual" else { return nil }
        let kind = check.split(separator: ":", maxSplits: 1).first.map(String.init) ?? check
        return kind.replacingOccurrences(of: "-", with: "_")
    }

    public func snapshot() -> Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return Snapshot(services: services.values.sorted { $0.name < $1.name }, generation: generation, refreshedAt: refreshedAt,
                        refreshSeconds: refreshSeconds)
    }

    /// The change counter now (for a stream's start).
    public var currentGeneration: Int {
        lock.lock()
        defer { lock.unlock() }
        return generation
    }

    /// The change counter now, if something changed after `generation` (of `deployment` only, when given).
    public func changed(after generation: Int, deployment: String?) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        if let deployment { return (changed[deployment] ?? 0) > generation ? self.generation : nil }
        return self.generation > generation ? self.generation : nil
    }
}
