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
