import Foundation
import SwitchyardCore

// The state store seam: what the orchestrator and the CLI need from wherever a team keeps its state, and nothing more.
//
// This module holds the protocol and the value types every store shares (StoredEvent, OperatorRequest, Lease,
// LeaseHolder, LeaseError, HistoryQuery, DeploymentSummary, ExportedEvent, ImportOutcome, ImportComparison,
// StateStoreError, StoredTime, RecordCoding), `StateLocation` and `StateCopy`; it links no database. Each backend is
// its own target, laid out file for file the same way (the store and its deployments; Leases; Requests; History;
// Import; the item or row mapping):
// - `SQLiteStateStore` (Sources/SQLiteStateStore, the only target that links CSQLite): the state file. Its
//   SQLite-only parts (migrations, `integrityProblems`, read-only opening, `checkpointAll`) stay on the class, out of
//   the protocol.
// - `DynamoStateStore` (Sources/DynamoStateStore, depending on "StateStore", "AWS" and "SwitchyardCore"): one
//   DynamoDB table.
// The `switchyard` target depends on both and opens them in one place: `StateLocation.open`
// (Sources/switchyard/StateOpening.swift); the orchestrator knows only this module.
//
// Every implementation keeps these guarantees, made by the database (a transaction, a conditional write), never by
// timing; Tests/StateStoreTests/Conformance.swift checks them for any store:
// - at most one active (non-terminal) deployment per service: `insert` refuses with `activeDeploymentExists`;
// - `insert` with a lease takes it in the same atomic write, refusing a live lease of another holder (`LeaseError.held`);
// - `save` writes the record and its audit event in one atomic write; with a holder it is fenced (`LeaseError.lost`
//   when another holder has the service's lease), and it is conditional on the record's version: the version the
//   caller read (`Deployment.version`, nil counting as 1) must still be the stored one, else `staleRecord`. The saved
//   record comes back with its new version; callers go on from it;
// - a final state changes only to `rolling_back` (a rollback of a completed or failed deployment), and `rolled_back`
//   never changes (`DeploymentState.allows`, else `terminalStateIsFinal`);
// - events of a deployment come back in the order they were written; their `id`s grow in that order (they need not
//   be dense, nor comparable across deployments); request ids likewise within a deployment.

/// Where deployments, their audit trail, operator requests and leases are kept. The orchestrator and the CLI use only
/// this, never a concrete store.
public protocol StateStore: AnyObject, Sendable {
    /// Where the state lives, in words for messages: a file path, or `dynamodb://TABLE?region=R`.
    var location: String { get }

    // MARK: Deployments

    /// Stores a new deployment and its first event, unless another deployment of the service is active; with `lease`,
    /// takes the service's lease for it in the same atomic write. Returns the record as stored (version 1).
    @discardableResult
    func insert(_ d: Deployment, log: LogEntry, actor: String, at: Date, lease: LeaseHolder?, ttl: TimeInterval) throws -> Deployment

    /// Stores the new version of a deployment and its event in one atomic write, if `d.version` is still the stored
    /// version; with `holder`, only while that holder has the service's lease. Returns the record as stored.
    @discardableResult
    func save(_ d: Deployment, log: LogEntry?, actor: String, at: Date, holder: LeaseHolder?) throws -> Deployment

    /// One deployment, with its stored version.
    func deployment(id: String) throws -> Deployment?

    /// Deployments newest first (by creation, then id), optionally of one service, optionally only the active ones.
    func deployments(service: String?, limit: Int, activeOnly: Bool) throws -> [Deployment]

    /// Completed deployments (of one service, or all) whose blue has not been retired yet, newest first.
    func retainedBlues(service: String?) throws -> [Deployment]

    /// Failed deployments (of one service, or all) whose test-route rule may still stand on the listener, newest first.
    func leftoverTestRoutes(service: String?) throws -> [Deployment]

    /// Every group that was blue for a deployment of the service.
    func blueGroups(service: String) throws -> Set<String>

    /// The newest deployment of a service in one of `states`.
    func latest(service: String, states: [DeploymentState]) throws -> Deployment?

    // MARK: Audit trail

    /// A deployment's audit trail, oldest first.
    func events(deploymentId: String) throws -> [StoredEvent]

    /// One page of deployments matching the query, newest first, and how many match in all.
    func history(_ query: HistoryQuery) throws -> (deployments: [Deployment], total: Int)

    /// The same page as `history`, without counting every match: what `history --json` prints. The count is most of a
    /// page's cost on a long history (an index scan on SQLite; on DynamoDB a Query of the whole index, billed).
    func historyPage(_ query: HistoryQuery) throws -> [Deployment]

    /// One page of history as table rows; `more` says whether an older page exists.
    func historySummaries(_ query: HistoryQuery) throws -> (deployments: [DeploymentSummary], more: Bool)

    /// Hands the event log to `body` oldest first (by time, then by order of writing), optionally from/until a time and
    /// of one service, without holding it all.
    func exportEvents(since: Date?, until: Date?, service: String?, _ body: (ExportedEvent) throws -> Void) throws

    // MARK: Operator requests

    /// Queues a rollback or promote request for whoever runs the deployment.
    func addRequest(deploymentId: String, kind: OperatorRequest.Kind, reason: String?, actor: String, at: Date) throws

    /// Requests of a deployment not yet handled, oldest first.
    func pendingRequests(deploymentId: String) throws -> [OperatorRequest]

    /// Marks a request handled, so it is applied once.
    func markHandled(_ request: OperatorRequest, at: Date) throws

    // MARK: Leases

    /// Takes the lease on the service for the deployment; refuses (`LeaseError.held`) while another live holder has it,
    /// takes over one that expired. Returns the lease it took over from another holder, if any.
    @discardableResult
    func acquireLease(deploymentId: String, service: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws -> Lease?

    /// Moves the holder's expiry on; `LeaseError.lost` when another holder has the lease now.
    func renewLease(service: String, deploymentId: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws

    /// Gives the lease up, if this holder still has it.
    func releaseLease(service: String, holder: LeaseHolder) throws

    /// The lease on a service, live or not.
    func lease(service: String) throws -> Lease?

    /// The lease that names this deployment, live or not.
    func lease(deploymentId: String) throws -> Lease?

    // MARK: Moving history between stores

    /// Stores a deployment with its audit trail and pending requests as they are in another store (`state copy`),
    /// keeping their times and order (ids are this store's own), and the record's version. A deployment of the same
    /// id already here with the same record and trail is left alone (`.alreadyThere`); one that differs is an
    /// `importConflict`. Leases are not copied. An active deployment is refused like `insert` would.
    func importDeployment(_ d: Deployment, events: [StoredEvent], requests: [OperatorRequest]) throws -> ImportOutcome
}

extension StateStore {
    /// `insert` without a lease.
    @discardableResult
    public func insert(_ d: Deployment, log: LogEntry, actor: String, at: Date) throws -> Deployment {
        try insert(d, log: log, actor: actor, at: at, lease: nil, ttl: 15)
    }

    /// `insert` taking a lease of the default time to live (15 s).
    @discardableResult
    public func insert(_ d: Deployment, log: LogEntry, actor: String, at: Date, lease: LeaseHolder?) throws -> Deployment {
        try insert(d, log: log, actor: actor, at: at, lease: lease, ttl: 15)
    }

    /// An unfenced `save` (no lease is checked; the version still is).
    @discardableResult
    public func save(_ d: Deployment, log: LogEntry?, actor: String, at: Date) throws -> Deployment {
        try save(d, log: log, actor: actor, at: at, holder: nil)
    }
}
