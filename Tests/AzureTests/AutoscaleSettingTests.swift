import Foundation
import HTTP
import Testing
@testable import Azure

let blueSet = vmss.replacingOccurrences(of: "web-green", with: "web-blue")
let settings = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/web-prod"

/// Blue's autoscale setting as ARM answers it (azure-mgmt-monitor's AutoscaleSettingResource): a default profile
/// 2..6 (default 3) that scales on blue's own CPU, and a weekend profile 1..2 that reads another resource's metric.
func blueSetting(target: String = blueSet, name: String = "web-blue-autoscale") -> [String: Any] {
    let cpu: [String: Any] = ["metricTrigger": ["metricName": "Percentage CPU", "metricResourceUri": target, "timeGrain": "PT1M",
                                                "statistic": "Average", "timeWindow": "PT5M", "timeAggregation": "Average",
                                                "operator": "GreaterThan", "threshold": 70],
                              "scaleAction": ["direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"]]
    let queue: [String: Any] = ["metricTrigger": ["metricName": "ActiveMessageCount", "metricResourceUri": "/subscriptions/s/resourceGroups/q/providers/Microsoft.ServiceBus/namespaces/jobs",
                                                  "timeGrain": "PT1M", "statistic": "Average", "timeWindow": "PT5M", "timeAggregation": "Average",
                                                  "operator": "GreaterThan", "threshold": 100],
                                "scaleAction": ["direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"]]
    return ["id": "\(settings)/providers/Microsoft.Insights/autoscalesettings/\(name)", "name": name, "type": "Microsoft.Insights/autoscaleSettings",
            "location": "westeurope", "tags": ["team": "web"], "systemData": ["createdBy": "someone"],
            "properties": ["name": name, "targetResourceUri": target, "enabled": true, "notifications": [] as [Any],
                           "profiles": [["name": "default", "capacity": ["minimum": "2", "maximum": "6", "default": "3"], "rules": [cpu]],
                                        ["name": "weekend", "capacity": ["minimum": "1", "maximum": "2", "default": "1"], "rules": [queue],
                                         "recurrence": ["frequency": "Week", "schedule": ["timeZone": "UTC", "days": ["Saturday"], "hours": [0], "minutes": [0]]]]]]]
}

