import CSQLite
import Foundation
import StateStore
import SwitchyardCore

/// One schema migration: SQL only, no app types, applied once in its own transaction.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The migrations this binary carries, generated from migrations/*.sql.
    public static var all: [Migration] { embeddedMigrations }
}


/// The SQLite state file: deployments, their append-only event log, operator requests.
///
/// `@unchecked Sendable` is sound because every use of the connection goes through `lock`;
/// other processes are kept apart by SQLite's own file locks (WAL, busy timeout, `BEGIN IMMEDIATE`).
public final class SQLiteStateStore: StateStore, @unchecked Sendable {
    public let path: String
    public var location: String { path }
    let db: SQLiteConnection
    private let lock = NSLock()
    /// Its number in `opened` (writable stores only), whose `deinit` folds its WAL in.
    private var serial: Int?
    /// Tests only: runs in `deinit` before the WAL is folded in, to hold a closing store there.
    var beforeClosingFold: (@Sendable () -> Void)?

    /// Runs `body` with the connection to itself; every use of `db` goes through here or `lock`.
    func locked<T>(_ body: () throws -> T) throws -> T { try lock.withLock(body) }

    /// Opens or creates the state file (mode 0600, parent folders 0700) and applies pending migrations. `readOnly`
    /// opens an existing file for reading only (read commands): nothing is created, migrated or locked for writing.
    public init(path: String, migrations: [Migration] = Migration.all, readOnly: Bool = false) throws {
        self.path = path
        do {
            // A file with no tables yet (just created by another process, or by `touch`) is set up as a writer would,
            // so a read command racing a first `start` answers instead of calling it foreign.
            if readOnly, let reading = try Self.openReading(path), try Self.schemaIsCurrent(reading, migrations, path: path) {
                db = reading
                return
            }
            try Self.prepareFile(path)
            db = try SQLiteConnection(path: path)
            try db.execute("PRAGMA busy_timeout = 5000")
            // Switching a new file to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY at once, without its
            // busy handler, while another process is doing the same: two `start`s on a new state file hit it.
            _ = try Self.whileBusy(for: 5) { try db.query("PRAGMA journal_mode = WAL") }
            // Memory-mapped reads: a history page of a large state file costs no read() per page.
            try db.execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 1073741824")
            try migrate(migrations)
            serial = Self.opened.add(self)
        } catch let error as SQLiteError where error.isDamage {
            throw StateStoreError.damaged(path: path, detail: "SQLite error \(error.code): \(error.message)")
        } catch let error as SQLiteError where error.code & 0xff == SQLITE_CANTOPEN || error.code & 0xff == SQLITE_READONLY
                    || error.code & 0xff == SQLITE_PERM {
            throw StateStoreError.permissionDenied(path: path)
        }
    }

    /// Every state file this process opened for writing, so that `checkpointAll` can reach them at exit.
    private static let opened = OpenedStores()

    /// Moves every write still in the WAL of each state file this process opened into the file itself, and empties
    /// the WAL. Called just before the process exits, whatever still holds a store then (a heartbeat task, a runner):
    /// SQLite does this only when the last connection closes, and an `exit` closes nothing, so a CI job that copies
    /// `state.db` alone to the next job (docs/ci.md) would otherwise carry a file without the newest records.
    ///
    /// A store closing on another thread at that moment (its last reference gone) folds its WAL in itself: this waits
    /// for it (at most 10 s: twice the busy timeout its checkpoint may wait for another process's reader).
    public static func checkpointAll() {
        let (reached, closing) = opened.snapshot()
        for store in reached { store.checkpoint() }
        opened.waitUntilClosed(closing, until: Date().addingTimeInterval(10))
        withExtendedLifetime(reached) {}
    }

