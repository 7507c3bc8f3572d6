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
/// Tags cannot be compared-and-set, and AWS's tag reads are eventually consistent (a read right after a write may show
/// the tags from before it). So each claim writes a key of its own (no claim overwrites another's) and reads until
/// its own key shows on every resource: that read also shows every claim written to those resources before it. A
/// claim wins when such a read shows no other live claim; of two racing, the first written is seen by the second,
/// so they cannot both win. A claim that sees a live rival with a smaller (earlier) id takes its own key back at once;
/// one that sees a larger reads again, for up to `settle` (`SWITCHYARD_TAG_SETTLE`, 2 s by default), for the rival to
/// step back or hold; a claim whose key does not read back within `settle` takes it back too. Taking back removes only
/// the claim's own key, so it never touches a winner's. Nothing waits when the reads are current: one AddTags and one
/// DescribeTags. The rule rests on a read that shows a write to a resource's tags showing every earlier write to them;
/// if AWS ever broke that, the fence before each traffic change (which also reads for `settle`) would stop both
/// claimants before any traffic moved. The loser exits 4, having created nothing. A fence (before each traffic change
/// and each removal) that reads another owner reads again for `settle` before it stops.
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

    /// Tags the resources for `deploymentId` and confirms the claim won. `mayReplace` says whether a claim of another
    /// deployment may be replaced (that deployment is known finished or dead); otherwise it is a conflict. `owners` is
    /// the claims as the caller read them an instant ago (`owners()`), so they are not read twice; nil reads them here.
    public func claim(for deploymentId: String, owners known: [String]? = nil, mayReplace: (String) -> Bool) async throws {
        let current: [String]
        if let known { current = known } else { current = try await owners() }
        if let owner = current.first(where: { $0 != deploymentId && !mayReplace($0) }) {
            throw ListenerClaimed(resource: resourceArn, owner: owner)
        }
        let mine = Self.key(for: deploymentId)
        try await tagging.add(resourceArns, tags: [mine: deploymentId])
        let until = Date().addingTimeInterval(settle)
        var (tags, seen) = try await read()
        while true {
            let shown = seen.allSatisfy { $0.contains(deploymentId) }
            let rivals = Set(seen.joined()).filter { $0 != deploymentId && !mayReplace($0) }.sorted()
            if shown, rivals.isEmpty {
                try await removeReplaced(Set(seen.joined()).subtracting([deploymentId]), tags: tags)
                return
            }
            // A read that shows this claim is current as of its write. A rival with a smaller id seen there is the
            // earlier start: it goes on (or holds already), and this one steps back at once, so two claims that see each
            // other do not both wait out `settle` and both lose. A read that does not show this claim yet may show a
            // claim already taken off: read again.
            let earlier = shown ? rivals.first { $0 < deploymentId } : nil
            if earlier != nil || Date() >= until {
                try await tagging.remove(resourceArns, keys: [mine])
                if let rival = earlier ?? rivals.first { throw ListenerClaimed(resource: resourceArn, owner: rival, raced: true) }
                throw ClaimUnconfirmed(resource: resourceArn, deploymentId: deploymentId, settle: settle)
            }
            try await Task.sleep(nanoseconds: Self.pollInterval)
            (tags, seen) = try await read()
        }
    }

    /// After a win: the claims of the deployments it replaced (finished, dead, `--force-unlock`ed) come off, and the older
    /// single tag with them, so a fence reads one holder and a replaced deployment still running is fenced out.
    private func removeReplaced(_ replaced: Set<String>, tags: [String: [String: String]]) async throws {
        var keys = replaced.sorted().map(Self.key(for:))
        if resourceArns.contains(where: { tags[$0]?[Self.tagKey] != nil }) { keys.append(Self.tagKey) }
        if !keys.isEmpty { try await tagging.remove(resourceArns, keys: keys) }
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
