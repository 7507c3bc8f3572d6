import Foundation

/// A JSON value the core keeps without reading it: a cloud's own settings of a section of the deployment file (AWS's
/// CloudWatch metric checks, `checks.metrics`), stored in the record as the cloud's type encodes them and read back
/// by that type (`decode`). The record's bytes are the same as if the core held the cloud's type: an object's keys
/// are written sorted by the record's encoder either way, and integers stay integers.
public indirect enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An empty list: a section the file leaves out.
    public static let none = JSONValue.array([])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        // Strings first: most values a cloud keeps are (ARNs, names), and each failed try costs a decoding error. A
        // JSON string never reads as a number or a boolean, nor they as a string, so the order changes no value.
        if let value = try? c.decode(String.self) { self = .string(value); return }
        if let value = try? c.decode(Bool.self) { self = .bool(value); return }
        if let value = try? c.decode(Int.self) { self = .int(value); return }
        if let value = try? c.decode(Double.self) { self = .double(value); return }
        if let value = try? c.decode([JSONValue].self) { self = .array(value); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let value): try c.encode(value)
        case .int(let value): try c.encode(value)
        case .double(let value): try c.encode(value)
        case .string(let value): try c.encode(value)
        case .array(let value): try c.encode(value)
        case .object(let value): try c.encode(value)
        }
    }

    /// A value of the cloud's type, as that type encodes itself.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
    }

    /// The cloud's type read back; an error (the type's own decoding error) when the value is not one.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: try JSONEncoder().encode(self))
    }

    /// Whether the value is nothing: null, or an empty list or object.
    public var isEmpty: Bool {
        switch self {
        case .null: return true
        case .array(let items): return items.isEmpty
        case .object(let fields): return fields.isEmpty
        default: return false
        }
    }
}
