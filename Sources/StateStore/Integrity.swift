import Foundation

extension StateStore {
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
