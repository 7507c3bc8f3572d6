import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// The second guard, in AWS: while a release runs, every listener and rule it shifts carries the tag
/// `switchyard:deployment:<id>=<id>`, so two operators with two state files still cannot shift them at once.
///
/// Every named resource is tagged, not only the first: two files for the same pair must name the same forwards (plan
/// refuses any left out) but may list them in another order, and a tag on each costs no more requests (AddTags,
/// DescribeTags and RemoveTags take up to 20 resources per call).
///
/// The claim is `MarkClaim`'s rule, shared with Azure's profile (its own key per claim, read back until it shows; of two
/// that see each other the smaller id holds), with `settle` from `SWITCHYARD_TAG_SETTLE` (2 s by default). Nothing
/// waits when the reads are current: one AddTags and one DescribeTags. The rule rests on a read that shows a write to a
/// resource's tags showing every earlier write to them; if AWS ever broke that, the fence before each traffic change
/// (which also reads for `settle`) would stop both claimants before any traffic moved. The loser exits 4, having
/// created nothing. A fence (before each traffic change and each removal) that reads another owner reads again for
/// `settle` before it stops.
public struct ListenerGuard: Sendable {
    /// The claim keys' prefix, and the whole key of the one tag releases before per-claim keys wrote (its value the id):
    /// still read as a claim, and taken off by the next claim that wins.
    public static let tagKey = "switchyard:deployment"

    /// The key a deployment's claim is written under.
    public static func key(for deploymentId: String) -> String { "\(tagKey):\(deploymentId)" }

    /// The deployment ids a resource's tags claim it for, sorted: each claim key's id, and the older single tag's value.
    public static func holders(_ tags: [String: String]) -> [String] {
        var ids = Set<String>()
        for (key, value) in tags {
            if key == tagKey, !value.isEmpty { ids.insert(value) }
            else if key.hasPrefix(tagKey + ":") { ids.insert(String(key.dropFirst(tagKey.count + 1))) }
        }
        return ids.sorted()
    }

    /// `SWITCHYARD_TAG_SETTLE` (a duration from 0 to 1m), else 2 s: the most a claim reads for its own tag to show and a
    /// rival's to go, and a fence for its own to show again.
    public static let defaultSettle: TimeInterval = SettleWindows.tag

    /// How long a read that did not settle the claim waits before the next.
    static let pollInterval: UInt64 = 100_000_000

    let tagging: FenceTags
    public let resourceArns: [String]
    public let settle: TimeInterval

    public init(aws: AWSClients, spec: DeploymentSpec, settle: TimeInterval = ListenerGuard.defaultSettle) {
        self.tagging = FenceTags(elb: aws.elb, classic: aws.classic)
        // What carries the tag is the backend's to say (a listener's forwards, or the stacks' target groups).
        self.resourceArns = Array(aws.traffic(for: spec).fenceResources.prefix(20))
        self.settle = settle
    }

    /// A guard over these resources, for tests that drive it against a fake ELB.
    init(elb: ELBv2, resourceArns: [String], settle: TimeInterval) {
        self.tagging = FenceTags(elb: elb, classic: ClassicELB(client: elb.client))
        self.resourceArns = resourceArns
        self.settle = settle
    }

    /// The resources, for messages.
    public var resourceArn: String { resourceArns.joined(separator: ", ") }

    /// Each resource's holders (`holders(_:)`), in the file's order.
    public func holdersByResource() async throws -> [[String]] { try await read().holders }

    /// One DescribeTags: the tags of every resource, and each resource's holders in the file's order.
    private func read() async throws -> (tags: [String: [String: String]], holders: [[String]]) {
        let tags = try await tagging.describe(resourceArns)
        return (tags, resourceArns.map { Self.holders(tags[$0] ?? [:]) })
    }

    /// Every deployment id the resources are claimed for, once each, in the file's order.
    public func owners() async throws -> [String] {
        var seen = Set<String>()
        return try await holdersByResource().joined().filter { seen.insert($0).inserted }
    }

    /// The first deployment id found in the tags, if any.
    public func owner() async throws -> String? { try await owners().first }

    /// Each resource's holders, read again every 100 ms for up to `settle` until every resource is held by
    /// `deploymentId` alone: a read just after a tag write may show the tags from before it, and a racing claim's key
    /// stands until it steps back.
    public func holders(confirming deploymentId: String) async throws -> [[String]] {
        var holders = try await holdersByResource()
        let until = Date().addingTimeInterval(settle)
        while !holders.allSatisfy({ $0 == [deploymentId] }), Date() < until {
            try await Task.sleep(nanoseconds: Self.pollInterval)
            holders = try await holdersByResource()
        }
        return holders
    }

    /// Tags the resources for `deploymentId` and confirms the claim won (`MarkClaim`, the rule both providers share).
    /// `mayReplace` says whether a claim of another deployment may be replaced (that deployment is known finished or
    /// dead); otherwise it is a conflict. `owners` is the claims as the caller read them an instant ago (`owners()`), so
    /// they are not read twice; nil reads them here.
    public func claim(for deploymentId: String, owners known: [String]? = nil, mayReplace: (String) -> Bool) async throws {
        let resource = resourceArn, settle = settle
        try await MarkClaim(board: ListenerTags(guard_: self), settle: settle,
                            lost: { ListenerClaimed(resource: resource, owner: $0, raced: $1) },
                            unconfirmed: { ClaimUnconfirmed(resource: resource, deploymentId: deploymentId, settle: settle) })
            .claim(for: deploymentId, known: known, mayReplace: mayReplace)
    }

