import Foundation
import SwitchyardCore

/// Who runs a deployment now: one process, renewing its heartbeat.
public struct Lease: Sendable, Hashable {
    public var service: String
    public var deploymentId: String
    public var holder: LeaseHolder
    public var acquiredAt: Date
    public var heartbeatAt: Date
    public var expiresAt: Date

    public init(service: String, deploymentId: String, holder: LeaseHolder, acquiredAt: Date, heartbeatAt: Date, expiresAt: Date) {
        self.service = service
        self.deploymentId = deploymentId
        self.holder = holder
        self.acquiredAt = acquiredAt
        self.heartbeatAt = heartbeatAt
        self.expiresAt = expiresAt
    }

    /// Live until it expires, unless its process is known to be gone (same host, no such pid).
    public func isLive(at now: Date, currentHost: String = LeaseHolder.hostName) -> Bool {
        guard now < expiresAt else { return false }
        if holder.host == currentHost, holder.pid > 0, kill(holder.pid, 0) != 0, errno == ESRCH { return false }
        return true
    }

    /// "pid 4242 on build-7 (ana@build-7), last seen 2s ago"
    public func describe(at now: Date) -> String {
        let age = max(0, now.timeIntervalSince(heartbeatAt))
        return "pid \(holder.pid) on \(holder.host) (\(holder.actor)), last seen \(String(format: "%.0f", age))s ago"
    }
}

/// One run of a switchyard process that holds (or wants) a lease.
public struct LeaseHolder: Sendable, Hashable {
    /// Unique per process run, so a restarted process with the same pid is a different holder.
    public var id: String
    public var pid: Int32
    public var host: String
    public var actor: String

    public init(id: String = UUID().uuidString.lowercased(), pid: Int32 = getpid(), host: String = LeaseHolder.hostName, actor: String) {
        self.id = id
        self.pid = pid
        self.host = host
        self.actor = actor
    }

    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Why a lease could not be taken.
public enum LeaseError: Error, Sendable, CustomStringConvertible {
    /// Another live process runs the deployment (exit 4).
    case held(Lease, at: Date)
    /// This process's lease was taken over by another process (it was thought dead).
    case lost(service: String, deploymentId: String)

    public var description: String {
        switch self {
        case .held(let lease, let at):
            return "deployment \(lease.deploymentId) of \(lease.service) is run by another live process: \(lease.describe(at: at)). "
                + "Watch it with `switchyard status \(lease.deploymentId)`, or roll it back with `switchyard rollback \(lease.deploymentId)`."
        case .lost(let service, let id):
            return "deployment \(id) of \(service): another process holds this deployment now (another process took over when this "
                + "process's lease expired); stopping here without touching AWS"
        }
    }
}

extension SQLiteStateStore {
    static func leaseColumns(_ service: String, _ deploymentId: String, _ holder: LeaseHolder, at: Date, ttl: TimeInterval) -> [SQLValue] {
        [.text(service), .text(deploymentId), .text(holder.id), .int(Int64(holder.pid)), .text(holder.host), .text(holder.actor),
         .text(StoredDate.text(at)), .text(StoredDate.text(at)), .text(StoredDate.text(at.addingTimeInterval(ttl)))]
    }

    static let leaseSelect = "SELECT service, deployment_id, holder, pid, host, actor, acquired_at, heartbeat_at, expires_at FROM leases"

    static func lease(from row: [String?]) -> Lease? {
        guard let service = row[0], let id = row[1], let holder = row[2] else { return nil }
        return Lease(
            service: service, deploymentId: id,
            holder: LeaseHolder(id: holder, pid: Int32(row[3] ?? "") ?? 0, host: row[4] ?? "", actor: row[5] ?? ""),
            acquiredAt: row[6].flatMap(StoredDate.parse) ?? .distantPast,
            heartbeatAt: row[7].flatMap(StoredDate.parse) ?? .distantPast,
            expiresAt: row[8].flatMap(StoredDate.parse) ?? .distantPast)
    }

    /// Writes the lease row; the caller holds the write transaction and has checked that no live lease stands.
    func writeLease(service: String, deploymentId: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws {
        try db.query("""
            INSERT INTO leases (service, deployment_id, holder, pid, host, actor, acquired_at, heartbeat_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (service) DO UPDATE SET deployment_id = excluded.deployment_id, holder = excluded.holder,
                pid = excluded.pid, host = excluded.host, actor = excluded.actor, acquired_at = excluded.acquired_at,
                heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
            """, Self.leaseColumns(service, deploymentId, holder, at: at, ttl: ttl))
    }

    func leaseRow(service: String) throws -> Lease? {
        try db.query(Self.leaseSelect + " WHERE service = ?", [.text(service)]).first.flatMap(Self.lease(from:))
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
                             [.text(StoredDate.text(at)), .text(StoredDate.text(at.addingTimeInterval(ttl))), .text(service), .text(holder.id)])
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
        try locked { try db.query(Self.leaseSelect + " WHERE deployment_id = ?", [.text(deploymentId)]).first.flatMap(Self.lease(from:)) }
    }
}
