import Azure
@testable import AzureProvider
import SwitchyardCore
import Testing

/// The pure rules of Azure's effects: the order of a split's two writes, what Traffic Manager's probes say of green,
/// and the names green gets.
@Suite struct AzureEffectsTests {
    /// Applying only the first write of a split (a crash, a refusal between the two) leaves green's share between the
    /// split before and the one asked for, for every pair of steps: never more green than asked, never less than was.
    @Test func theFirstOfASplitsTwoWritesLeavesGreenBetweenTheOldShareAndTheNew() {
        func endpoints(_ split: TrafficManagerSplit, keeping old: (blue: TrafficManagerEndpoint, green: TrafficManagerEndpoint)) -> (TrafficManagerEndpoint, TrafficManagerEndpoint) {
            func apply(_ side: TrafficManagerSplit.Side, _ e: TrafficManagerEndpoint) -> TrafficManagerEndpoint {
                var e = e
                e.enabled = side.enabled
                if let w = side.weight { e.weight = w }
                return e
            }
            return (apply(split.blue, old.blue), apply(split.green, old.green))
        }
        let steps = Array(stride(from: 0, through: 100, by: 10))
        for from in steps {
            for to in steps where to != from {
                let before = TrafficManagerSplit(greenPercent: from)
                let blue0 = TrafficManagerEndpoint(name: "a", type: "azureEndpoints", weight: before.blue.weight ?? 1000, enabled: before.blue.enabled)
                let green0 = TrafficManagerEndpoint(name: "b", type: "azureEndpoints", weight: before.green.weight ?? 1, enabled: before.green.enabled)
                let (blue1, green1) = endpoints(TrafficManagerSplit(greenPercent: to), keeping: (blue0, green0))
                let first = AzureEffects.writeOrder(from: from, to: to).first
                let halfway = first == .blue ? (blue1, green0) : (blue0, green1)
                let share = TrafficManagerSplit.greenPercent(blue: halfway.0, green: halfway.1)
                #expect(share != nil, "\(from) → \(to): no endpoint enabled between the writes")
                if let share { #expect(share >= min(from, to) && share <= max(from, to), "\(from) → \(to): \(share) between the writes") }
            }
        }
    }

    @Test func greenDegradedAtTrafficManagersProbesFailsOnlyWhileItHasAShare() {
        func profile(_ status: String, enabled: Bool = true) -> TrafficManagerProfile {
            TrafficManagerProfile(id: "p", routingMethod: "Weighted", ttl: 5, endpoints: [
                TrafficManagerEndpoint(name: "a", type: "azureEndpoints", weight: 900, enabled: true, monitorStatus: "Online"),
                TrafficManagerEndpoint(name: "b", type: "azureEndpoints", weight: 100, enabled: enabled, monitorStatus: status)])
        }
        #expect(!AzureEffects.endpointHealth(profile("Degraded"), green: "b", share: 10).passed)
        #expect(!AzureEffects.endpointHealth(profile("Stopped"), green: "b", share: 10).passed)
        #expect(AzureEffects.endpointHealth(profile("Online"), green: "b", share: 10).passed)
        #expect(AzureEffects.endpointHealth(profile("CheckingEndpoint"), green: "b", share: 10).passed)
        #expect(AzureEffects.endpointHealth(profile("Degraded"), green: "b", share: 0).passed)
        #expect(!AzureEffects.endpointHealth(profile("Online"), green: "c", share: 10).passed)
        #expect(AzureEffects.endpointHealth(profile("Degraded"), green: "b", share: 10).evidence == "Traffic Manager reports endpoint b Degraded: its probes find green's stack not serving")
    }

    @Test func greensNamesFitAzuresLimitsAndDifferFromBlues() {
        let long = String(repeating: "service", count: 12)
        #expect(AzurePlanner.greenName(service: long, deploymentId: "20261207-134009-1fe0").count <= 64)
        #expect(AzurePlanner.greenName(service: "web", deploymentId: "20261207-134009-1fe0") == "web-20261207-134009-1fe0")
        let prefix = AzurePlanner.computerNamePrefix(service: "web-api_v2", deploymentId: "20261207-134009-1fe0")
        #expect(prefix.count <= 9 && prefix.allSatisfy { $0.isLetter || $0.isNumber } && prefix.hasSuffix("1fe0"))
        #expect(prefix != AzurePlanner.computerNamePrefix(service: "web-api_v2", deploymentId: "20261207-134010-77aa"))
    }
}

@Suite struct AzureSettleTests {
    /// The file's settle counts only when it is at least the TTL; none in the file is the TTL and 15 s more for the
    /// name servers to take the change up.
    @Test func theSettleIsTheFilesAtLeastTheTTLOrTheTTLAndTheDefaultForPropagation() {
        #expect(AzurePlanner.settle(file: nil, ttl: 30) == .seconds(45))
        #expect(AzurePlanner.settle(file: .seconds(5), ttl: 30) == .seconds(30))
        #expect(AzurePlanner.settle(file: .seconds(60), ttl: 30) == .seconds(60))
        #expect(AzurePlanner.settle(file: .seconds(0), ttl: 2) == .seconds(2))
    }
}
