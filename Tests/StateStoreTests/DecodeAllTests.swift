import Foundation
@testable import SQLiteStateStore
@testable import StateStore
import SwitchyardCore
import Testing

/// A page of records is decoded across the cores (`RecordCoding.decodeAll`): what comes back must be what decoding
/// them one after another gives, order and failures included.
@Suite struct DecodeAllTests {
    struct Failed: Error, Equatable { let index: Int }

    @Test func resultsKeepTheirOrder() throws {
        for count in [0, 1, RecordCoding.concurrentMinimum - 1, RecordCoding.concurrentMinimum, 1000] {
            #expect(try RecordCoding.decodeAll(count) { $0 * 3 } == (0..<count).map { $0 * 3 }, "\(count)")
        }
    }

    @Test func theLowestFailingIndexIsTheErrorThrown() {
        for failing in [[5], [700, 500, 999], [0, 999]] {
            #expect(throws: Failed(index: failing.min()!)) {
                _ = try RecordCoding.decodeAll(1000) { i in
                    if failing.contains(i) { throw Failed(index: i) }
                    return i
                }
            }
        }
    }

    /// Forty records through the SQLite store's page: newest first, every field as stored, and a damaged record in the
    /// middle of the page still named by its id.
    @Test func aSQLitePageDecodedAcrossCoresIsTheStoredPage() throws {
        let path = temporaryPath()
        let store = try SQLiteStateStore(path: path)
        var ids: [String] = []
        for n in 0..<40 {
            var d = sampleDeployment(id: String(format: "20270110-0800%02d-%04d", n, n), service: "svc-\(n % 7)", state: .completed)
            d.createdAt = t0.addingTimeInterval(Double(n) * 60)
            d.plan.image = String(format: "ami-%08d", n)
            try store.insert(d, log: created, actor: "a", at: d.createdAt)
            ids.append(d.id)
        }
        let page = try store.historyPage(HistoryQuery(limit: 40))
        #expect(page.map(\.id) == ids.reversed())
        #expect(page.map(\.image) == (0..<40).reversed().map { String(format: "ami-%08d", $0) })
        #expect(page.map(\.service) == (0..<40).reversed().map { "svc-\($0 % 7)" })

        _ = try store.rawQuery("UPDATE deployments SET record = '{\"state\": 7}' WHERE id IN ('\(ids[12])', '\(ids[30])')")
        #expect { _ = try store.historyPage(HistoryQuery(limit: 40)) } throws: { error in
            guard case StateStoreError.corruptRecord(let id, _) = error else { return false }
            return id == ids[30]   // newest first: the record of n = 30 comes before n = 12 on the page
        }
    }
}
