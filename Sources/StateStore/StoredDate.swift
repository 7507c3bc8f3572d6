import Foundation
import SwitchyardCore

/// Dates as stored and shown in JSON: ISO-8601 UTC with milliseconds (`2026-11-24T23:50:01.123Z`), so text order is
/// time order. Written and read by hand with the C library: Foundation's ISO8601DateFormatter costs about half a
/// millisecond to create on Linux, which a page of history paid forty times.
public enum StoredDate {
    public static func text(_ date: Date) -> String {
        var milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
        var seconds = time_t((milliseconds / 1000).rounded(.down))
        milliseconds -= Double(seconds) * 1000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard bytes[i] >= 48, bytes[i] <= 57 else { return nil }
                value = value * 10 + Int(bytes[i] - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var fraction = 0.0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, let digits = number(20..<(bytes.count - 1)) else { return nil }
            fraction = Double(digits) / pow(10, Double(bytes.count - 21))
        } else if bytes[19] != UInt8(ascii: "Z") {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

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
            try container.encode(StoredDate.text(date))
        }
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = StoredDate.parse(text) else {
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
