import AWS
import Foundation
import SwitchyardCore

/// The second guard, in AWS: while a release runs, every listener and rule it shifts carries the tag
/// `switchyard:deployment=<id>`, so two operators with two state files still cannot shift them at once.
///
/// Every named resource is tagged, not only the first: two files for the same pair must name the same forwards (plan
/// refuses any left out) but may list them in another order, and a tag on each costs no more requests (AddTags,
/// DescribeTags and RemoveTags take up to 20 resources per call).
///
/// Tags cannot be compared-and-set, and AWS's tag reads are eventually consistent (a read right after a write may show
/// the tags from before it). So a claim reads the tag just before it writes, writes, waits `settle`, and reads again:
/// of two claims racing the last write wins, and after `settle` both read the same winner, as long as tag reads are
/// stale for less than half of `settle` (`SWITCHYARD_TAG_SETTLE`, 2 s by default). The loser takes back what it
/// wrote (the winner's tag goes back where its own had replaced it) and exits 4, having created nothing. A fence
/// (before each traffic change and each removal) that reads another owner reads again for `settle` before it stops.
public struct ListenerGuard: Sendable {
    public static let tagKey = "switchyard:deployment"

    /// `SWITCHYARD_TAG_SETTLE` (a duration from 0 to 1m), else 2 s: how long a claim waits for AWS's tag reads to show
    /// its write before it reads who won.
    public static let defaultSettle: TimeInterval = {
        guard let text = ProcessInfo.processInfo.environment["SWITCHYARD_TAG_SETTLE"], !text.isEmpty, let span = TimeSpan(parsing: text),
              span.milliseconds >= 0, span.milliseconds <= 60_000 else { return 2 }
        return span.seconds
    }()

    public let elb: ELBv2
    public let resourceArns: [String]
    public let settle: TimeInterval

    public init(aws: AWSClients, spec: DeploymentSpec, settle: TimeInterval = ListenerGuard.defaultSettle) {
        self.elb = aws.elb
        // What carries the tag is the backend's to say (a listener's forwards, or the stacks' target groups).
        self.resourceArns = Array(aws.traffic(for: spec).fenceResources.prefix(20))
        self.settle = settle
    }

    /// A guard over these resources, for tests that drive it against a fake ELB.
    init(elb: ELBv2, resourceArns: [String], settle: TimeInterval) {
        self.elb = elb
        self.resourceArns = resourceArns
        self.settle = settle
    }

    /// The resources, for messages.
    public var resourceArn: String { resourceArns.joined(separator: ", ") }

    /// The deployment id the listeners and rules are tagged with, if any (the first found, in the file's order).
    public func owner() async throws -> String? {
        let tags = try await elb.describeTags(resourceArns: resourceArns)
        return resourceArns.lazy.compactMap { tags[$0]?[Self.tagKey] }.first
    }

    /// Every deployment id found in the tags, one per tagged resource, in the file's order.
    public func owners() async throws -> [String] {
        let tags = try await elb.describeTags(resourceArns: resourceArns)
        return resourceArns.compactMap { tags[$0]?[Self.tagKey] }
    }

    /// The owners, read again every quarter second for up to `settle` until every resource says `deploymentId`: a read
    /// just after a tag write may show the tags from before it.
    public func owners(confirming deploymentId: String) async throws -> [String] {
        var owners = try await self.owners()
        let until = Date().addingTimeInterval(settle)
        while !(owners.count == resourceArns.count && owners.allSatisfy({ $0 == deploymentId })), Date() < until {
            try await Task.sleep(nanoseconds: 250_000_000)
            owners = try await self.owners()
        }
        return owners
    }

    /// Tags the listener for `deploymentId` and confirms the tag held. `mayReplace` says whether a tag naming another
    /// deployment may be overwritten (that deployment is known finished or dead); otherwise it is a conflict.
    /// `owner` is the tag as the caller read it an instant ago (`owner()`), so it is not read twice; nil reads it here.
    public func claim(for deploymentId: String, owner known: String?? = nil, mayReplace: (String) -> Bool) async throws {
        let current: String?
        if let known { current = known } else { current = try await owner() }
        if let owner = current, owner != deploymentId, !mayReplace(owner) {
            throw ListenerClaimed(resource: resourceArn, owner: owner)
        }
        try await elb.addTags(resourceArns: resourceArns, tags: [Self.tagKey: deploymentId])
        if settle > 0 { try await Task.sleep(nanoseconds: UInt64(settle * 1_000_000_000)) }
        let tags = try await elb.describeTags(resourceArns: resourceArns)
        let seen = resourceArns.map { tags[$0]?[Self.tagKey] }
        // A finished deployment's tag read back is only a stale read: it cannot have written after us.
        guard let winner = seen.compactMap({ $0 }).first(where: { $0 != deploymentId && !mayReplace($0) }) else { return }
        try await takeBack(deploymentId, seen: seen, winner: winner)
        throw ListenerClaimed(resource: resourceArn, owner: winner, raced: true)
    }

    /// After losing a race to `winner`: every resource gets the tag it was read with when that names another
    /// deployment, else the winner's. Where this claim's write landed last, that puts back what it replaced; where the
    /// other's landed last, it changes nothing. Removing the tag instead could take the winner's off a resource whose
    /// read was stale.
    private func takeBack(_ deploymentId: String, seen: [String?], winner: String) async throws {
        var byOwner: [String: [String]] = [:]
        for (arn, owner) in zip(resourceArns, seen) {
            let back = owner.flatMap { $0 == deploymentId ? nil : $0 } ?? winner
            byOwner[back, default: []].append(arn)
        }
        for (owner, arns) in byOwner.sorted(by: { $0.key < $1.key }) { try await elb.addTags(resourceArns: arns, tags: [Self.tagKey: owner]) }
    }

    /// Removes the tag from every resource where it still names `deploymentId`. A read that shows another owner is
    /// read again for `settle`: it may be the tags from before the last write.
    public func release(for deploymentId: String) async throws {
        var tags = try await elb.describeTags(resourceArns: resourceArns)
        let until = Date().addingTimeInterval(settle)
        while resourceArns.contains(where: { tags[$0]?[Self.tagKey].map { $0 != deploymentId } ?? false }), Date() < until {
            try await Task.sleep(nanoseconds: 250_000_000)
            tags = try await elb.describeTags(resourceArns: resourceArns)
        }
        let ours = resourceArns.filter { tags[$0]?[Self.tagKey] == deploymentId }
        if !ours.isEmpty {
            try await elb.removeTags(resourceArns: ours, keys: [Self.tagKey])
        }
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
            return "deployment \(owner) claimed \(resource) at the same moment and won: this deployment's \(ListenerGuard.tagKey) tag "
                + "was taken back (deployment \(owner)'s put back where it had replaced it) and nothing else of it was made in AWS"
        }
        return "\(resource) is tagged \(ListenerGuard.tagKey)=\(owner): deployment \(owner) is shifting it, perhaps from another "
            + "machine's state file. If that deployment is known to be dead, clear the tag with `--force-unlock \(owner)`."
    }
}
