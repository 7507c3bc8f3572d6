import CSQLite
import Foundation
import StateStore

/// A failure reported by SQLite, with its message and extended result code.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var path: String

    public var description: String {
        if isDamage { return StateStoreError.damaged(path: path, detail: "SQLite error \(code): \(message)").description }
        if isBusy {
            return "the state file \(path) stayed locked by another process for more than 5 s (SQLite error \(code): "
                + "\(message)); a switchyard stopped in the middle of a write (SIGSTOP, a suspended machine, a paused "
                + "container) holds the lock until it runs again or exits, and `fuser \(path)` names the processes that "
                + "have the file open. Run the command again once it is free"
        }
        return "SQLite error \(code) on \(path): \(message)"
    }

    /// True when another connection held the lock past the busy timeout (SQLITE_BUSY, SQLITE_LOCKED): a live or
    /// frozen process has the file, a conflict (exit 4), not damage.
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }

    /// True for SQLITE_CONSTRAINT and its extended codes.
    public var isConstraint: Bool { code & 0xff == SQLITE_CONSTRAINT }

    /// True when SQLite found the file damaged (SQLITE_CORRUPT, SQLITE_NOTADB): no retry helps, only a good copy.
    public var isDamage: Bool { code & 0xff == SQLITE_CORRUPT || code & 0xff == SQLITE_NOTADB }
}

/// One value bound to a statement parameter.
enum SQLValue {
    case text(String)
    case int(Int64)
    case null

    init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
}

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A thin wrapper over one sqlite3 connection. Not thread-safe by itself: `StateStore` serialises access.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    let path: String

    /// `readOnly` opens without the write lock or the right to create, so a state file the user may only read can still be read.
    /// `immutable` (read-only only) reads a file in a folder this process may not write, where SQLite cannot create
    /// the WAL's shared-memory file: SQLite then assumes nobody changes the file while it is open.
    init(path: String, readOnly: Bool = false, immutable: Bool = false) throws {
        self.path = path
        var flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        var name = path
        if readOnly && immutable {
            flags |= SQLITE_OPEN_URI
            let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%"))) ?? path
            name = "file:\(escaped)?immutable=1"
        }
        let rc = sqlite3_open_v2(name, &handle, flags, nil)
        guard rc == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw SQLiteError(code: rc, message: message, path: path)
        }
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    private func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), path: path)
    }

    /// Runs one or more statements that take no parameters and return nothing needed.
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(message)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: text, path: path)
        }
    }

    /// Runs a statement with parameters; returns every row as its columns' text (NULL as nil).
    @discardableResult
    func query(_ sql: String, _ values: [SQLValue] = []) throws -> [[String?]] {
        var rows: [[String?]] = []
        try each(sql, values) { rows.append($0) }
        return rows
    }

    /// Runs a statement and hands each row to `body` as it is read, so a large result is never held at once.
    func each(_ sql: String, _ values: [SQLValue] = [], _ body: ([String?]) throws -> Void) throws {
        var statement: OpaquePointer?
        var rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK else { throw error(rc) }
        defer { sqlite3_finalize(statement) }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .text(let text): rc = sqlite3_bind_text(statement, position, text, -1, SQLITE_TRANSIENT)
            case .int(let number): rc = sqlite3_bind_int64(statement, position, number)
            case .null: rc = sqlite3_bind_null(statement, position)
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        while true {
            rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc) }
            let count = sqlite3_column_count(statement)
            try body((0..<count).map { column in
                sqlite3_column_text(statement, column).map { String(cString: $0) }
            })
        }
    }

    /// Runs `body` in a transaction; `BEGIN IMMEDIATE` takes the write lock at once so checks inside stay true.
    func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
}
