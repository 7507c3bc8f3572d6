@testable import AWS
import Foundation
import Logging
@testable import AWSProvider
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
        first.plan.blue.group = "web-blue"
        first.retentionDeadline = promotedAt
        var second = Fixtures.deployment(id: "b")
        second.plan.blue.group = "web-blue"
        second.retentionDeadline = nil
        #expect(RecordedRetention.deadlines([first, second]) == ["web-blue": [promotedAt]])
        #expect(RecordedRetention.of([first], now: promotedAt.addingTimeInterval(0.1)).isEmpty)
    }

    // MARK: The later of the tag and the records (Planner.retention(of:))

    static func group(tag: Date?) -> AutoScalingGroup {
        AutoScalingGroup(name: "web-blue", minSize: 2, maxSize: 4, desiredCapacity: 2, launchTemplate: nil, hasMixedInstancesPolicy: false,
                         launchConfigurationName: nil, vpcZoneIdentifier: "", availabilityZones: [], healthCheckType: "EC2", healthCheckGracePeriod: 0,
                         targetGroupARNs: [], instances: [],
                         tags: tag.map { [AutoScalingTag(key: RetentionTag.key, value: RetentionTag.text($0), propagateAtLaunch: false)] } ?? [], status: nil)
    }

    func planner(recorded: Date?) -> Planner {
        var planner = Planner(aws: FakeFleetAWS(clock: TestClock(Fixtures.start)).clients(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        if let recorded {
            planner.recordedRetention = ["web-blue": RecordedRetention(until: recorded, deployment: "20261202-034400-0001")]
            planner.recordedDeadlines = ["web-blue": [recorded]]
        }
        return planner
    }

    @Test func aGroupWhoseTagIsAbsentIsKeptUntilTheRecordedDeadlineNamingTheDeployment() throws {
        // The tag did not read back (a stale read right after it was written): the record alone keeps the group.
        let until = promotedAt.addingTimeInterval(1800)
        let kept = try #require(planner(recorded: until).retention(of: Self.group(tag: nil)))
        #expect(kept.until == until)
        let refusal = "\(kept.refusal(Self.group(tag: nil)))"
        #expect(refusal.contains("20261202-034400-0001"), Comment(rawValue: refusal))
    }

    @Test func aTagEarlierThanTheRecordGivesWayToTheRecord() throws {
        let until = promotedAt.addingTimeInterval(1800)
        let kept = try #require(planner(recorded: until).retention(of: Self.group(tag: promotedAt.addingTimeInterval(60))))
        #expect(kept.until == until)
        #expect("\(kept.refusal(Self.group(tag: nil)))".contains("20261202-034400-0001"))
    }

    @Test func aRecordEarlierThanTheTagGivesWayToTheTag() throws {
        // Another state file's release kept it longer: its tag wins.
        let tag = promotedAt.addingTimeInterval(3600)
        let kept = try #require(planner(recorded: promotedAt.addingTimeInterval(60)).retention(of: Self.group(tag: tag)))
        #expect(abs(kept.until.timeIntervalSince(tag)) < 0.001)
        #expect(planner(recorded: nil).retention(of: Self.group(tag: nil)) == nil, "neither tag nor record: not kept")
    }
}
