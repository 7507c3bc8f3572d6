import Foundation
import StateStore
import SwitchyardCore

/// Turning events and leases into rows and back (the state file's counterpart of the DynamoDB store's `Items`).
enum Rows {
    static func leaseColumns(_ service: String, _ deploymentId: String, _ holder: LeaseHolder, at: Date, ttl: TimeInterval) -> [SQLValue] {
        [.text(service), .text(deploymentId), .text(holder.id), .int(Int64(holder.pid)), .text(holder.host), .text(holder.actor),
         .text(StoredTime.text(at)), .text(StoredTime.text(at)), .text(StoredTime.text(at.addingTimeInterval(ttl)))]
    }

    static let leaseSelect = "SELECT service, deployment_id, holder, pid, host, actor, acquired_at, heartbeat_at, expires_at FROM leases"

    static func lease(from row: [String?]) -> Lease? {
        guard let service = row[0], let id = row[1], let holder = row[2] else { return nil }
        return Lease(
            service: service, deploymentId: id,
            holder: LeaseHolder(id: holder, pid: Int32(row[3] ?? "") ?? 0, host: row[4] ?? "", actor: row[5] ?? ""),
            acquiredAt: row[6].flatMap(StoredTime.parse) ?? .distantPast,
            heartbeatAt: row[7].flatMap(StoredTime.parse) ?? .distantPast,
            expiresAt: row[8].flatMap(StoredTime.parse) ?? .distantPast)
    }

    static func event(from row: [String?]) -> StoredEvent {
        StoredEvent(
            id: Int64(row[0] ?? "") ?? 0, deploymentId: row[1] ?? "",
            at: row[2].flatMap(StoredTime.parse) ?? Date(timeIntervalSince1970: 0),
            from: row[3].flatMap(DeploymentState.init(rawValue:)) ?? .pending,
            to: row[4].flatMap(DeploymentState.init(rawValue:)) ?? .pending,
            message: row[5] ?? "", actor: row[6] ?? "",
            details: (try? RecordCoding.decoder.decode([String: String].self, from: Data((row[7] ?? "{}").utf8))) ?? [:])
    }
}
