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
/// Tags cannot be compared-and-set, so a claim reads, writes, waits `settle` and reads again: of two claims racing
/// within that window the last write wins and the other sees it and backs off. A claim that lost exits 4 before
/// anything else in AWS changed.
public struct ListenerGuard: Sendable {
    public static let tagKey = "switchyard:deployment"

    public let elb: ELBv2
    public let resourceArns: [String]
    public let settle: TimeInterval

    public init(aws: AWSClients, spec: DeploymentSpec, settle: TimeInterval = 0.25) {
        self.elb = aws.elb
        // Route 53 records take no ELB tags: the two stacks' target groups carry the claim instead.
        let resources = spec.traffic.route53 != nil ? spec.traffic.targetGroups : spec.traffic.forwards.map(\.arn)
        self.resourceArns = Array(resources.prefix(20))
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

    /// Tags the listener for `deploymentId` and confirms the tag held. `mayReplace` says whether a tag naming another
    /// deployment may be overwritten (that deployment is known finished or dead); otherwise it is a conflict.
    /// `owner` is the tag as the caller just read it (`owner()`), so it is not read twice; nil reads it here.
    public func claim(for deploymentId: String, owner known: String?? = nil, mayReplace: (String) -> Bool) async throws {
        let current: String?
        if let known { current = known } else { current = try await owner() }
        if let owner = current, owner != deploymentId, !mayReplace(owner) {
            throw ListenerClaimed(resource: resourceArn, owner: owner)
        }
        try await elb.addTags(resourceArns: resourceArns, tags: [Self.tagKey: deploymentId])
        if settle > 0 { try await Task.sleep(nanoseconds: UInt64(settle * 1_000_000_000)) }
        if let owner = try await owners().first(where: { $0 != deploymentId }) {
            throw ListenerClaimed(resource: resourceArn, owner: owner)
        }
    }

    /// Removes the tag from every resource where it still names `deploymentId`.
    public func release(for deploymentId: String) async throws {
        let tags = try await elb.describeTags(resourceArns: resourceArns)
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

    public init(resource: String, owner: String) {
        self.resource = resource
        self.owner = owner
    }

    public var description: String {
        "\(resource) is tagged \(ListenerGuard.tagKey)=\(owner): deployment \(owner) is shifting it, perhaps from another "
            + "machine's state file. If that deployment is known to be dead, clear the tag with `--force-unlock \(owner)`."
    }
}
