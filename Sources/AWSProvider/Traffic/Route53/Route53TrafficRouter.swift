import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// The Route 53 implementation of `TrafficRouter`: two weighted record sets of one name, one per stack, each pointing at
/// its stack's own load balancer. "Green at N %" is the green record at weight N and the blue one at 100 − N (Route 53
/// weights are relative; percent numbers are written as they are, so they read back as percent). Both weights are
/// written in one change batch of two UPSERTs, which Route 53 applies together or not at all; the write is waited on
/// until `INSYNC` and read back.
///
/// Stickiness does not exist in DNS: a `StickinessChange` is ignored. Every other field of a record (TTL, values, alias
/// target, health check) is written back as it was read.
public struct Route53TrafficRouter: TrafficRouter {
    public let route53: Route53
    public let records: DeploymentSpec.Route53Traffic
    public let clock: DeploymentClock
    /// How long a change may stay `PENDING` (AWS says usually within 60 s).
    public var changeTimeout: TimeInterval = 300
    public var pollInterval: TimeInterval = 2

    /// Reads each stack's load balancer at plan time (`discover`); nil in a router that only moves the weights.
    public let elb: ELBv2?

    public init(route53: Route53, records: DeploymentSpec.Route53Traffic, clock: DeploymentClock, elb: ELBv2? = nil) {
        self.route53 = route53
        self.elb = elb
        self.records = records
        self.clock = clock
    }

    public var description: String { records.description }

    public var traits: TrafficTraits { AWSTrafficBackends.traits(.route53) }

    /// Route 53 records take no ELB tags: the two stacks' target groups carry the fence's claim instead.
    public var fenceResources: [String] { records.records.map(\.targetGroup) }

    /// Both records as the file says, their TTL, and each stack's load balancer.
    public func discover(_ spec: DeploymentSpec) async throws -> TrafficDiscovery {
        let found = try await read()
        let stacks = try await stackLoadBalancers()
        return TrafficDiscovery(weights: weights(found), cacheSeconds: ttl(of: found), stackLoadBalancers: stacks)
    }

    /// The records' TTL, or `traffic.settle` when that is longer: resolvers keep the old answer that long.
    public func settle(_ spec: DeploymentSpec, cacheSeconds: Int?) -> TimeSpan {
        guard let cacheSeconds else { return spec.traffic.settle ?? DeploymentSpec.Traffic.defaultSettle }
        return max(.seconds(Int64(cacheSeconds)), spec.traffic.settle ?? .zero)
    }

    /// Each stack's own listener always forwards to its target group: only the records say who carries traffic.
    public func carried(_ watched: [String], spec: DeploymentSpec) async throws -> [String: Int] {
        try await currentWeights().percent
    }

    /// A URL naming the record goes to green's own endpoint, with the record's name as its `Host`.
    public func probe(_ url: String, greenPool greenTargetGroup: String) -> (url: String, hostHeader: String?) {
        records.probe(url, greenPool: greenTargetGroup)
    }

    /// Each stack's load balancer, by its target group: the one of the target group's load balancers whose DNS name the
    /// stack's record points at (an alias may add `dualstack.`), else its only one.
    func stackLoadBalancers() async throws -> [String: String] {
        guard let elb else { return [:] }
        let groups = try await elb.describeTargetGroups(arns: records.records.map(\.targetGroup))
        let candidates = Set(groups.flatMap(\.loadBalancerArns)).sorted()
        let names = try await elb.loadBalancerDNSNames(arns: candidates)
        var out: [String: String] = [:]
        for record in records.records {
            let own = groups.first { $0.arn == record.targetGroup }?.loadBalancerArns ?? []
            let target = Route53.fqdn(record.target)
            let pointed = own.first { arn in
                let name = Route53.fqdn(names[arn] ?? "")
                return name == target || "dualstack." + name == target
            }
            guard let balancer = pointed ?? (own.count == 1 ? own.first : nil) else {
                throw Route53TrafficError.noLoadBalancer(targetGroup: record.targetGroup, target: record.target, found: own)
            }
            out[record.targetGroup] = balancer
        }
        return out
    }

    public var resources: [String] {
        records.records.map { "hostedzone/\(records.hostedZoneId) \(Route53.fqdn(records.recordName)) \(records.recordType) \($0.setIdentifier)" }
    }

    /// TTL of an alias record: Route 53 answers an alias to a load balancer with the load balancer's own 60 s.
    public static let aliasTTL = 60

    /// Both records as they stand, checked against the file: present, weighted, pointing at the stacks named.
    public func read() async throws -> [ResourceRecordSet] {
        let found = try await route53.recordSets(hostedZoneId: records.hostedZoneId, name: records.recordName, type: records.recordType)
        return try records.records.map { wanted in
            guard let record = found.first(where: { $0.setIdentifier == wanted.setIdentifier }) else {
                throw Route53TrafficError.recordMissing(description, setIdentifier: wanted.setIdentifier,
                                                        found: found.compactMap(\.setIdentifier))
            }
            guard record.weight != nil else { throw Route53TrafficError.notWeighted(description, setIdentifier: wanted.setIdentifier) }
            guard Route53.fqdn(record.target) == Route53.fqdn(wanted.target) else {
                throw Route53TrafficError.targetMismatch(description, setIdentifier: wanted.setIdentifier, file: wanted.target, record: record.target)
            }
            return record
        }
    }

