import Foundation
@testable import SQLiteStateStore
@testable import StateStore
import SwitchyardCore
import Testing

@Suite struct DamageTests {
    /// A state file of one deployment, checkpointed so every page is in the main file.
    func written() throws -> String {
        let path = temporaryPath()
        let store = try SQLiteStateStore(path: path)
        try store.insert(sampleDeployment(id: "20270110-080000-0001", service: "web"), log: created, actor: "a", at: t0)
        _ = try store.rawQuery("PRAGMA wal_checkpoint(TRUNCATE)")
        return path
    }

    @Test func aSoundFileOpensReadOnlyAndPassesTheCheck() throws {
        let store = try SQLiteStateStore(path: try written(), readOnly: true)
        #expect(try store.integrityProblems().isEmpty)
        #expect(try store.deployment(id: "20270110-080000-0001")?.service == "web")
    }

    @Test func aFileWithItsTablePagesOverwrittenIsReportedDamagedNotAsFewerRows() throws {
        let path = try written()
        let root = try SQLiteStateStore(path: path, readOnly: true).rawQuery("SELECT rootpage FROM sqlite_master WHERE name = 'deployments'")
        let page = Int(root.first?[0] ?? "") ?? 0
        #expect(page > 1)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64((page - 1) * 4096))
        handle.write(Data(repeating: 0xFF, count: 4096))
        try handle.close()
        let store = try SQLiteStateStore(path: path, readOnly: true)
        #expect(try !store.integrityProblems().isEmpty)
        #expect { _ = try store.deployment(id: "20270110-080000-0001") } throws: { error in
            (error as? SQLiteError)?.isDamage == true && String(describing: error).contains("the state file \(path) is damaged")
        }
    }

    @Test func aFileThatIsNotSQLiteIsDamaged() throws {
        let path = temporaryPath()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect { _ = try SQLiteStateStore(path: path, readOnly: true) } throws: { error in
            if case StateStoreError.damaged = error { return true }
            return false
        }
    }
}
