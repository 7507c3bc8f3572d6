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
