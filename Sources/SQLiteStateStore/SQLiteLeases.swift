import Foundation
import StateStore
import SwitchyardCore

/// The service's lease: one row of `leases` per service, taken and renewed in write transactions.
extension SQLiteStateStore {
    /// Writes the lease row; the caller holds the write transaction and has checked that no live lease stands.
    func writeLease(service: String, deploymentId: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws {
        try db.query("""
            INSERT INTO leases (service, deployment_id, holder, pid, host, actor, acquired_at, heartbeat_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (service) DO UPDATE SET deployment_id = excluded.deployment_id, holder = excluded.holder,
                pid = excluded.pid, host = excluded.host, actor = excluded.actor, acquired_at = excluded.acquired_at,
                heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
            """, Rows.leaseColumns(service, deploymentId, holder, at: at, ttl: ttl))
    }

    func leaseRow(service: String) throws -> Lease? {
        try db.query(Rows.leaseSelect + " WHERE service = ?", [.text(service)]).first.flatMap(Rows.lease(from:))
    }

    /// Takes the lease on the deployment's service, in one write transaction. Refuses while another live holder has it;
    /// takes over a lease whose holder stopped renewing or whose process is gone.
    @discardableResult
    public func acquireLease(deploymentId: String, service: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws -> Lease? {
        try locked {
            try db.transaction {
                let previous = try leaseRow(service: service)
                if let previous, previous.holder.id != holder.id, previous.isLive(at: at) {
                    throw LeaseError.held(previous, at: at)
                }
                try writeLease(service: service, deploymentId: deploymentId, holder: holder, at: at, ttl: ttl)
                return previous.flatMap { $0.holder.id == holder.id ? nil : $0 }
            }
        }
    }

    /// Moves the holder's expiry on. Throws `LeaseError.lost` when another process holds the lease now.
    public func renewLease(service: String, deploymentId: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws {
        try locked {
            try db.transaction {
                guard let current = try leaseRow(service: service), current.holder.id == holder.id else {
                    throw LeaseError.lost(service: service, deploymentId: deploymentId)
                }
                try db.query("UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE service = ? AND holder = ?",
                             [.text(StoredTime.text(at)), .text(StoredTime.text(at.addingTimeInterval(ttl))), .text(service), .text(holder.id)])
            }
        }
    }

    /// Gives the lease up, if this holder still has it.
    public func releaseLease(service: String, holder: LeaseHolder) throws {
        try locked {
            _ = try db.query("DELETE FROM leases WHERE service = ? AND holder = ?", [.text(service), .text(holder.id)])
        }
    }

    /// The lease on a service, live or not.
    public func lease(service: String) throws -> Lease? {
        try locked { try leaseRow(service: service) }
    }

    /// The lease that names this deployment, live or not.
    public func lease(deploymentId: String) throws -> Lease? {
        try locked { try db.query(Rows.leaseSelect + " WHERE deployment_id = ?", [.text(deploymentId)]).first.flatMap(Rows.lease(from:)) }
    }
}
