import Foundation
import StateStore
import SwitchyardCore

/// Operator requests (`rollback`, `promote` from another terminal): rows of `requests`, handled once.
extension SQLiteStateStore {
    /// Queues a rollback or promote request for whoever runs the deployment.
    public func addRequest(deploymentId: String, kind: OperatorRequest.Kind, reason: String?, actor: String, at: Date) throws {
        try locked {
            _ = try db.query("INSERT INTO requests (deployment_id, kind, reason, actor, at) VALUES (?, ?, ?, ?, ?)",
                             [.text(deploymentId), .text(kind.rawValue), SQLValue(reason), .text(actor), .text(StoredTime.text(at))])
        }
    }

    /// Requests not yet handled, oldest first.
    public func pendingRequests(deploymentId: String) throws -> [OperatorRequest] {
        let rows = try locked {
            try db.query("SELECT id, kind, reason, actor, at FROM requests WHERE deployment_id = ? AND handled_at IS NULL ORDER BY id",
                         [.text(deploymentId)])
        }
        return rows.compactMap { row in
            guard let id = row[0].flatMap({ Int64($0) }), let kind = row[1].flatMap(OperatorRequest.Kind.init(rawValue:)) else { return nil }
            return OperatorRequest(id: id, deploymentId: deploymentId, kind: kind, reason: row[2], actor: row[3] ?? "",
                                   at: row[4].flatMap(StoredTime.parse) ?? Date())
        }
    }

    /// Marks a request handled, so it is applied once.
    public func markHandled(_ request: OperatorRequest, at: Date) throws {
        try locked {
            _ = try db.query("UPDATE requests SET handled_at = ? WHERE id = ?", [.text(StoredTime.text(at)), .int(request.id)])
        }
    }
}
