import Foundation

/// The Classic Load Balancer calls Switchyard makes (query protocol, version 2012-06-01: the same endpoint and signing
/// name as v2, told apart by `Version`). Instances are registered by id; the load balancer's view of each is read with
/// DescribeInstanceHealth and answered here in the target-group vocabulary the rest of Switchyard reads (`healthy`,
/// `initial`, `unhealthy`, `draining`, `unused`), so one reading of "serving", "registered" and "drained" holds for both.
public struct ClassicELB: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// The load balancer's answer for an instance, with its target-group reading in `state`.
    public struct InstanceHealth: Sendable, Hashable {
        public var instanceId: String
        /// `InService`, `OutOfService` or `Unknown`, as AWS answered.
        public var classicState: String
        public var reasonCode: String?
        public var description: String?

        public init(instanceId: String, classicState: String, reasonCode: String? = nil, description: String? = nil) {
            self.instanceId = instanceId
            self.classicState = classicState
            self.reasonCode = reasonCode
            self.description = description
        }

        /// AWS's Classic guide ("Configure connection draining"): while a deregistered instance finishes its in-flight
        /// requests it reads `InService: Instance deregistration currently in progress`, and once done `OutOfService:
        /// Instance is not currently registered with the LoadBalancer`; a new one reads `OutOfService: Instance
        /// registration is still in progress` until it passes its health checks. `Unknown` (a transient error) is
        /// read as registered and not serving, so nothing is terminated or counted on its word.
        public var state: String {
            let text = (description ?? "").lowercased()
            switch classicState {
            case "InService": return text.contains("deregistration currently in progress") ? "draining" : "healthy"
            case "OutOfService":
                if text.contains("not currently registered") { return "unused" }
                if text.contains("registration is still in progress") { return "initial" }
                return "unhealthy"
            default: return "unavailable"
            }
        }

        /// The same answer as a target group's would read.
        public var asTarget: TargetHealthDescription {
            TargetHealthDescription(targetId: instanceId, port: nil, state: state, reason: reasonCode, description: description)
        }
    }

    /// Every instance registered with the load balancer, with its health (DescribeInstanceHealth with no instance
    /// list answers the registered ones only).
    public func describeInstanceHealth(loadBalancerName: String) async throws -> [InstanceHealth] {
        let result = try await client.call(.classicLoadBalancing, action: "DescribeInstanceHealth", parameters: ["LoadBalancerName": loadBalancerName])
        return result.all("InstanceStates/member").map {
            InstanceHealth(instanceId: $0.value("InstanceId") ?? "", classicState: $0.value("State") ?? "",
                           reasonCode: $0.value("ReasonCode").flatMap { $0 == "N/A" || $0.isEmpty ? nil : $0 }, description: $0.value("Description"))
        }
    }

    /// Registers instances with the load balancer.
    public func registerInstances(loadBalancerName: String, instanceIds: [String]) async throws {
        guard !instanceIds.isEmpty else { return }
        _ = try await client.call(.classicLoadBalancing, action: "RegisterInstancesWithLoadBalancer", parameters: Self.instances(loadBalancerName, instanceIds))
    }

    /// Deregisters instances: with connection draining on, the load balancer finishes their in-flight requests for up to
    /// its timeout, reading them `InService: Instance deregistration currently in progress` meanwhile.
    public func deregisterInstances(loadBalancerName: String, instanceIds: [String]) async throws {
        guard !instanceIds.isEmpty else { return }
        _ = try await client.call(.classicLoadBalancing, action: "DeregisterInstancesFromLoadBalancer", parameters: Self.instances(loadBalancerName, instanceIds))
    }

    private static func instances(_ name: String, _ ids: [String]) -> [String: String] {
        var p = ["LoadBalancerName": name]
        for (index, id) in ids.enumerated() { p["Instances.member.\(index + 1).InstanceId"] = id }
        return p
    }

    /// The load balancer's connection-draining timeout in seconds, 0 when draining is off (AWS then cuts in-flight
    /// requests at deregistration).
    public func connectionDrainingSeconds(loadBalancerName: String) async throws -> Int {
        let result = try await client.call(.classicLoadBalancing, action: "DescribeLoadBalancerAttributes", parameters: ["LoadBalancerName": loadBalancerName])
        guard result.value("LoadBalancerAttributes/ConnectionDraining/Enabled") == "true" else { return 0 }
        return result.int("LoadBalancerAttributes/ConnectionDraining/Timeout") ?? 0
    }

    /// Tags several load balancers in one call (at most 20).
    public func addTags(loadBalancerNames: [String], tags: [String: String]) async throws {
        var parameters = QueryEncoding.memberList("LoadBalancerNames", loadBalancerNames)
        for (index, key) in tags.keys.sorted().enumerated() {
            parameters["Tags.member.\(index + 1).Key"] = key
            parameters["Tags.member.\(index + 1).Value"] = tags[key]
        }
        _ = try await client.call(.classicLoadBalancing, action: "AddTags", parameters: parameters)
    }

    /// Removes tags by key (the Classic API names them as `Tags.member.N.Key`).
    public func removeTags(loadBalancerNames: [String], keys: [String]) async throws {
        var parameters = QueryEncoding.memberList("LoadBalancerNames", loadBalancerNames)
        for (index, key) in keys.enumerated() { parameters["Tags.member.\(index + 1).Key"] = key }
        _ = try await client.call(.classicLoadBalancing, action: "RemoveTags", parameters: parameters)
    }

    /// Each load balancer's tags, by its name (at most 20 names).
    public func describeTags(loadBalancerNames: [String]) async throws -> [String: [String: String]] {
        let result = try await client.call(.classicLoadBalancing, action: "DescribeTags", parameters: QueryEncoding.memberList("LoadBalancerNames", loadBalancerNames))
        var out: [String: [String: String]] = [:]
        for description in result.all("TagDescriptions/member") {
            var tags: [String: String] = [:]
            for tag in description.all("Tags/member") { tags[tag.value("Key") ?? ""] = tag.value("Value") ?? "" }
            out[description.value("LoadBalancerName") ?? ""] = tags
        }
        return out
    }
}
