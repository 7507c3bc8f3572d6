import Foundation
import SwitchyardCore

/// One line of a deployment's audit trail as stored.
public struct StoredEvent: Sendable, Codable, Hashable {
    public var id: Int64
    public var deploymentId: String
    public var at: Date
    public var from: DeploymentState
    public var to: DeploymentState
    public var message: String
    public var actor: String
    public var details: [String: String]

    public init(id: Int64, deploymentId: String, at: Date, from: DeploymentState, to: DeploymentState, message: String, actor: String,
                details: [String: String]) {
        self.id = id
        self.deploymentId = deploymentId
        self.at = at
        self.from = from
        self.to = to
        self.message = message
        self.actor = actor
        self.details = details
    }

    /// The event without the id its store gave it: what `state copy` compares and carries over.
    public var content: StoredEventContent {
        StoredEventContent(at: at, from: from, to: to, message: message, actor: actor, details: details)
    }
}

/// An event's content without its store-given id and deployment: equal in two stores when the trail was copied.
public struct StoredEventContent: Sendable, Hashable {
    public var at: Date
    public var from: DeploymentState
    public var to: DeploymentState
    public var message: String
    public var actor: String
    public var details: [String: String]
}

/// A request written by another terminal for the process running a deployment.
public struct OperatorRequest: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case rollback, promote }
    /// The reason of a `promote` request that `resume --accept-current` writes: adopt the traffic set by hand and go
    /// on (a promote request, so stores made before it keep their schema).
    public static let acceptCurrent = "accept-current"
    public var id: Int64
    public var deploymentId: String
    public var kind: Kind
    public var reason: String?
    public var actor: String
    public var at: Date

    public init(id: Int64, deploymentId: String, kind: Kind, reason: String?, actor: String, at: Date) {
        self.id = id
        self.deploymentId = deploymentId
        self.kind = kind
        self.reason = reason
        self.actor = actor
        self.at = at
    }
}

/// Why a state store refused an operation (either backend).
public enum StateStoreError: Error, Sendable, CustomStringConvertible {
    case activeDeploymentExists(id: String, state: DeploymentState, since: Date)
    case terminalStateIsFinal(id: String, state: DeploymentState, attempted: DeploymentState)
    case unknownDeployment(String)
    case newerSchema(path: String, version: Int, known: Int)
    case notADatabase(path: String, detail: String)
    case corruptRecord(id: String, detail: String)
    /// A record written by a newer switchyard, in a format this one does not know (`RecordCoding.format`).
    case newerRecord(id: String, format: Int, known: Int)
    case damaged(path: String, detail: String)
    case permissionDenied(path: String)
    /// A save named a version of the record that is no longer the stored one: another process wrote it since.
    case staleRecord(id: String, expected: Int, found: Int)
    /// `state copy`: the target holds a deployment of this id that differs from the source's.
    case importConflict(id: String, detail: String)

    public var description: String {
        switch self {
        case .activeDeploymentExists(let id, let state, let since):
            return "deployment \(id) of this service is still active (\(state), started \(StoredTime.text(since))). Wait for it, or `switchyard resume \(id)` / `switchyard rollback \(id)`."
        case .terminalStateIsFinal(let id, let state, let attempted):
            return "deployment \(id) is \(state), a final state; it cannot become \(attempted)"
        case .unknownDeployment(let id):
            return "no deployment \(id) in the state file"
        case .newerSchema(let path, let version, let known):
            return "the state file \(path) has schema version \(version), but this switchyard knows only up to \(known); use a newer switchyard"
        case .notADatabase(let path, let detail):
            return "\(path) is not a Switchyard state file (\(detail))"
        case .corruptRecord(let id, let detail):
            return "the stored record of deployment \(id) cannot be read: \(detail)"
        case .newerRecord(let id, let format, let known):
            return "the stored record of deployment \(id) is in record format \(format), written by a newer switchyard; this one knows "
                + "formats up to \(known), so it neither reads nor changes it: use a newer switchyard"
        case .damaged(let path, let detail):
            return "the state file \(path) is damaged (\(detail)); nothing was changed. `switchyard state check --db \(path)` "
                + "lists what SQLite finds wrong; restore the last good copy of the file "
                + "(see docs/states.md#a-damaged-state-file), then `switchyard resume` any deployment that was running"
        case .permissionDenied(let path):
            return "permission denied: \(path)"
        case .staleRecord(let id, let expected, let found):
            return "another process holds this deployment: \(id) is at version \(found) in the state store, this process read "
                + "version \(expected); stopping here without writing (watch it with `switchyard status \(id)`)"
        case .importConflict(let id, let detail):
            return "deployment \(id) is already in the target state store and differs from the source (\(detail)); nothing of it was copied"
        }
    }
}
