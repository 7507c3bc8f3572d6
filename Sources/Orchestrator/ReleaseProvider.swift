import Foundation
import SwitchyardCore

/// The cloud a release runs on: the whole provider seam, as the commands use it. A provider plans from what it
/// observes (and changes nothing doing so), fences the traffic against another writer, performs the state machine's
/// effects, and reads what the cloud shows for a stored deployment so `resume` can reconcile the record with it.
///
/// The AWS provider (`AWSReleaseProvider`, Sources/AWSProvider) is the first implementation; the reconcile loop,
/// hooks, housekeeping and the store know only this protocol and `EffectPerformer`. A second cloud is a target of its
/// own that implements it, and the CLI, the composition root, picks it.
public protocol ReleaseProvider: Sendable {
    /// The release the file describes, planned from what the cloud shows now; nothing is changed.
    func plan(_ spec: DeploymentSpec, image: String, deploymentId: String, context: PlanContext) async throws -> PlannedRelease
    /// The fence on the spec's traffic: what another state file (or a `--force-unlock`ed run) would have to take first.
    func fence(_ spec: DeploymentSpec) -> any TrafficFence
    /// The performer of a deployment's effects. `facts`: the plan's own answers (`PlannedRelease.facts`) when this
    /// process planned the deployment moments ago, nil for a stored one taken over.
    func performer(facts: (any Sendable)?, clock: DeploymentClock) -> EffectPerformer
    /// What the cloud shows for the deployment now: the split, and each fleet's size.
    func observe(_ d: Deployment) async throws -> Observation
    /// What a check tick of the plan asks the cloud, for `plan`'s request figure.
    func tickCost(_ plan: ReleasePlan) -> TickCost
    /// How long a fleet leaving each of the plan's traffic targets drains (AWS: each target group's deregistration
    /// delay, in seconds), for `plan` to say.
    func drainDelays(_ plan: ReleasePlan) async throws -> [String: Int]
    /// One fleet as the cloud shows it now (`show` and `status` read a blue kept for rollback); nil: it is gone.
    func fleet(named name: String) async throws -> CapacityReport?
    /// Whether an error of this provider means only that the cloud could not be reached for now (worth trying again).
    func isUnreachable(_ error: Error) -> Bool
    /// How `plan` shows what only this cloud knows of a release.
    var presenter: any PlanPresenter { get }
}

/// The parts of `plan`'s answer only the cloud can write: its traffic, its own checks, how its fleets drain, in the
/// text and in `--json`. The CLI writes the rest (fleets, steps, hooks, requests) the same way for every cloud.
public protocol PlanPresenter: Sendable {
    /// What carries the split, after `  traffic   ` (further lines indented by the presenter).
    func traffic(_ plan: ReleasePlan) -> String
    /// The second line of blue (what it runs, from what) and of green (its size, what it is made from), each after
    /// the CLI's twelve-space indent.
    func fleets(_ plan: ReleasePlan) -> (blue: String, green: String)
    /// How both fleets are held while the release runs (after `  pinned    `, further lines indented by the presenter).
    func pinned(_ plan: ReleasePlan, _ fleet: FleetPlan) -> [String]
    /// Lines about the test route (where its rule goes), when the file asks for one.
    func testRoute(_ plan: ReleasePlan) -> [String]
    /// Lines about the cloud's own checks (AWS: the metric checks and their queries).
    func checks(_ plan: ReleasePlan) -> [String]
    /// Lines about how a fleet leaving service is removed, from each pool's drain (`ReleaseProvider.drainDelays`).
    func removal(_ plan: ReleasePlan, drainDelays: [String: Int]) -> [String]
    /// The cloud's fields of `plan --json`, beside the CLI's (AWS: `listener_arn`, `forwards`, `route53`, `metrics`…).
    func json(_ plan: ReleasePlan) throws -> [String: JSONValue]
}

