import Foundation
@testable import SQLiteStateStore
@testable import StateStore
import SwitchyardCore
import Testing

@Suite struct CheckpointTests {
    /// docs/ci.md copies `state.db` alone from one CI job to the next. While a store is still open its newest writes are
    /// in the WAL beside the file, so the process folds them in at exit (`checkpointAll`): then the file alone holds them.
    @Test func afterCheckpointAllTheFileAloneHoldsEveryRecordWhileTheStoreIsStillOpen() throws {
        let path = temporaryPath()
        let store = try SQLiteStateStore(path: path)
        let d = sampleDeployment(id: "20270115-080000-00c1")
        try store.insert(d, log: created, actor: "a", at: t0)

        func copiedAlone(_ name: String) throws -> SQLiteStateStore {
            let copy = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(name).path
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            return try SQLiteStateStore(path: copy, readOnly: true)
        }
        // Without the checkpoint the copy lacks the record: this is what the test guards against.
        #expect(try copiedAlone("before.db").deployment(id: d.id) == nil)
        SQLiteStateStore.checkpointAll()
        #expect(try copiedAlone("after.db").deployment(id: d.id)?.id == d.id)
        withExtendedLifetime(store) {}
    }
}