    /// Seconds resolvers may keep an answer: the longest TTL of the two records (60 s for alias records).
    public func ttl(of read: [ResourceRecordSet]) -> Int {
        read.map { $0.aliasTarget != nil ? Self.aliasTTL : ($0.ttl ?? Self.aliasTTL) }.max() ?? Self.aliasTTL
    }

    public func currentWeights() async throws -> TrafficWeights {
        weights(try await read())
    }

    /// The records' weights as shares of each stack's target group.
    func weights(_ read: [ResourceRecordSet]) -> TrafficWeights {
        let raw = zip(records.records, read).map { ($0.targetGroup, max($1.weight ?? 0, 0)) }
        let total = raw.reduce(0) { $0 + $1.1 }
        var percent: [String: Int] = [:]
        for (group, weight) in raw {
            // All at 0 is an even split in Route 53, not "no traffic".
            percent[group] = total == 0 ? 100 / raw.count : Int((Double(weight) * 100 / Double(total)).rounded())
        }
        return TrafficWeights(forwards: [ForwardWeights(resource: description, percent: percent)])
    }

    public func setWeights(bluePool blueTargetGroup: String, greenPool greenTargetGroup: String, green: Int, stickiness: StickinessChange,
                           known: TrafficWeights?, write rule: WeightWrite) async throws -> TrafficWeights {
        guard (0...100).contains(green), let blueRecord = records.record(targetGroup: blueTargetGroup),
              let greenRecord = records.record(targetGroup: greenTargetGroup), blueRecord != greenRecord else {
            throw Route53TrafficError.unknownTargetGroups(description, blue: blueTargetGroup, green: greenTargetGroup)
        }
        // Always read first: the write carries every other field of each record as it is now.
        let current = try await read()
        let before = weights(current)
        if ReadConsistency.mayLeaveUnwritten(rule, readGreen: before.percent[greenTargetGroup], readBlue: before.percent[blueTargetGroup], target: green),
           current.allSatisfy({ ($0.weight ?? 0) <= 100 }) {
            return before
        }
        let wanted = [blueRecord.setIdentifier: 100 - green, greenRecord.setIdentifier: green]
        let upserts = current.map { record -> ResourceRecordSet in
            var record = record
            record.weight = record.setIdentifier.flatMap { wanted[$0] }
            return record
        }
        let change = try await route53.upsert(hostedZoneId: records.hostedZoneId, records: upserts,
                                               comment: "switchyard: green \(green)%")
        try await waitInSync(change)
        let readBack = weights(try await read())
        guard readBack.percent[greenTargetGroup] == green, readBack.percent[blueTargetGroup] == 100 - green else {
            throw TrafficError.readBackMismatch(resource: description, expectedGreen: green, found: readBack.percent)
        }
        return readBack
    }

    /// Polls GetChange with the injected clock until `INSYNC`, at most `changeTimeout`.
    func waitInSync(_ change: Route53ChangeInfo) async throws {
        var info = change
        let deadline = clock.now().addingTimeInterval(changeTimeout)
        while !info.isInSync {
            guard clock.now() < deadline else {
                throw Route53TrafficError.changeNotInSync(changeId: info.id, status: info.status, waited: Int(changeTimeout))
            }
            try await clock.sleep(until: clock.now().addingTimeInterval(pollInterval))
            info = try await route53.getChange(id: info.id)
        }
    }
}

/// The records are not as the deployment file says, or a change did not propagate.
public enum Route53TrafficError: Error, Sendable, CustomStringConvertible {
    case recordMissing(String, setIdentifier: String, found: [String])
    case notWeighted(String, setIdentifier: String)
    case targetMismatch(String, setIdentifier: String, file: String, record: String)
    case unknownTargetGroups(String, blue: String, green: String)
    case changeNotInSync(changeId: String, status: String, waited: Int)
    /// No load balancer of a stack's target group is the one its record points at.
    case noLoadBalancer(targetGroup: String, target: String, found: [String])

    /// The records are not as the deployment file says (nothing was changed): a usage error, not a failure.
    public var isFileMismatch: Bool {
        if case .changeNotInSync = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .recordMissing(let records, let id, let found):
            let seen = found.isEmpty ? "none with a set identifier" : found.joined(separator: ", ")
            return "\(records): no record with set identifier \"\(id)\" (found: \(seen)); create both weighted records before a release"
        case .notWeighted(let records, let id):
            return "\(records): the record \"\(id)\" has no weight; both must be weighted records"
        case .targetMismatch(let records, let id, let file, let record):
            return "\(records): the record \"\(id)\" points at \(record), but traffic.route53.records says \(file)"
        case .unknownTargetGroups(let records, let blue, let green):
            return "\(records): target groups \(blue) and \(green) are not the two records' target groups"
        case .noLoadBalancer(let group, let target, let found):
            let seen = found.isEmpty ? "it is used by no load balancer" : "its load balancers are \(found.joined(separator: ", "))"
            return "target group \(group) (traffic.route53.records) should sit behind the load balancer its record points at (\(target)), "
                + "but \(seen)"
        case .changeNotInSync(let id, let status, let waited):
            return "Route 53 change \(id) is still \(status) after \(waited) s (GetChange); the weights may or may not be live yet"
        }
    }
}
