/// A length of time as written in deployment files (`500ms`, `30s`, `5m`, `1h`), kept in milliseconds.
public struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> TimeSpan { TimeSpan(milliseconds: m * 60_000) }
    public static let zero = TimeSpan(milliseconds: 0)

    public var seconds: Double { Double(milliseconds) / 1000 }

    /// Parses `<integer><unit>` with unit `ms`, `s`, `m` or `h`; combinations like `1m30s` are accepted too.
    public init?(parsing text: String) {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        var total: Int64 = 0
        var digits = ""
        var index = s.startIndex
        var sawUnit = false
        while index < s.endIndex {
            let c = s[index]
            if c.isASCII, c.isNumber {
                digits.append(c)
                index = s.index(after: index)
                continue
            }
            guard let value = Int64(digits) else { return nil }
            let rest = s[index...]
            let factor: Int64
            if rest.hasPrefix("ms") { factor = 1; index = s.index(index, offsetBy: 2) }
            else if c == "s" { factor = 1000; index = s.index(after: index) }
            else if c == "m" { factor = 60_000; index = s.index(after: index) }
            else if c == "h" { factor = 3_600_000; index = s.index(after: index) }
            else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            total += product
            digits = ""
            sawUnit = true
        }
        guard digits.isEmpty, sawUnit else { return nil }
        self.milliseconds = total
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.milliseconds = try container.decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(milliseconds)
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }
    public static func + (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan { TimeSpan(milliseconds: lhs.milliseconds + rhs.milliseconds) }

    /// The shortest exact spelling: `90s` stays `90s`, `120000ms` becomes `2m`.
    public var description: String {
        let ms = milliseconds
        if ms == 0 { return "0s" }
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}
