import Foundation
import StateStore
import SwitchyardCore

/// The audit trail, history pages and `export` on the state file.
extension SQLiteStateStore {
    /// A deployment's audit trail, oldest first.
    public func events(deploymentId: String) throws -> [StoredEvent] {
        let rows = try locked {
            try db.query("SELECT id, deployment_id, at, from_state, to_state, message, actor, details FROM events WHERE deployment_id = ? ORDER BY id",
                         [.text(deploymentId)])
        }
        return rows.map(Rows.event(from:))
    }

    /// One page of deployments matching the query, newest first, and how many match in all.
    public func history(_ query: HistoryQuery) throws -> (deployments: [Deployment], total: Int) {
        let (clause, values) = query.whereClause
        return try locked {
            let total = Int(try db.query("SELECT count(*) FROM deployments" + clause, values).first?[0] ?? "0") ?? 0
            return (try page(query), total)
        }
    }

    public func historyPage(_ query: HistoryQuery) throws -> [Deployment] {
        try locked { try page(query) }
    }

    /// The query's page of records, newest first (the caller holds the lock).
    private func page(_ query: HistoryQuery) throws -> [Deployment] {
        let (clause, values) = query.whereClause
        return try records("SELECT id, record, version FROM deployments" + clause + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                           values + [.int(Int64(query.limit)), .int(Int64(query.offset))])
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
                                  createdAt: row[4].flatMap(StoredTime.parse) ?? .distantPast,
                                  updatedAt: row[5].flatMap(StoredTime.parse) ?? .distantPast, actor: row[6] ?? "")
            }, more)
        }
    }

    /// Streams the event log in order (oldest first), optionally from a time and of one service, without holding it.
    public func exportEvents(since: Date?, until: Date?, service: String?, _ body: (ExportedEvent) throws -> Void) throws {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let since { conditions.append("e.at >= ?"); values.append(.text(StoredTime.text(since))) }
        if let until { conditions.append("e.at < ?"); values.append(.text(StoredTime.text(until))) }
        if let service { conditions.append("d.service = ?"); values.append(.text(service)) }
        let clause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        try locked {
            try db.each("""
                SELECT e.id, e.deployment_id, e.at, e.from_state, e.to_state, e.message, e.actor, e.details, d.service, d.ami
                FROM events e JOIN deployments d ON d.id = e.deployment_id\(clause) ORDER BY e.at, e.id
                """, values) { row in
                try body(ExportedEvent(event: Rows.event(from: row), service: row[8] ?? "", ami: row[9] ?? ""))
            }
        }
    }
}

extension HistoryQuery {
    /// The query's filter as a WHERE clause over the indexed columns of `deployments`.
    var whereClause: (String, [SQLValue]) {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let service { conditions.append("service = ?"); values.append(.text(service)) }
        if !states.isEmpty {
            conditions.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            values += states.map { .text($0.rawValue) }
        }
        if let ami { conditions.append("ami = ?"); values.append(.text(ami)) }
        if let since { conditions.append("created_at >= ?"); values.append(.text(StoredTime.text(since))) }
        if let until { conditions.append("created_at < ?"); values.append(.text(StoredTime.text(until))) }
        return (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "), values)
    }
}
