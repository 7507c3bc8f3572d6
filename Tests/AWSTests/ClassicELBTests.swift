@testable import AWS
import Foundation

import Testing

/// The Classic Load Balancer calls: the 2012-06-01 API on v2's endpoint and signing name, and DescribeInstanceHealth
/// read in the target-group vocabulary the scale-out pattern decides by.
@Suite struct ClassicELBTests {
    static func answer(_ action: String, _ result: String) -> HTTPResponse {
        let xml = """
        <\(action)Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/">
          <\(action)Result>\(result)</\(action)Result>
          <ResponseMetadata><RequestId>0c6e9bd5-0000-4000-8000-000000000001</RequestId></ResponseMetadata>
        </\(action)Response>
        """
        return HTTPResponse(status: 200, headers: [:], body: Data(xml.utf8))
    }

    /// AWS's Classic guide names each state's words: draining reads InService with "deregistration currently in
    /// progress", a finished deregistration OutOfService with "not currently registered", a new registration
    /// OutOfService with "registration is still in progress". Unknown is never read as gone or as serving.
    @Test(arguments: [
        ("InService", "N/A", "N/A", "healthy"),
        ("InService", "ELB", "Instance deregistration currently in progress.", "draining"),
        ("OutOfService", "ELB", "Instance registration is still in progress.", "initial"),
        ("OutOfService", "Instance", "Instance has failed at least the UnhealthyThreshold number of health checks consecutively.", "unhealthy"),
        ("OutOfService", "Instance", "Instance is not currently registered with the LoadBalancer.", "unused"),
        ("Unknown", "ELB", "A transient error occurred. Please try again later.", "unavailable"),
    ])
    func eachClassicStateReadsAsTheTargetGroupsWord(state: String, reason: String, description: String, expected: String) async throws {
        let transport = FakeTransport()
        transport.enqueue(.success(Self.answer("DescribeInstanceHealth", """
            <InstanceStates><member><InstanceId>i-0a</InstanceId><State>\(state)</State><ReasonCode>\(reason)</ReasonCode>
            <Description>\(description)</Description></member></InstanceStates>
            """)))
        let health = try await ClassicELB(client: makeClient(transport)).describeInstanceHealth(loadBalancerName: "web-clb")
        #expect(health.map(\.state) == [expected])
        #expect(health.first?.asTarget.targetId == "i-0a" && health.first?.asTarget.state == expected)
        #expect(health.first?.reasonCode == (reason == "N/A" ? nil : reason) && health.first?.asTarget.reason == health.first?.reasonCode)
        let form = try #require(transport.parameters.first)
        #expect(form["Action"] == "DescribeInstanceHealth" && form["Version"] == "2012-06-01" && form["LoadBalancerName"] == "web-clb")
        #expect(form.keys.filter { $0.hasPrefix("Instances.") }.isEmpty, "no instance list: every registered instance is answered")
    }

    @Test func registrationsTagsAndDrainingGoOutAsTheClassicAPINamesThem() async throws {
        let transport = FakeTransport()
        transport.enqueue(.success(Self.answer("DeregisterInstancesFromLoadBalancer", "<Instances/>")))
        transport.enqueue(.success(Self.answer("RegisterInstancesWithLoadBalancer", "<Instances/>")))
        transport.enqueue(.success(Self.answer("AddTags", "")))
        transport.enqueue(.success(Self.answer("RemoveTags", "")))
        transport.enqueue(.success(Self.answer("DescribeTags", """
            <TagDescriptions><member><LoadBalancerName>web-clb</LoadBalancerName>
            <Tags><member><Key>switchyard:deployment:d-1</Key><Value>d-1</Value></member></Tags></member></TagDescriptions>
            """)))
        transport.enqueue(.success(Self.answer("DescribeLoadBalancerAttributes", """
            <LoadBalancerAttributes><ConnectionDraining><Enabled>true</Enabled><Timeout>45</Timeout></ConnectionDraining></LoadBalancerAttributes>
            """)))
        transport.enqueue(.success(Self.answer("DescribeLoadBalancerAttributes", """
            <LoadBalancerAttributes><ConnectionDraining><Enabled>false</Enabled><Timeout>300</Timeout></ConnectionDraining></LoadBalancerAttributes>
            """)))
        let elb = ClassicELB(client: makeClient(transport))
        try await elb.deregisterInstances(loadBalancerName: "web-clb", instanceIds: ["i-1", "i-2"])
        try await elb.registerInstances(loadBalancerName: "web-clb", instanceIds: ["i-3"])
        try await elb.registerInstances(loadBalancerName: "web-clb", instanceIds: [])
        try await elb.addTags(loadBalancerNames: ["web-clb"], tags: ["switchyard:deployment:d-1": "d-1"])
        try await elb.removeTags(loadBalancerNames: ["web-clb"], keys: ["switchyard:deployment:d-1"])
        let tags = try await elb.describeTags(loadBalancerNames: ["web-clb"])
        #expect(tags == ["web-clb": ["switchyard:deployment:d-1": "d-1"]])
        #expect(try await elb.connectionDrainingSeconds(loadBalancerName: "web-clb") == 45)
        #expect(try await elb.connectionDrainingSeconds(loadBalancerName: "web-clb") == 0, "draining off: nothing is waited for")

        let forms = transport.parameters
        #expect(forms.count == 7, "an empty registration sends nothing")
        #expect(forms.allSatisfy { $0["Version"] == "2012-06-01" })
        #expect(forms[0]["Action"] == "DeregisterInstancesFromLoadBalancer" && forms[0]["Instances.member.2.InstanceId"] == "i-2")
        #expect(forms[1]["Action"] == "RegisterInstancesWithLoadBalancer" && forms[1]["Instances.member.1.InstanceId"] == "i-3")
        #expect(forms[2]["LoadBalancerNames.member.1"] == "web-clb" && forms[2]["Tags.member.1.Key"] == "switchyard:deployment:d-1"
                && forms[2]["Tags.member.1.Value"] == "d-1")
        #expect(forms[3]["Action"] == "RemoveTags" && forms[3]["Tags.member.1.Key"] == "switchyard:deployment:d-1" && forms[3]["TagKeys.member.1"] == nil)
        // Same endpoint and SigV4 scope as v2: only `Version` tells the APIs apart.
        let scope = try #require(transport.requests.first?.headers["Authorization"])
        #expect(scope.contains("/us-east-1/elasticloadbalancing/aws4_request"))
    }
}
