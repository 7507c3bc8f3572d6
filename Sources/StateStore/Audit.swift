import Foundation
import SwitchyardCore

/// A filter over past and present deployments, newest first, one page at a time.
public struct HistoryQuery: Sendable, Hashable {
    public var service: String?
    public var states: [DeploymentState]
    public var ami: String?
    public var since: Date?
    public var until: Date?
    public var limit: Int
    /// 1-based.
    public var page: Int

    public init(service: String? = nil, states: [DeploymentState] = [], ami: String? = nil, since: Date? = nil, until: Date? = nil,
                limit: Int = 20, page: Int = 1) {
        self.service = service
        self.states = states
        self.ami = ami
        self.since = since
        self.until = until
        self.limit = limit
        self.page = page
    }

    /// Whether a deployment passes the filter (not the page): for stores that filter as they read.
    public func matches(service: String, state: DeploymentState, ami: String, createdAt: Date) -> Bool {
        if let wanted = self.service, wanted != service { return false }
        if !states.isEmpty, !states.contains(state) { return false }
        if let wanted = self.ami, wanted != ami { return false }
        if let since, createdAt < since { return false }
        if let until, createdAt >= until { return false }
        return true
    }

    /// How many rows of the newest-first list come before this page.
    public var offset: Int { max(0, page - 1) * limit }

    var whereClause: (String, [SQLValue]) {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let service { conditions.append("service = ?"); values.append(.text(service)) }
        if !states.isEmpty {
            conditions.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            values += states.map { .text($0.rawValue) }
        }
        if let ami { conditions.append("ami = ?"); values.append(.text(ami)) }
        if let since { conditions.append("created_at >= ?"); values.append(.text(StoredDate.text(since))) }
        if let until { conditions.append("created_at < ?"); values.append(.text(StoredDate.text(until))) }
        return (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "), values)
    }
}

/// A deployment as the history table shows it, read from the indexed columns without decoding the stored record.
public struct DeploymentSummary: Sendable, Hashable {
    public var id: String
    public var service: String
    public var ami: String
    public var state: DeploymentState
    public var createdAt: Date
    public var updatedAt: Date
    public var actor: String

    public init(id: String, service: String, ami: String, state: DeploymentState, createdAt: Date, updatedAt: Date, actor: String) {
        self.id = id
        self.service = service
        self.ami = ami
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.actor = actor
    }
}

/// One event of the audit trail with its deployment's service and AMI, for `export`.
public struct ExportedEvent: Sendable, Hashable {
    public var event: StoredEvent
    public var service: String
    public var ami: String

    public init(event: StoredEvent, service: String, ami: String) {
        self.event = event
        self.service = service
        self.ami = ami
    }
}

extension SQLiteStateStore {
    /// One page of deployments matching the query, newest first, and how many match in all.
    public func history(_ query: HistoryQuery) throws -> (deployments: [Deployment], total: Int) {
        let (clause, values) = query.whereClause
        return try locked {
            let total = Int(try db.query("SELECT count(*) FROM deployments" + clause, values).first?[0] ?? "0") ?? 0
            let offset = Int64(max(0, query.page - 1) * query.limit)
            let rows = try records("SELECT id, record, version FROM deployments" + clause + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                                   values + [.int(Int64(query.limit)), .int(offset)])
            return (rows, total)
        }
    }

    /// Like `history`, but only the columns a table needs: no record is decoded and nothing is counted, so a page
    /// costs next to nothing however long the history. `more` says whether an older page exists.
    public func historySummaries(_ query: HistoryQuery) throws -> (deployments: [DeploymentSummary], more: Bool) {
        let (clause, values) = query.whereClause
        return try locked {
            let offset = Int64(max(0, query.page - 1) * query.limit)
            var rows = try db.query("SELECT id, service, ami, state, created_at, updated_at, actor FROM deployments" + clause
                                    + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", values + [.int(Int64(query.limit + 1)), .int(offset)])
            let more = rows.count > query.limit
            if more { rows.removeLast() }
            return (rows.map { row in
                DeploymentSummary(id: row[0] ?? "", service: row[1] ?? "", ami: row[2] ?? "",
                                  state: row[3].flatMap(DeploymentState.init(rawValue:)) ?? .failed,
                                  createdAt: row[4].flatMap(StoredDate.parse) ?? .distantPast,
                                  updatedAt: row[5].flatMap(StoredDate.parse) ?? .distantPast, actor: row[6] ?? "")
            }, more)
        }
    }

    /// Streams the event log in order (oldest first), optionally from a time and of one service, without holding it.
    public func exportEvents(since: Date?, until: Date?, service: String?, _ body: (ExportedEvent) throws -> Void) throws {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let since { conditions.append("e.at >= ?"); values.append(.text(StoredDate.text(since))) }
        if let until { conditions.append("e.at < ?"); values.append(.text(StoredDate.text(until))) }
        if let service { conditions.append("d.service = ?"); values.append(.text(service)) }
        let clause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        try locked {
            try db.each("""
                SELECT e.id, e.deployment_id, e.at, e.from_state, e.to_state, e.message, e.actor, e.details, d.service, d.ami
                FROM events e JOIN deployments d ON d.id = e.deployment_id\(clause) ORDER BY e.at, e.id
                """, values) { row in
                try body(ExportedEvent(event: Self.event(from: row), service: row[8] ?? "", ami: row[9] ?? ""))
            }
        }
    }

    static func event(from row: [String?]) -> StoredEvent {
        StoredEvent(
            id: Int64(row[0] ?? "") ?? 0, deploymentId: row[1] ?? "",
            at: row[2].flatMap(StoredDate.parse) ?? Date(timeIntervalSince1970: 0),
            from: row[3].flatMap(DeploymentState.init(rawValue:)) ?? .pending,
            to: row[4].flatMap(DeploymentState.init(rawValue:)) ?? .pending,
            message: row[5] ?? "", actor: row[6] ?? "",
            details: (try? RecordCoding.decoder.decode([String: String].self, from: Data((row[7] ?? "{}").utf8))) ?? [:])
    }
}
