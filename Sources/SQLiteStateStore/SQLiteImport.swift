import Foundation
import StateStore
import SwitchyardCore

/// `state copy` into a state file: a deployment arrives with its trail, in one transaction.
extension SQLiteStateStore {
    public func importDeployment(_ d: Deployment, events: [StoredEvent], requests: [OperatorRequest]) throws -> ImportOutcome {
        try locked {
            try db.transaction {
                if let here = try records("SELECT id, record, version FROM deployments WHERE id = ?", [.text(d.id)]).first {
                    let trail = try db.query("SELECT id, deployment_id, at, from_state, to_state, message, actor, details FROM events "
                                             + "WHERE deployment_id = ? ORDER BY id", [.text(d.id)]).map(Rows.event(from:))
                    if let difference = ImportComparison.difference(here: here, trail: trail, source: d, sourceTrail: events) {
                        throw StateStoreError.importConflict(id: d.id, detail: difference)
                    }
                    return .alreadyThere
                }
                try insertRow(d)
                for event in events {
                    try appendEvent(d.id, LogEntry(from: event.from, to: event.to, message: event.message, details: event.details),
                                    actor: event.actor, at: event.at)
                }
                for request in requests {
                    try db.query("INSERT INTO requests (deployment_id, kind, reason, actor, at) VALUES (?, ?, ?, ?, ?)",
                                 [.text(d.id), .text(request.kind.rawValue), SQLValue(request.reason), .text(request.actor),
                                  .text(StoredTime.text(request.at))])
                }
                return .imported
            }
        }
    }
}