func object(_ data: Data?) throws -> [String: Any] {
    let bytes = try #require(data)
    return try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
}
func profiles(_ data: Data?) throws -> [[String: Any]] { try #require((try object(data)["properties"] as? [String: Any])?["profiles"] as? [[String: Any]]) }
func capacities(_ data: Data?) throws -> [[String]] {
    try profiles(data).map { p in let c = p["capacity"] as? [String: Any] ?? [:]; return [c["minimum"], c["maximum"], c["default"]].map { "\($0 ?? "")" } }
}

@Suite struct AutoscaleSettingTests {
    @Test func pinningRaisesEachMinimumToBluesCapacityWithinItsMaximumAndUnpinningPutsTheRecordedOnesBack() throws {
        let setting = try AutoscaleSetting(document: try JSONSerialization.data(withJSONObject: blueSetting()))
        #expect(setting.floors == [.init(minimum: 2, default: 3), .init(minimum: 1, default: 1)] && setting.targets(blueSet.uppercased()) && setting.enabled)
        let pin = try setting.pinned(atLeast: 4)
        try BodyFixtures.expectMatches(pin, "monitor.AutoscaleSettingResource.pinned.json")
        #expect(try capacities(pin) == [["4", "6", "4"], ["2", "2", "2"]], "minimum raised to 4 (at most the maximum), default with it")
        let written = try object(pin)
        #expect(written["id"] == nil && written["name"] == nil && written["type"] == nil && written["systemData"] == nil, "no read-only property in a PUT")
        #expect(written["location"] as? String == "westeurope" && (written["properties"] as? [String: Any])?["enabled"] as? Bool == true)
        #expect(try setting.pinned(atLeast: 1) == nil, "a minimum already at blue's capacity is not written")
        // Read back pinned, the recorded floors undo it exactly; profiles that changed meanwhile are not guessed at.
        let pinnedSetting = try AutoscaleSetting(document: try JSONSerialization.data(withJSONObject: blueSetting()
            .merging(["properties": (try object(pin))["properties"]!]) { _, new in new }))
        #expect(try capacities(pinnedSetting.unpinned(floors: setting.floors)) == [["2", "6", "3"], ["1", "2", "1"]])
        #expect(try pinnedSetting.unpinned(floors: pinnedSetting.floors) == nil)
        #expect(throws: AutoscaleSettingError.self) { try pinnedSetting.unpinned(floors: [.init(minimum: 2, default: 3)]) }
    }

    @Test func greensCopyTargetsGreenReadsGreensOwnMetricsAndStaysDisabledUntilReleased() throws {
        let setting = try AutoscaleSetting(document: try JSONSerialization.data(withJSONObject: blueSetting()))
        let copy = try setting.greenCopy(name: "web-green-autoscale", greenScaleSet: vmss)
        try BodyFixtures.expectMatches(copy, "monitor.AutoscaleSettingResource.green.json")
        let properties = try #require(try object(copy)["properties"] as? [String: Any])
        #expect(properties["targetResourceUri"] as? String == vmss && properties["name"] as? String == "web-green-autoscale")
        #expect(properties["enabled"] as? Bool == false)
        let sources = try profiles(copy).map { (($0["rules"] as? [[String: Any]])?.first?["metricTrigger"] as? [String: Any])?["metricResourceUri"] as? String }
        #expect(sources == [vmss, "/subscriptions/s/resourceGroups/q/providers/Microsoft.ServiceBus/namespaces/jobs"], "blue's own CPU becomes green's; another resource's metric stays")
        #expect(try capacities(copy) == [["2", "6", "3"], ["1", "2", "1"]] && (try object(copy))["tags"] as? [String: String] == ["team": "web"])
        let released = try AutoscaleSetting(document: try JSONSerialization.data(withJSONObject: ["id": "x", "location": "westeurope", "properties": properties]))
        #expect((try object(released.enabledBody())["properties"] as? [String: Any])?["enabled"] as? Bool == true)
    }

    @Test func theOneSettingOfTheScaleSetIsFoundOnAnyPageAndTwoAreRefused() async throws {
        let listing = "GET \(settings)/providers/Microsoft.Insights/autoscalesettings"
        let next = "http://127.0.0.1:9\(settings)/providers/Microsoft.Insights/autoscalesettings?api-version=2022-10-01&$skiptoken=1"
        let other = blueSetting(target: vmss.replacingOccurrences(of: "web-green", with: "api"), name: "api-autoscale")
        let arm = FakeARM([listing: [FakeARM.answer(200, ["value": [other], "nextLink": next]), FakeARM.answer(200, ["value": [blueSetting()]])]])
        let found = try await AutoscaleSetting.find(client(arm), resourceGroup: settings, target: blueSet)
        #expect(found?.name == "web-blue-autoscale" && arm.requests.allSatisfy { $0.url.absoluteString.contains("api-version=2022-10-01") })
        let none = FakeARM([listing: [FakeARM.answer(200, ["value": [other]])]])
        #expect(try await AutoscaleSetting.find(client(none), resourceGroup: settings, target: blueSet) == nil)
        let two = FakeARM([listing: [FakeARM.answer(200, ["value": [blueSetting(), blueSetting(name: "second")]])]])
        await #expect(throws: AutoscaleSettingError.self) { _ = try await AutoscaleSetting.find(client(two), resourceGroup: settings, target: blueSet) }
        let bad = blueSetting().merging(["properties": ["targetResourceUri": blueSet, "profiles": [["name": "d", "capacity": ["minimum": "two", "maximum": "4", "default": "2"]]]]]) { _, n in n }
        #expect(throws: AutoscaleSettingError.self) { try AutoscaleSetting(document: try JSONSerialization.data(withJSONObject: bad)) }
    }
}
