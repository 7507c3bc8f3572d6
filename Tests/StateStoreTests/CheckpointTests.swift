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

    /// The last reference to a store can go on another thread (a heartbeat task ending) just as the process exits: the
    /// weak reference `checkpointAll` looks through is already empty while that thread still folds the WAL in, and an
    /// exit then cut it off (a CI job copied a state file without the newest deployment). `checkpointAll` waits for
    /// such a store: here one is held for 300 ms in its `deinit` before it folds its WAL in, its last reference dropped
    /// on another thread, and the file is copied alone as soon as `checkpointAll` returns (without the wait, every copy
    /// lacked the record).
    @Test func aStoreClosingOnAnotherThreadAsCheckpointAllRunsIsFoldedInBeforeItReturns() throws {
        let folder = temporaryPath("rounds")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        final class Box: @unchecked Sendable { var store: SQLiteStateStore? }
        for round in 0..<3 {
            let path = "\(folder)/state-\(round).db"
            let box = Box()
            box.store = try SQLiteStateStore(path: path)
            let d = sampleDeployment(id: "20270115-080000-000\(round)")
            try box.store?.insert(d, log: created, actor: "a", at: t0)
            let closing = DispatchSemaphore(value: 0)
            box.store?.beforeClosingFold = { closing.signal(); usleep(300_000) }
            Thread { box.store = nil }.start()
            closing.wait()  // the store is in its deinit now: no weak reference reaches it
            SQLiteStateStore.checkpointAll()
            let copy = "\(folder)/copy-\(round).db"
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            #expect(try SQLiteStateStore(path: copy, readOnly: true).deployment(id: d.id)?.id == d.id, "round \(round)")
        }
    }
}
