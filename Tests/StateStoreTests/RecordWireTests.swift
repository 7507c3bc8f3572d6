import Foundation
@testable import StateStore
import SwitchyardCore
import Testing

/// What a stored record says of a release's progress, key by key, as every switchyard since format 1 writes and reads
/// it: one JSON boolean per milestone under its own name. Two switchyards share one store (a team's DynamoDB table),
/// so however progress is held in memory, the record keeps these keys: an older one reading a record without them
/// would take each for "not done" (green created again, blue pinned again).
@Suite struct RecordWireTests {
    /// The milestones, under their keys in the record. The first three were always written, `false` included.
    static let always = ["greenGroupCreated", "trafficRestored", "greenRemoved"]
    static let whenDone = ["bluePinned", "greenServed", "greenReleased", "promotionConfirmed", "testRouteRemoved", "stickinessRestored",
                           "blueRestored", "launchTemplateVersionDeleted"]

    static func object(_ d: Deployment) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: RecordCoding.encoder.encode(d)) as? [String: Any])
    }

    @Test func aFreshRecordSaysNothingIsDoneInTheKeysEverySwitchyardReads() throws {
        let record = try Self.object(sampleDeployment())
        for key in Self.always { #expect(record[key] as? Bool == false, "\(key)") }
        for key in Self.whenDone { #expect(record[key] == nil, "\(key) is written only once done") }
    }

    /// The core names blue and green in its own words (group, pool, template, image); the record keeps AWS's keys, the
    /// ones every switchyard since format 1 wrote.
    @Test func thePlansFleetsKeepTheirKeys() throws {
        let d = sampleDeployment()
        let plan = try #require(try Self.object(d)["plan"] as? [String: Any])
        #expect(plan["greenTargetGroupArn"] as? String == d.plan.greenPool && plan["greenAutoScalingGroup"] as? String == d.plan.greenGroup)
        let blue = try #require(plan["blue"] as? [String: Any])
        #expect(Set(blue.keys) == ["autoScalingGroup", "targetGroupArn", "launchTemplateId", "launchTemplateName", "launchTemplateVersion",
                                   "imageId", "architecture", "minSize", "maxSize", "desiredCapacity"])
        #expect(blue["autoScalingGroup"] as? String == d.plan.blue.group && blue["imageId"] as? String == d.plan.blue.image)
    }

    /// The file's part, the fleet plan, a pair's idle group and a removal are named in the core's words (primary
    /// forward, pools, template version, blue's group); their keys in the record stay AWS's, as every switchyard wrote.
    @Test func theSpecTheFleetPlanAndARemovalKeepTheirKeys() throws {
        var d = sampleDeployment()
        d.plan.spec.checks.http?.testRoute = .init(header: "X-Canary", forward: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/3")
        d.plan.spec.fleet = .init(blueGroupName: "web-blue", otherPools: .joinAtPromotion, templateDefault: .promote)
        d.plan.fleet = FleetPlan(otherPools: ["tg-x"], blueTemplateVersion: "$Latest")
        d.plan.pair = PairPlan(groups: ["web-blue", "web-green"], greenBefore: GroupSettings(
            name: "web-green", templateId: "lt-1", templateVersion: "2", minSize: 0, maxSize: 4, desiredCapacity: 0, suspendedProcesses: [], pools: ["tg-b"]))
        d.greenTemplateVersion = 7
        d.testRouteId = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/3/9"
        d.progress.insert(.templateVersionDeleted)
        var removal = FleetRemoval(group: "web-green", trafficLeftAt: nil, settle: .zero, now: Date(timeIntervalSince1970: 0))
        removal.pools = ["tg-b"]
        d.removal = removal
        let record = try Self.object(d)
        let plan = try #require(record["plan"] as? [String: Any])
        let spec = try #require(plan["spec"] as? [String: Any])
        let traffic = try #require(spec["traffic"] as? [String: Any])
        #expect(traffic["listenerArn"] as? String == "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2"
                && Set(traffic.keys) == ["listenerArn", "targetGroups"] && traffic["targetGroups"] as? [String] == d.plan.spec.traffic.pools)
        let route = try #require(((spec["checks"] as? [String: Any])?["http"] as? [String: Any])?["testRoute"] as? [String: Any])
        #expect(Set(route.keys) == ["header", "listenerArn"])
        let fleet = try #require(spec["fleet"] as? [String: Any])
        #expect(fleet["blueAutoScalingGroup"] as? String == "web-blue" && fleet["otherTargetGroups"] as? String == "join_at_promotion"
                && fleet["launchTemplateDefault"] as? String == "promote")
        let fleetPlan = try #require(plan["fleet"] as? [String: Any])
        #expect(fleetPlan["otherTargetGroups"] as? [String] == ["tg-x"] && fleetPlan["blueLaunchTemplateVersion"] as? String == "$Latest")
        let before = try #require((plan["pair"] as? [String: Any])?["greenBefore"] as? [String: Any])
        #expect(Set(before.keys) == ["name", "launchTemplateId", "launchTemplateVersion", "minSize", "maxSize", "desiredCapacity",
                                     "suspendedProcesses", "targetGroupARNs"])
        #expect(record["testRouteRuleArn"] as? String == d.testRouteId)
        #expect(record["greenLaunchTemplateVersion"] as? Int == 7 && record["launchTemplateVersionDeleted"] as? Bool == true)
        #expect((record["removal"] as? [String: Any])?["targetGroups"] as? [String] == ["tg-b"])
        #expect(try RecordCoding.decoder.decode(Deployment.self, from: RecordCoding.encoder.encode(d)) == d)
    }

    @Test func everyMilestoneDoneIsTrueUnderItsOwnKeyAndReadsBack() throws {
        var d = sampleDeployment()
        var text = String(decoding: try RecordCoding.encoder.encode(d), as: UTF8.self)
        for key in Self.always { text = text.replacingOccurrences(of: "\"\(key)\":false", with: "\"\(key)\":true") }
        text.removeLast()  // the closing brace: the keys below are added as an older switchyard wrote them
        text += Self.whenDone.map { ",\"\($0)\":true" }.joined() + "}"
        d = try RecordCoding.decoder.decode(Deployment.self, from: Data(text.utf8))
        let record = try Self.object(d)
        for key in Self.always + Self.whenDone { #expect(record[key] as? Bool == true, "\(key)") }
        #expect(try RecordCoding.decoder.decode(Deployment.self, from: RecordCoding.encoder.encode(d)) == d)
    }
}