    /// The listener's tags as `MarkClaim` reads and writes them.
    struct ListenerTags: MarkBoard {
        let guard_: ListenerGuard

        func read() async throws -> (holders: [[String]], reading: [String: [String: String]]) {
            let (tags, holders) = try await guard_.read()
            return (holders, tags)
        }

        func writeMark(for deploymentId: String, after: [String: [String: String]]?) async throws
            -> (holders: [[String]], reading: [String: [String: String]])? {
            try await guard_.tagging.add(guard_.resourceArns, tags: [ListenerGuard.key(for: deploymentId): deploymentId])
            return nil  // AddTags answers nothing of the tags: they are read back
        }

        func takeBack(for deploymentId: String, reading: [String: [String: String]]) async throws {
            try await guard_.tagging.remove(guard_.resourceArns, keys: [ListenerGuard.key(for: deploymentId)])
        }

        /// The older single tag comes off with the replaced claims, so a fence reads one holder and a replaced
        /// deployment still running is fenced out.
        func removeReplaced(_ deploymentIds: [String], reading tags: [String: [String: String]]) async throws {
            var keys = deploymentIds.map(ListenerGuard.key(for:))
            if guard_.resourceArns.contains(where: { tags[$0]?[ListenerGuard.tagKey] != nil }) { keys.append(ListenerGuard.tagKey) }
            if !keys.isEmpty { try await guard_.tagging.remove(guard_.resourceArns, keys: keys) }
        }
    }

    /// Takes this deployment's claim off every resource. Only its own key is removed, so no read is needed and no read,
    /// however stale, can make it take another deployment's claim off.
    public func release(for deploymentId: String) async throws {
        try await tagging.remove(resourceArns, keys: [Self.key(for: deploymentId)])
    }
}

/// Another deployment holds the listener (exit 4).
public struct ListenerClaimed: Error, Sendable, CustomStringConvertible {
    public var resource: String
    public var owner: String
    /// Set when this claim had written its tag and lost the race (its tag was taken back).
    public var raced: Bool

    public init(resource: String, owner: String, raced: Bool = false) {
        self.resource = resource
        self.owner = owner
        self.raced = raced
    }

    public var description: String {
        if raced {
            return "deployment \(owner) claims \(resource) too, from the same moment or before: this deployment took its own "
                + "claim tag back, touched no other, and nothing else of it was made in AWS"
        }
        return "\(resource) is tagged \(ListenerGuard.key(for: owner)): deployment \(owner) is shifting it, perhaps from another "
            + "machine's state file. If that deployment is known to be dead, clear the tag with `--force-unlock \(owner)`."
    }
}

/// A claim's own tag did not read back within `settle`: AWS's tag reads lag further than that. The claim took its tag
/// back and changed nothing else (exit 4, as a claim lost to another).
public struct ClaimUnconfirmed: Error, Sendable, CustomStringConvertible {
    public var resource: String
    public var deploymentId: String
    public var settle: TimeInterval

    public var description: String {
        "the \(ListenerGuard.key(for: deploymentId)) tag written on \(resource) did not read back within \(TimeSpan(milliseconds: Int64(settle * 1000))) "
            + "(SWITCHYARD_TAG_SETTLE): the tag was taken back and nothing else was made in AWS; start again, or give the "
            + "claim longer with SWITCHYARD_TAG_SETTLE"
    }
}

/// The fence's tag calls: by ARN (listeners, rules, target groups: ELBv2's AddTags/DescribeTags/RemoveTags), and by name
/// for a Classic Load Balancer's pool id (`loadbalancer/NAME`: the Classic API's calls of the same names). Answers are
/// keyed by the id the fence was given.
struct FenceTags: Sendable {
    let elb: ELBv2
    let classic: ClassicELB

    private static func split(_ ids: [String]) -> (arns: [String], classic: [String: String]) {
        var arns: [String] = [], classic: [String: String] = [:]
        for id in ids {
            if let name = DeploymentSpec.SharedTraffic.classicName(of: id) { classic[name] = id } else { arns.append(id) }
        }
        return (arns, classic)
    }

    func describe(_ ids: [String]) async throws -> [String: [String: String]] {
        let (arns, names) = Self.split(ids)
        var out = arns.isEmpty ? [:] : try await elb.describeTags(resourceArns: arns)
        if !names.isEmpty {
            for (name, tags) in try await classic.describeTags(loadBalancerNames: names.keys.sorted()) {
                if let id = names[name] { out[id] = tags }
            }
        }
        return out
    }

    func add(_ ids: [String], tags: [String: String]) async throws {
        let (arns, names) = Self.split(ids)
        if !arns.isEmpty { try await elb.addTags(resourceArns: arns, tags: tags) }
        if !names.isEmpty { try await classic.addTags(loadBalancerNames: names.keys.sorted(), tags: tags) }
    }

    func remove(_ ids: [String], keys: [String]) async throws {
        let (arns, names) = Self.split(ids)
        if !arns.isEmpty { try await elb.removeTags(resourceArns: arns, keys: keys) }
        if !names.isEmpty { try await classic.removeTags(loadBalancerNames: names.keys.sorted(), keys: keys) }
    }
}
