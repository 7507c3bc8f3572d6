import Foundation
import SwitchyardCore

/// JSON for the stored record: sorted keys, dates with milliseconds.
public enum RecordCoding {
    /// The newest record format this switchyard reads and writes (`Deployment.recordFormat`; nil in a record is 1). A
    /// change to what a record means (a field renamed, progress kept another way) raises it, so an older switchyard
    /// sharing the store (a team's DynamoDB table) refuses the record instead of taking a missing field for "not done".
    public static let format = 3

    /// Refuses a record written in a newer format than this switchyard knows.
    public static func checkFormat(_ d: Deployment, id: String) throws {
        let found = d.recordFormat ?? 1
        if found > format { throw StateStoreError.newerRecord(id: id, format: found, known: format) }
    }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(StoredTime.text(date))
        }
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = StoredTime.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO-8601 date: \(text)")
            }
            return date
        }
        return decoder
    }()

    /// Below this many records a page is decoded on the calling thread: spreading it costs more than it saves.
    static let concurrentMinimum = 16

    /// Decodes stored records (`decode(i)` for `i` in `0..<count`) across the machine's cores, in order: a page of
    /// `history --json` spends most of its time in JSONDecoder, one record at a time. Each record is decoded by one
    /// call, results keep their index, and a failure throws the error of the lowest failing index, as decoding them
    /// one after another would.
    public static func decodeAll<T: Sendable>(_ count: Int, _ decode: @Sendable (Int) throws -> T) throws -> [T] {
        guard count >= concurrentMinimum, ProcessInfo.processInfo.activeProcessorCount > 1 else {
            return try (0..<count).map(decode)
        }
        let results = DecodedRecords<T>(count)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            results.set(i, Result { try decode(i) })
        }
        return try results.values()
    }
}

/// The slots `decodeAll` fills from several threads, each index written once.
private final class DecodedRecords<T>: @unchecked Sendable {
    private var slots: [Result<T, Error>?]
    private let lock = NSLock()

    init(_ count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ result: Result<T, Error>) { lock.withLock { slots[i] = result } }

    func values() throws -> [T] { try lock.withLock { slots }.map { try $0!.get() } }
}
