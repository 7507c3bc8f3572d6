#if SWITCHYARD_TESTING
/// What only the tests reach: compiled into debug builds alone (Package.swift defines SWITCHYARD_TESTING for them).
extension SQLiteStateStore {
    /// Runs raw SQL; for tests only.
    func rawQuery(_ sql: String) throws -> [[String?]] {
        try locked { try db.query(sql) }
    }
}
#endif
