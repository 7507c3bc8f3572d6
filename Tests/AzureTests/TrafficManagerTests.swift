import Foundation
import HTTP
import Testing
@testable import Azure

let profilePath = "/subscriptions/sub/resourceGroups/web-prod/providers/Microsoft.Network/trafficManagerProfiles/web-tm"

@Suite struct TrafficManagerTests {
    @Test func aSplitIsTwoWeightsAndZeroIsAnEndpointDisabledNotAWeightOfZero() {
        #expect(TrafficManagerSplit(greenPercent: 10) == .init(blue: .init(weight: 900, enabled: true), green: .init(weight: 100, enabled: true)))
        #expect(TrafficManagerSplit(greenPercent: 0) == .init(blue: .init(weight: 1000, enabled: true), green: .init(weight: nil, enabled: false)))
        #expect(TrafficManagerSplit(greenPercent: 100) == .init(blue: .init(weight: nil, enabled: false), green: .init(weight: 1000, enabled: true)))
        for percent in [0, 1, 10, 50, 90, 99, 100] {
            let split = TrafficManagerSplit(greenPercent: percent)
            for side in [split.blue, split.green] { #expect(side.weight.map { (1...1000).contains($0) } ?? true) }
            let blue = TrafficManagerEndpoint(name: "a", type: "azureEndpoints", weight: split.blue.weight ?? 7, enabled: split.blue.enabled)
            let green = TrafficManagerEndpoint(name: "b", type: "azureEndpoints", weight: split.green.weight ?? 7, enabled: split.green.enabled)
            #expect(TrafficManagerSplit.greenPercent(blue: blue, green: green) == percent, "\(percent)% reads back as written")
        }
        let off = TrafficManagerEndpoint(name: "a", type: "azureEndpoints", weight: 5, enabled: false)
        #expect(TrafficManagerSplit.greenPercent(blue: off, green: off) == nil, "no endpoint enabled: no split to read")
    }

    @Test func theProfileGivesItsTTLAndEndpointsAndAWritePatchesOnlyWeightAndStatus() async throws {
        let profile: [String: Any] = ["id": profilePath, "name": "web-tm", "properties": [
            "trafficRoutingMethod": "Weighted", "dnsConfig": ["relativeName": "web-tm", "ttl": 30, "fqdn": "web-tm.trafficmanager.net"],
            "endpoints": [
                ["name": "web-stack-a", "type": "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
                 "properties": ["weight": 1000, "endpointStatus": "Enabled", "endpointMonitorStatus": "Online"]],
                ["name": "web-stack-b", "type": "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
                 "properties": ["weight": 1, "endpointStatus": "Disabled", "endpointMonitorStatus": "Disabled"]],
            ]]]
        let written: [String: Any] = ["name": "web-stack-b", "type": "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
                                      "properties": ["weight": 100, "endpointStatus": "Enabled", "endpointMonitorStatus": "CheckingEndpoint"]]
        let arm = FakeARM(["GET \(profilePath)": [FakeARM.answer(200, profile)],
                           "PATCH \(profilePath)/azureEndpoints/web-stack-b": [FakeARM.answer(200, written)]])
        let tm = TrafficManager(arm: client(arm))
        let read = try await tm.profile(subscription: "sub", resourceGroup: "web-prod", name: "web-tm")
        #expect(read.ttl == 30 && read.routingMethod == "Weighted")
        #expect(read.endpoints == [TrafficManagerEndpoint(name: "web-stack-a", type: "azureEndpoints", weight: 1000, enabled: true, monitorStatus: "Online"),
                                   TrafficManagerEndpoint(name: "web-stack-b", type: "azureEndpoints", weight: 1, enabled: false, monitorStatus: "Disabled")])
        let green = try await tm.set(subscription: "sub", resourceGroup: "web-prod", profile: "web-tm", endpoint: read.endpoints[1].reference,
                                     weight: 100, enabled: true)
        #expect(green.weight == 100 && green.enabled)
        let patch = try #require(arm.requests.last)
        #expect(patch.url.query == "api-version=\(TrafficManager.apiVersion)")
        #expect(String(decoding: patch.body, as: UTF8.self) == #"{"properties":{"endpointStatus":"Enabled","weight":100}}"#)
        try BodyFixtures.expectMatches(patch.body, "trafficmanager.Endpoint.patch-weight.json")
        await #expect(throws: ARMError.self) {
            _ = try await tm.set(subscription: "sub", resourceGroup: "web-prod", profile: "web-tm", endpoint: read.endpoints[1].reference, weight: 0, enabled: true)
        }
        #expect(arm.requests.count == 2, "a weight of 0 is refused before it is sent")
    }
}
