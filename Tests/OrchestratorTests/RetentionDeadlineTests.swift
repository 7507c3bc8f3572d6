import AWS
import Foundation
@testable import Orchestrator
import SwitchyardCore
import Testing

/// A blue's retention deadline as the planner reads it: the `switchyard:retain-until` tag holds the stored deadline to the
/// millisecond; a tag written by an earlier version (whole seconds, rounded up) that is the rounding of a deadline the
/// state records stands for that exact deadline.
@Suite struct RetentionDeadlineTests {
    let promotedAt = Date(timeIntervalSince1970: 1_796_000_007.203)

    @Test func aRoundedTagOfARecordedDeadlineEndsAtTheRecordedInstant() throws {
        // Tags written before they held milliseconds were rounded up to the second: such a tag still stands for
        // the recorded instant.
        let tag = try #require(RetentionTag.parse("2026-12-02T03:44:08.000Z"))
        let promotedAt = try #require(RetentionTag.parse("2026-12-02T03:44:07.203Z"))
        #expect(tag > promotedAt)
        #expect(Planner.exactDeadline(tag: tag, recorded: [promotedAt.addingTimeInterval(-3600), promotedAt]) == promotedAt)
    }

    @Test func aTagNoRecordExplainsIsTakenAsItReads() throws {
        let tag = try #require(RetentionTag.parse("2026-12-02T03:44:09.000Z"))
        #expect(Planner.exactDeadline(tag: tag, recorded: [promotedAt]) == tag)
        #expect(Planner.exactDeadline(tag: tag, recorded: []) == tag)
        #expect(Planner.exactDeadline(tag: nil, recorded: [promotedAt]) == nil)
    }

    @Test func theTagSaysTheStoredInstantToTheMillisecond() throws {
        let tag = try #require(RetentionTag.parse(RetentionTag.text(promotedAt)))
        #expect(RetentionTag.text(promotedAt).hasSuffix(".203Z"))
        #expect(abs(tag.timeIntervalSince(promotedAt)) < 0.001)
    }

    @Test func recordedDeadlinesKeepPassedOnesByGroup() {
        var first = Fixtures.deployment(id: "a")
        first.plan.blue.autoScalingGroup = "web-blue"
        first.retentionDeadline = promotedAt
        var second = Fixtures.deployment(id: "b")
        second.plan.blue.autoScalingGroup = "web-blue"
        second.retentionDeadline = nil
        #expect(RecordedRetention.deadlines([first, second]) == ["web-blue": [promotedAt]])
        #expect(RecordedRetention.of([first], now: promotedAt.addingTimeInterval(0.1)).isEmpty)
    }
}
