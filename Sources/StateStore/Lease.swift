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
