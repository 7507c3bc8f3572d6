import Foundation
import StateStore
import SwitchyardCore

/// The list's filters, from a query string, as `history` takes them: `service`, `status` (repeatable), `ami`, `since`,
/// `until` (a span back from now, `7d`, or a date), `limit`, `page`.
public struct ListFilter: Sendable, Equatable {
    public var service: String?
    public var states: [DeploymentState] = []
    public var ami: String?
    public var sinceText: String?
    public var untilText: String?
    public var since: Date?
    public var until: Date?
    public var limit = 25
    public var page = 1

    public init() {}

    /// The filter a request asks for; a bad value is a 400 naming the parameter.
    public init(_ request: HTTPRequest, now: Date, defaultLimit: Int = 25) throws {
        func bad(_ text: String) -> HTTPParseError { HTTPParseError(status: 400, description: text) }
        let known: Set<String> = ["service", "status", "ami", "since", "until", "limit", "page"]
        if let unknown = request.query.first(where: { !known.contains($0.name) }) {
            throw bad("unknown parameter `\(unknown.name)`; the list takes \(known.sorted().joined(separator: ", "))")
        }
        service = request.value("service").flatMap { $0.isEmpty ? nil : $0 }
        ami = request.value("ami").flatMap { $0.isEmpty ? nil : $0 }
        for name in request.values("status") where !name.isEmpty {
            guard let state = DeploymentState(rawValue: name) else {
                let names = DeploymentState.allCases.map(\.rawValue)
                let hint = Spelling.closest(name, in: names).map { "did you mean \($0)? " } ?? ""
                throw bad("status=\(name) is not a state; \(hint)one of \(names.joined(separator: ", "))")
            }
            states.append(state)
        }
        sinceText = request.value("since").flatMap { $0.isEmpty ? nil : $0 }
        untilText = request.value("until").flatMap { $0.isEmpty ? nil : $0 }
        since = try sinceText.map { try Self.time($0, name: "since", now: now) }
        until = try untilText.map { try Self.time($0, name: "until", now: now) }
        limit = defaultLimit
        if let text = request.value("limit") {
            guard let n = Int(text), (1...500).contains(n) else { throw bad("limit=\(text): give a number from 1 to 500") }
            limit = n
        }
        if let text = request.value("page") {
            guard let n = Int(text), n >= 1 else { throw bad("page=\(text): give 1 or more") }
            page = n
        }
    }

    /// `90m`, `12h`, `7d`, `2w` back from now, or `2026-11-01`, `2026-11-01T12:00:00Z`: what `history --since` takes.
    static func time(_ text: String, name: String, now: Date) throws -> Date {
        if let last = text.last, let n = Double(text.dropLast()), n >= 0,
           let unit = ["s": 1.0, "m": 60, "h": 3600, "d": 86_400, "w": 604_800][String(last)] {
            return now.addingTimeInterval(-n * unit)
        }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: text) { return date }
        throw HTTPParseError(status: 400, description: "\(name)=\(text) is neither a span back from now (90m, 12h, 7d, 2w) nor a date (2026-11-01, 2026-11-01T12:00:00Z)")
    }

    public var query: HistoryQuery {
        HistoryQuery(service: service, states: states, ami: ami, since: since, until: until, limit: limit, page: page)
    }

    /// This filter's list at another page.
    func link(page: Int) -> String {
        var pairs: [(String, String)] = []
        if let service { pairs.append(("service", service)) }
        pairs += states.map { ("status", $0.rawValue) }
        if let ami { pairs.append(("ami", ami)) }
        if let sinceText { pairs.append(("since", sinceText)) }
        if let untilText { pairs.append(("until", untilText)) }
        if limit != 25 { pairs.append(("limit", String(limit))) }
        pairs.append(("page", String(page)))
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return "/?" + pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }

    /// The `history` command that lists the same.
    var command: String {
        var words = ["switchyard history"]
        if let service { words.append("--service \(Self.quoted(service))") }
        words += states.map { "--status \($0.rawValue)" }
        if let ami { words.append("--ami \(Self.quoted(ami))") }
        if let sinceText { words.append("--since \(Self.quoted(sinceText))") }
        if let untilText { words.append("--until \(Self.quoted(untilText))") }
        words.append("--limit \(limit)")
        if page != 1 { words.append("--page \(page)") }
        return words.joined(separator: " ")
    }

    static func quoted(_ text: String) -> String {
        text.allSatisfy({ $0.isLetter || $0.isNumber || "-._:/".contains($0) }) ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
