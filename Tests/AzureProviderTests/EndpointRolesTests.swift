import Azure
import AzureProvider
import SwitchyardCore
import Testing

@Suite struct EndpointRolesTests {
    static let traffic = DeploymentSpec.TrafficManagerTraffic(profile: "web-tm", endpoints: ["web-stack-a", "web-stack-b"])

    static func profile(_ a: (Int?, Bool), _ b: (Int?, Bool), method: String = "Weighted", typeB: String = "azureEndpoints") -> TrafficManagerProfile {
        TrafficManagerProfile(id: "/p", routingMethod: method, ttl: 30, endpoints: [
            TrafficManagerEndpoint(name: "web-stack-a", type: "azureEndpoints", weight: a.0, enabled: a.1, monitorStatus: "Online"),
            TrafficManagerEndpoint(name: "web-stack-b", type: typeB, weight: b.0, enabled: b.1, monitorStatus: nil),
        ])
    }

    static func refusal(_ p: TrafficManagerProfile, _ t: DeploymentSpec.TrafficManagerTraffic = traffic) -> String? {
        if case .failure(let r) = EndpointRoles.read(p, traffic: t) { return r.description }
        return nil
    }

    @Test func blueIsTheEndpointThatCarriesAllTheTrafficWhicheverItIs() throws {
        let first = try EndpointRoles.read(Self.profile((1000, true), (1, false)), traffic: Self.traffic).get()
        #expect(first.blue.name == "web-stack-a" && first.green.name == "web-stack-b" && first.ttl == 30)
        let second = try EndpointRoles.read(Self.profile((5, false), (1, true)), traffic: Self.traffic).get()
        #expect(second.blue.name == "web-stack-b" && second.green.name == "web-stack-a")
    }

    @Test func aPartialSplitAMissingOrNestedEndpointOrAnotherRoutingMethodIsRefused() {
        #expect(Self.refusal(Self.profile((900, true), (100, true)))?.contains("both endpoints enabled (web-stack-a weight 900, web-stack-b weight 100: 90.0% / 10.0%)") == true)
        // A weight of 1 against 1000 rounds to 0 %, and is still a split: a resolver in a thousand goes to green's stack.
        #expect(Self.refusal(Self.profile((1000, true), (1, true)))?.contains("both endpoints enabled (web-stack-a weight 1000, web-stack-b weight 1: 99.9% / 0.1%)") == true)
        #expect(Self.refusal(Self.profile((1, false), (1, false)))?.contains("neither endpoint") == true)
        #expect(Self.refusal(Self.profile((1000, true), (1, false), method: "Priority"))?.contains("routes by Priority, not Weighted") == true)
        #expect(Self.refusal(Self.profile((1000, true), (1, false), typeB: "nestedEndpoints"))?.contains("web-stack-b of Traffic Manager profile web-tm is a nested profile") == true)
        let other = DeploymentSpec.TrafficManagerTraffic(profile: "web-tm", endpoints: ["web-stack-a", "web-stack-c"])
        #expect(Self.refusal(Self.profile((1000, true), (1, false)), other) == "Traffic Manager profile web-tm has no endpoint web-stack-c (it has: web-stack-a, web-stack-b)")
    }
}