/// What the store knows that a plan must take into account.
public struct PlanContext: Sendable {
    /// Earlier releases' blue fleets: they may be retired from green's place, unless a record keeps one for rollback.
    public var retirable: Set<String>
    /// The operator's `--end-retention`: a fleet kept for rollback may be retired before its deadline.
    public var endingRetention: Bool
    /// The blues this state's records keep now, and every deadline the records give each fleet.
    public var recordedRetention: [String: RecordedRetention]
    public var recordedDeadlines: [String: [Date]]
    /// The fleets the service's newest record names (its blue and green): a guess at which fleets stand behind the
    /// traffic now, which a provider may read beside what it reads to find them, to skip a lookup they answer. A hint
    /// only: it never makes a fleet blue, retirable or kept, and a wrong or stale one costs nothing but that lookup.
    public var likelyFleets: Set<String>

    public init(retirable: Set<String> = [], endingRetention: Bool = false, recordedRetention: [String: RecordedRetention] = [:],
                recordedDeadlines: [String: [Date]] = [:], likelyFleets: Set<String> = []) {
        self.retirable = retirable
        self.endingRetention = endingRetention
        self.recordedRetention = recordedRetention
        self.recordedDeadlines = recordedDeadlines
        self.likelyFleets = likelyFleets
    }

    /// From the state's records of one service, at `now`; `latest` is its newest deployment, if any.
    public static func of(retirable: Set<String>, retained: [Deployment], latest: Deployment? = nil, endingRetention: Bool,
                          now: Date) -> PlanContext {
        PlanContext(retirable: retirable, endingRetention: endingRetention, recordedRetention: RecordedRetention.of(retained, now: now),
                    recordedDeadlines: RecordedRetention.deadlines(retained),
                    likelyFleets: latest.map { Set([$0.plan.blue.group, $0.plan.greenGroup]) } ?? [])
    }
}

/// A plan, and what the cloud answered while making it: the first attempt of each effect of the same process may
/// reuse those answers instead of asking again. The facts are the provider's own; nothing else looks inside them.
public struct PlannedRelease: Sendable {
    public var plan: ReleasePlan
    public var facts: (any Sendable)?

    public init(plan: ReleasePlan, facts: (any Sendable)?) {
        self.plan = plan
        self.facts = facts
    }
}

/// The mark a release leaves on its traffic while it runs (the AWS provider: a tag on every listener and rule it
/// shifts), so a writer with another state file sees the traffic is taken. The lease fences writers that share a
/// state file; this fences the rest.
public protocol TrafficFence: Sendable {
    /// What carries the mark, for messages: "arn:…" or several, comma-separated.
    var resource: String { get }
    /// How long a claim's mark may take to read back before the claim gives up (`ClaimUnconfirmed`).
    var settle: TimeInterval { get }
    /// The mark a deployment's claim leaves, for messages: "switchyard:deployment:<id>".
    func mark(for deploymentId: String) -> String
    /// The deployments whose marks stand now, sorted.
    func owners() async throws -> [String]
    /// Leaves this deployment's mark and confirms it won; `owners` as the caller read them an instant ago (nil reads
    /// them); `mayReplace` says which other deployment's mark may be replaced (known finished or dead).
    func claim(for deploymentId: String, owners: [String]?, mayReplace: (String) -> Bool) async throws
    /// Takes this deployment's mark off, and only its own.
    func release(for deploymentId: String) async throws
    /// What a claim refuses with when `owner`'s mark stands and may not be replaced (a `ProviderFailure` of kind
    /// `.conflict`): for a command that learns it from `owners()` before it claims.
    func refusal(heldBy owner: String) -> Error
}

extension TrafficFence {
    public func owner() async throws -> String? { try await owners().first }

    public func claim(for deploymentId: String, mayReplace: (String) -> Bool) async throws {
        try await claim(for: deploymentId, owners: nil, mayReplace: mayReplace)
    }
}
