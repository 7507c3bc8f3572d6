import CSQLite
import Foundation
import StateStore

extension SQLiteStateStore {
    /// SQLite's own check of every page and index (`PRAGMA integrity_check`): the problems it reports, or none.
    /// A file too damaged for the check to run is one problem, in SQLite's words.
    public func integrityProblems(limit: Int = 100) throws -> [String] {
        do {
            let rows = try locked { try db.query("PRAGMA integrity_check(\(max(1, limit)))") }
            let lines = rows.compactMap { $0.first ?? nil }
            return lines == ["ok"] ? [] : lines
        } catch let error as SQLiteError where error.isDamage {
            return ["SQLite error \(error.code): \(error.message)"]
        }
    }
}

/// Opening the file: creating it for writers, reading it without a write lock for read commands.
extension SQLiteStateStore {
    /// A read-only connection, or nil when the file has no tables yet; in a folder this process may not write (no WAL
    /// shared-memory file can be made there), an immutable one.
    static func openReading(_ path: String) throws -> SQLiteConnection? {
        func tables(_ db: SQLiteConnection) throws -> Int {
            Int(try db.query("SELECT count(*) FROM sqlite_master").first?[0] ?? "0") ?? 0
        }
        do {
            let db = try SQLiteConnection(path: path, readOnly: true)
            try db.execute("PRAGMA busy_timeout = 5000")
            return try tables(db) > 0 ? db : nil
        } catch let error as SQLiteError where error.code & 0xff == SQLITE_CANTOPEN || error.code & 0xff == SQLITE_READONLY {
            let db = try SQLiteConnection(path: path, readOnly: true, immutable: true)
            return try tables(db) > 0 ? db : nil
        }
    }

    static func prepareFile(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            // Foundation's own words here are "NSCocoaErrorDomain Code=513"; say what a person can act on.
            throw StateStoreError.permissionDenied(path: url.deletingLastPathComponent().path)
        }
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EACCES || errno == EROFS || errno == EPERM { throw StateStoreError.permissionDenied(path: path) }
            throw StateStoreError.notADatabase(path: path, detail: String(cString: strerror(errno)))
        }
        fchmod(fd, 0o600)
        close(fd)
    }

    /// Whether the file has every migration this binary knows (read-only opening needs no change); refuses a file
    /// written by a newer switchyard. A file not yet fully set up (another process is migrating it) is not current.
    static func schemaIsCurrent(_ db: SQLiteConnection, _ migrations: [Migration], path: String) throws -> Bool {
        let tables = try db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard !tables.isEmpty else { throw StateStoreError.notADatabase(path: path, detail: "it has no schema_migrations table") }
        let applied = Set(try db.query("SELECT version FROM schema_migrations").compactMap { $0[0].flatMap { Int($0) } })
        let known = migrations.map(\.version).max() ?? 0
        if let newest = applied.max(), newest > known { throw StateStoreError.newerSchema(path: path, version: newest, known: known) }
        return Set(migrations.map(\.version)).isSubset(of: applied)
    }
}
