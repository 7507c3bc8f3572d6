import Foundation

/// One DynamoDB attribute as its JSON wire format writes it: `{"S": "text"}`, `{"N": "42"}`, `{"M": {...}}`.
/// Numbers stay text, as DynamoDB sends them, so nothing is rounded on the way through.
public indirect enum AttributeValue: Sendable, Hashable, Codable {
    case s(String)
    case n(String)
    case b(Data)
    case bool(Bool)
    case null
    case m([String: AttributeValue])
    case l([AttributeValue])
    case ss([String])
    case ns([String])
    case bs([Data])

    /// A number attribute from an integer.
    public static func number(_ value: Int) -> AttributeValue { .n(String(value)) }

    /// The text of an `S`, else nil.
    public var string: String? { if case .s(let text) = self { return text } else { return nil } }
    /// The value of an `N` that is a whole number, else nil.
    public var int: Int? { if case .n(let text) = self { return Int(text) } else { return nil } }
    /// The value of a `BOOL`, else nil.
    public var boolValue: Bool? { if case .bool(let value) = self { return value } else { return nil } }
    /// The members of an `M`, else nil.
    public var map: [String: AttributeValue]? { if case .m(let members) = self { return members } else { return nil } }

    private enum Key: String, CodingKey {
        case s = "S", n = "N", b = "B", bool = "BOOL", null = "NULL", m = "M", l = "L", ss = "SS", ns = "NS", bs = "BS"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .s(let value): try container.encode(value, forKey: .s)
        case .n(let value): try container.encode(value, forKey: .n)
        case .b(let value): try container.encode(value.base64EncodedString(), forKey: .b)
        case .bool(let value): try container.encode(value, forKey: .bool)
        case .null: try container.encode(true, forKey: .null)
        case .m(let value): try container.encode(value, forKey: .m)
        case .l(let value): try container.encode(value, forKey: .l)
        case .ss(let value): try container.encode(value, forKey: .ss)
        case .ns(let value): try container.encode(value, forKey: .ns)
        case .bs(let value): try container.encode(value.map { $0.base64EncodedString() }, forKey: .bs)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath,
                                                    debugDescription: "an AttributeValue has exactly one of S, N, B, BOOL, NULL, M, L, SS, NS, BS"))
        }
        switch key {
        case .s: self = .s(try container.decode(String.self, forKey: key))
        case .n: self = .n(try container.decode(String.self, forKey: key))
        case .b: self = .b(try Self.base64(try container.decode(String.self, forKey: key), container, key))
        case .bool: self = .bool(try container.decode(Bool.self, forKey: key))
        case .null: self = .null
        case .m: self = .m(try container.decode([String: AttributeValue].self, forKey: key))
        case .l: self = .l(try container.decode([AttributeValue].self, forKey: key))
        case .ss: self = .ss(try container.decode([String].self, forKey: key))
        case .ns: self = .ns(try container.decode([String].self, forKey: key))
        case .bs: self = .bs(try container.decode([String].self, forKey: key).map { try Self.base64($0, container, key) })
        }
    }

    private static func base64(_ text: String, _ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> Data {
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not base64")
        }
        return data
    }
}

/// A DynamoDB item (or key): attribute names to values.
public typealias DynamoItem = [String: AttributeValue]
