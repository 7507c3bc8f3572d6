import AWS
import Foundation
import AWSProvider
import Orchestrator
import StateStore
import SwitchyardCore
import Testing

/// Which green launch-template versions `gc` deletes: those whose release is over and whose group is gone, known from
/// the state file alone before any AWS call.
@Suite struct TemplateJanitorTests {
    func record(_ id: String, _ state: DeploymentState, version: Int?, blue: String = "web-blue", retiredAt: Date? = nil, deleted: Bool? = nil) -> Deployment {
        var d = Fixtures.deployment(id: id)
        d.state = state
        d.plan.blue.group = blue
        d.greenTemplateVersion = version
        d.blueRetiredAt = retiredAt
        if deleted == true { d.progress.insert(.templateVersionDeleted) }
        return d
    }

    @Test func versionsOfRolledBackAndOfLaterRetiredGreensAreDueAndNoOthers() async throws {
        let store = try Fixtures.store()
        let records = [
            record("d1", .rolledBack, version: 5),
            record("d2", .completed, version: 6),                                   // its green was retired by d3
            record("d3", .completed, version: 7, blue: "switchyard-web-d2", retiredAt: Fixtures.start),
            record("d4", .rolledBack, version: 8, deleted: true),                  // done already
            record("d5", .rolledBack, version: nil),                               // never got a version
            record("d6", .failed, version: 9),                                     // not over: its rollback can be retried
        ]
        for d in records { try store.insert(d, log: LogEntry(from: d.state, to: d.state, message: "seeded"), actor: "t@h", at: Fixtures.start) }
        let janitor = TemplateJanitor(store: store, clock: TestClock(Fixtures.start), actor: "t@h") { _ in
            throw FakeError.refused("no AWS in this test")
        }
        #expect(try janitor.due(service: "web").map(\.id).sorted() == ["d1", "d2"])
        let outcomes = await janitor.collect(try janitor.due(service: nil))
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.problem == "AccessDenied: no AWS in this test refused" })
    }

    /// In pair mode the same two names come back release after release: a completed green's version is due only once
    /// a later release retired that group as its blue, never because an earlier one did.
    @Test func inPairModeOnlyALaterRetirementOfTheSameGroupMakesAGreenVersionDue() throws {
        let store = try Fixtures.store()
        func paired(_ id: String, minute: Double, blue: String, green: String, version: Int, retired: Bool) -> Deployment {
            var d = record(id, .completed, version: version, blue: blue, retiredAt: retired ? Fixtures.start : nil)
            d.plan.greenGroup = green
            d.plan.pair = PairPlan(groups: ["web-blue", "web-green"], greenBefore: GroupSettings(
                name: green, templateId: "lt-1", templateVersion: "1", minSize: 0, maxSize: 0, desiredCapacity: 0,
                suspendedProcesses: [], pools: []))
            d.createdAt = Fixtures.start.addingTimeInterval(minute * 60)
            return d
        }
        let records = [
            paired("p1", minute: 1, blue: "web-blue", green: "web-green", version: 2, retired: true),
            paired("p2", minute: 2, blue: "web-green", green: "web-blue", version: 3, retired: true),   // retired p1's green
            paired("p3", minute: 3, blue: "web-blue", green: "web-green", version: 4, retired: false),  // serving now: not due, though p2 retired a web-green
        ]
        for d in records { try store.insert(d, log: LogEntry(from: d.state, to: d.state, message: "seeded"), actor: "t@h", at: Fixtures.start) }
        let janitor = TemplateJanitor(store: store, clock: TestClock(Fixtures.start), actor: "t@h") { _ in
            throw FakeError.refused("no AWS in this test")
        }
        #expect(try janitor.due(service: "web").map(\.id) == ["p1"])
    }

    @Test func aDeletedVersionIsRecordedOnceWithoutMovingTheReleaseEnd() {
        let d = record("d1", .rolledBack, version: 5)
        let t = Machine.apply(d, .greenTemplateDeleted(5), now: Fixtures.start.addingTimeInterval(3600))
        #expect(t.deployment.reached(.templateVersionDeleted))
        #expect(t.deployment.updatedAt == d.updatedAt)
        #expect(t.log?.message == "launch template web version 5 deleted: its release is over and no group uses it")
        #expect(Machine.apply(t.deployment, .greenTemplateDeleted(5), now: Fixtures.start).log == nil)
    }
}