    private func checkpoint() {
        _ = try? locked { try db.query("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    deinit {
        // Only writable stores are registered (`opened.add`); a read-only one has no WAL of its own to fold.
        if let serial {
            beforeClosingFold?()
            checkpoint()
            Self.opened.closed(serial)
        }
    }

    /// Runs `body` again every 10 ms while it fails with SQLITE_BUSY, for at most `seconds`.
    static func whileBusy<T>(for seconds: TimeInterval, _ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            do {
                return try body()
            } catch let error as SQLiteError where error.code & 0xff == SQLITE_BUSY && Date() < deadline {
                usleep(10_000)
            }
        }
    }

    private func migrate(_ migrations: [Migration]) throws {
        try db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        let applied = Set(try db.query("SELECT version FROM schema_migrations").compactMap { $0[0].flatMap { Int($0) } })
        let known = migrations.map(\.version).max() ?? 0
        if let newest = applied.max(), newest > known {
            throw StateStoreError.newerSchema(path: path, version: newest, known: known)
        }
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
            try db.transaction {
                // Another process may have applied it while we waited for the write lock.
                let done = try db.query("SELECT 1 FROM schema_migrations WHERE version = ?", [.int(Int64(migration.version))])
                guard done.isEmpty else { return }
                try db.execute(migration.sql)
                try db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                             [.int(Int64(migration.version)), .text(migration.name), .text(StoredTime.text(Date()))])
            }
        }
    }

    /// `SWITCHYARD_DB`, else `$XDG_STATE_HOME/switchyard/state.db`, else `~/.local/state/switchyard/state.db`.
    public static func defaultPath(environment: [String: String]) -> String {
        StateLocation.defaultSQLitePath(environment: environment)
    }

    // MARK: - Deployments

    /// Stores a new deployment and its first event, unless another deployment of the service is active; with `lease`,
    /// takes the service's lease for it in the same transaction.
    @discardableResult
    public func insert(_ d: Deployment, log: LogEntry, actor: String, at: Date, lease: LeaseHolder?, ttl: TimeInterval) throws -> Deployment {
        var d = d
        d.version = 1
        try lock.withLock {
            try db.transaction {
                try insertRow(d)
                try appendEvent(d.id, log, actor: actor, at: at)
                if let lease {
                    if let held = try leaseRow(service: d.service), held.holder.id != lease.id, held.isLive(at: at) {
                        throw LeaseError.held(held, at: at)
                    }
                    try writeLease(service: d.service, deploymentId: d.id, holder: lease, at: at, ttl: ttl)
                }
            }
        }
        return d
    }

    /// Inserts the row (the caller holds the write transaction), refusing a second active deployment of the service.
    func insertRow(_ d: Deployment) throws {
        if !d.state.isTerminal, let active = try activeRow(service: d.service) { throw active }
        do {
            try db.query("""
                INSERT INTO deployments (id, service, ami, file_digest, state, step_index, green_weight, blue_asg, green_asg,
                    blue_target_group, green_target_group, actor, created_at, updated_at, finished_at, record, version)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, try columns(d) + [.int(Int64(d.version ?? 1))])
        } catch let error as SQLiteError where error.isConstraint {
            if !d.state.isTerminal, let active = try activeRow(service: d.service) { throw active }
            throw error
        }
    }

    private func activeRow(service: String) throws -> StateStoreError? {
        let rows = try db.query("""
            SELECT id, state, created_at FROM deployments
            WHERE service = ? AND state NOT IN ('completed', 'rolled_back', 'failed') LIMIT 1
            """, [.text(service)])
        guard let row = rows.first, let id = row[0], let state = row[1].flatMap(DeploymentState.init(rawValue:)) else { return nil }
        return .activeDeploymentExists(id: id, state: state, since: row[2].flatMap(StoredTime.parse) ?? Date())
    }

    /// Stores the new version of a deployment and its event, together. A final state changes only as
    /// `DeploymentState.allows` says (to `rolling_back`, by a rollback of a completed or failed deployment).
    /// With `holder`, the save is fenced: it happens only while that holder still has the service's lease, in the same
    /// transaction, so a process that was stopped past its lease (and taken over) can never write a stale record.
    /// It is also conditional on the version the caller read, so a stale writer fails instead of overwriting.
    @discardableResult
    public func save(_ d: Deployment, log: LogEntry?, actor: String, at: Date, holder: LeaseHolder?) throws -> Deployment {
        var saved = d
        try lock.withLock {
            try db.transaction {
                if let holder, try leaseRow(service: d.service)?.holder.id != holder.id {
                    throw LeaseError.lost(service: d.service, deploymentId: d.id)
                }
                let rows = try db.query("SELECT state, version FROM deployments WHERE id = ?", [.text(d.id)])
                guard let row = rows.first, let stored = row[0].flatMap(DeploymentState.init(rawValue:)) else {
                    throw StateStoreError.unknownDeployment(d.id)
                }
                let version = row[1].flatMap { Int($0) } ?? 1
                if version != d.version ?? 1 {
                    throw StateStoreError.staleRecord(id: d.id, expected: d.version ?? 1, found: version)
                }
                if !stored.allows(d.state) {
                    throw StateStoreError.terminalStateIsFinal(id: d.id, state: stored, attempted: d.state)
                }
                saved.version = version + 1
                var values = try columns(saved)
                values.removeFirst()
                values += [.int(Int64(version + 1)), .text(d.id), .int(Int64(version))]
                try db.query("""
                    UPDATE deployments SET service = ?, ami = ?, file_digest = ?, state = ?, step_index = ?, green_weight = ?,
                        blue_asg = ?, green_asg = ?, blue_target_group = ?, green_target_group = ?, actor = ?, created_at = ?,
                        updated_at = ?, finished_at = ?, record = ?, version = ?
                    WHERE id = ? AND version = ?
                    """, values)
                if let log { try appendEvent(d.id, log, actor: actor, at: at) }
            }
        }
        return saved
    }

    private func columns(_ d: Deployment) throws -> [SQLValue] {
        let record = String(decoding: try RecordCoding.encoder.encode(d), as: UTF8.self)
        return [
            .text(d.id), .text(d.service), .text(d.image), .text(d.fileDigest), .text(d.state.rawValue),
            .int(Int64(d.stepIndex)), .int(Int64(d.greenWeight)), .text(d.plan.blue.group),
            .text(d.plan.greenGroup), .text(d.plan.blue.pool), .text(d.plan.greenPool),
            .text(d.actor), .text(StoredTime.text(d.createdAt)), .text(StoredTime.text(d.updatedAt)),
            SQLValue(d.state.isTerminal ? StoredTime.text(d.updatedAt) : nil), .text(record),
        ]
    }

    func appendEvent(_ id: String, _ log: LogEntry, actor: String, at: Date) throws {
        let details = String(decoding: try RecordCoding.encoder.encode(log.details), as: UTF8.self)
        try db.query("INSERT INTO events (deployment_id, at, from_state, to_state, message, actor, details) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [.text(id), .text(StoredTime.text(at)), .text(log.from.rawValue), .text(log.to.rawValue),
                      .text(log.message), .text(actor), .text(details)])
    }

    /// One deployment, with its stored version.
    public func deployment(id: String) throws -> Deployment? {
        try lock.withLock { try records("SELECT id, record, version FROM deployments WHERE id = ?", [.text(id)]).first }
    }

    /// Deployments newest first, optionally of one service, optionally only the active ones.
    public func deployments(service: String?, limit: Int, activeOnly: Bool) throws -> [Deployment] {
        // The active ones are a handful of rows in the one-active-per-service index; without naming it, SQLite walks the
        // whole history in created_at order to find them (0.19 s on 100,000 deployments instead of 4 ms).
        var sql = "SELECT id, record, version FROM deployments" + (activeOnly ? " INDEXED BY deployments_one_active_per_service" : "") + " WHERE 1 = 1"
        var values: [SQLValue] = []
        if let service {
            sql += " AND service = ?"
            values.append(.text(service))
        }
        if activeOnly { sql += " AND state NOT IN ('completed', 'rolled_back', 'failed')" }
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        values.append(.int(Int64(limit)))
        return try lock.withLock { try records(sql, values) }
    }

    /// Completed deployments (of one service, or all) whose blue has not been retired yet, newest first. Read through
    /// a partial index that holds only them, so the cost does not grow with the history.
    public func retainedBlues(service: String?) throws -> [Deployment] {
        var sql = "SELECT id, record, version FROM deployments INDEXED BY deployments_blue_retained "
            + "WHERE state = 'completed' AND json_extract(record, '$.blueRetiredAt') IS NULL"
        var values: [SQLValue] = []
        if let service {
            sql += " AND service = ?"
            values.append(.text(service))
        }
        return try lock.withLock { try records(sql + " ORDER BY created_at DESC, id DESC", values) }
    }

    /// Failed deployments (of one service, or all) whose test-route rule may still stand on the listener: `gc` removes it.
    public func leftoverTestRoutes(service: String?) throws -> [Deployment] {
        var sql = "SELECT id, record, version FROM deployments WHERE state = 'failed' "
            + "AND json_extract(record, '$.plan.spec.checks.http.testRoute') IS NOT NULL AND json_extract(record, '$.testRouteRemoved') IS NULL"
        var values: [SQLValue] = []
        if let service {
            sql += " AND service = ?"
            values.append(.text(service))
        }
        return try lock.withLock { try records(sql + " ORDER BY created_at DESC, id DESC", values) }
    }

    /// Every group that was blue for a deployment of the service, from the indexed column (no record is decoded).
    public func blueGroups(service: String) throws -> Set<String> {
        Set(try lock.withLock { try db.query("SELECT DISTINCT blue_asg FROM deployments WHERE service = ?", [.text(service)]) }
            .compactMap { $0[0] })
    }

    /// The newest deployment of a service in one of `states`.
    public func latest(service: String, states: [DeploymentState]) throws -> Deployment? {
        let marks = states.map { _ in "?" }.joined(separator: ", ")
        let sql = "SELECT id, record, version FROM deployments WHERE service = ? AND state IN (\(marks)) ORDER BY created_at DESC, id DESC LIMIT 1"
        return try lock.withLock { try records(sql, [.text(service)] + states.map { .text($0.rawValue) }).first }
    }

    /// Decodes rows of `id, record, version`; the version column is the one the store checks, so it wins.
    func records(_ sql: String, _ values: [SQLValue]) throws -> [Deployment] {
        let rows = try db.query(sql, values)
        return try RecordCoding.decodeAll(rows.count) { i in
            let row = rows[i]
            let id = row[0] ?? "?"
            var d: Deployment
            do {
                d = try RecordCoding.decoder.decode(Deployment.self, from: Data((row[1] ?? "").utf8))
            } catch {
                throw StateStoreError.corruptRecord(id: id, detail: String(describing: error))
            }
            try RecordCoding.checkFormat(d, id: id)
            d.version = row[2].flatMap { Int($0) } ?? 1
            return d
        }
    }
}


/// The writable stores of this process, weakly, and how many of them have not finished closing.
///
/// A store's last reference may go on another thread (a heartbeat task ending) just as the process exits: Swift clears
/// a weak reference when the last strong one goes, before `deinit` has run, so `checkpointAll` saw no store while that
/// thread was still folding the WAL in as SQLite closed the file, and the exit cut it off (a CI job then copied a state
/// file without the newest deployment, in about one release-build run in eight under load). So a store counts as open
/// until its `deinit` has folded its WAL in, and `checkpointAll` waits for those it could not reach.
private final class OpenedStores: @unchecked Sendable {
    private struct Weak { weak var store: SQLiteStateStore?; let serial: Int }
    private let condition = NSCondition()
    private var stores: [Weak] = []
    private var next = 0
    /// The serials of the stores not yet closed (`closed`).
    private var open = Set<Int>()

    /// Registers a writable store; the serial it returns is given back to `closed`.
    func add(_ store: SQLiteStateStore) -> Int {
        condition.withLock {
            stores.removeAll { $0.store == nil }
            next += 1
            stores.append(Weak(store: store, serial: next))
            open.insert(next)
            return next
        }
    }

    /// From a store's `deinit`, once its WAL is folded in.
    func closed(_ serial: Int) {
        condition.withLock {
            open.remove(serial)
            condition.broadcast()
        }
    }

    /// The stores still reachable, and the serials of those open but no longer reachable (closing now).
    func snapshot() -> (reached: [SQLiteStateStore], closing: Set<Int>) {
        condition.withLock {
            var reached: [SQLiteStateStore] = [], serials = Set<Int>()
            for entry in stores { if let store = entry.store { reached.append(store); serials.insert(entry.serial) } }
            return (reached, open.subtracting(serials))
        }
    }

    /// Waits, until `deadline`, for the `closing` stores to have closed (stores opened since are not waited for).
    func waitUntilClosed(_ closing: Set<Int>, until deadline: Date) {
        condition.withLock {
            while !open.isDisjoint(with: closing), condition.wait(until: deadline) {}
        }
    }
}
