#if SWITCHYARD_TESTING
/// What only the tests reach: compiled into debug builds alone (Package.swift defines SWITCHYARD_TESTING for them).
extension SQLiteStateStore {
    /// Runs raw SQL; for tests only.
    func rawQuery(_ sql: String) throws -> [[String?]] {
        try locked { try db.query(sql) }
    }

    /// The versions recorded in schema_migrations, in order.
    func appliedMigrations() throws -> [Int] {
        try locked { try db.query("SELECT version FROM schema_migrations ORDER BY version").compactMap { $0[0].flatMap { Int($0) } } }
    }
}
#endif
