import Foundation
import Logging
import Orchestrator
import StateStore
import SwitchyardCore
import Testing

@Suite struct DeploymentRunnerTests {
    func runner(_ store: StateStore, _ world: FakeWorld, _ clock: TestClock) -> DeploymentRunner {
        DeploymentRunner(store: store, effects: world, clock: clock, actor: "test@host", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func started(_ store: StateStore, _ d: Deployment) throws -> Deployment {
        try store.insert(d, log: LogEntry(from: .pending, to: .pending, message: "created"), actor: "test@host", at: Fixtures.start)
        return d
    }

    @Test func cleanReleaseRunsTheEffectsInOrderAndCompletes() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        let clock = TestClock(Fixtures.start)
        let d = try started(store, Fixtures.deployment(retire: ["old-blue"]))
        let final = try await runner(store, world, clock).run(d)

        #expect(final.state == .completed)
        #expect(final.greenWeight == 100)
        let shifts = world.effects.filter { if case .setSplit = $0 { return true } else { return false } }
        #expect(shifts == [.setSplit(green: 10), .setSplit(green: 50), .setSplit(green: 100)])
        #expect(Array(world.effects.prefix(8)) == [.begin, .deregisterFleet("old-blue"), .observeDrain("old-blue"), .retireFleet("old-blue"), .ensureGreenTemplate,
                                                  .ensureGreenFleet(template: 7), .observeCapacity, .observeGreenHealth])
        #expect(world.effects.last == .confirmPromotion)
        // 60 s + 60 s + 30 s of bake at a 10 s interval.
        #expect(clock.now().timeIntervalSince(Fixtures.start) >= 150)
        let stored = try #require(try store.deployment(id: d.id))
        #expect(stored == final)
        let states = try store.events(deploymentId: d.id).map(\.to)
        #expect(states.first == .pending)
        #expect(states.last == .completed)
    }

    @Test func everyStateChangeIsStoredBeforeTheNextEffectStarts() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        let d = try started(store, Fixtures.deployment())
        _ = try await runner(store, world, TestClock(Fixtures.start)).run(d)
        let expected: [DeploymentState] = world.effects.enumerated().map { index, effect in
            switch effect {
            case .begin: return .pending
            case .ensureGreenTemplate, .ensureGreenFleet: return .launching
            case .observeCapacity: return .waitingForCapacity
            case .observeGreenHealth: return .checkingHealth
            case .setSplit, .runChecks: return .shifting
            case .confirmPromotion: return .promoting
            default: return .failed
            }
        }
        #expect(world.storedStates == expected)
    }

    @Test func greenGetsNoTrafficUntilEveryTargetIsHealthy() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        world.unhealthyUntilObservation = 3
        let d = try started(store, Fixtures.deployment())
        _ = try await runner(store, world, TestClock(Fixtures.start)).run(d)
        let firstShift = try #require(world.effects.firstIndex(of: .setSplit(green: 10)))
        let healthReads = world.effects[..<firstShift].filter { $0 == .observeGreenHealth }.count
        #expect(healthReads == 4)
    }

    @Test func failingCheckDuringBakeRestoresBlueBeforeRemovingGreen() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        world.failingCheckAfter = 7
        let d = try started(store, Fixtures.deployment())
        let final = try await runner(store, world, TestClock(Fixtures.start)).run(d)
        #expect(final.state == .rolledBack)
        #expect(final.greenWeight == 0)
        let tail = Array(world.effects.suffix(4))
        let green = d.plan.greenGroup
        #expect(tail == [.restoreBlue, .deregisterFleet(green), .observeDrain(green), .removeGreen])
        #expect(final.rollbackReason?.contains("target-health") == true)
        let rollbackEvent = try #require(try store.events(deploymentId: d.id).first { $0.to == .rollingBack })
        #expect(rollbackEvent.details["evidence"]?.contains("Target.ResponseCodeMismatch") == true)
    }

    @Test func rollbackRequestedFromAnotherTerminalIsHonouredWithItsActor() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        let d = try started(store, Fixtures.deployment())
        try store.addRequest(deploymentId: d.id, kind: .rollback, reason: "bad canary", actor: "ops@laptop", at: Fixtures.start)
        let final = try await runner(store, world, TestClock(Fixtures.start)).run(d)
        #expect(final.state == .rolledBack)
        #expect(world.effects.contains { if case .setSplit = $0 { return true } else { return false } } == false)
        let event = try #require(try store.events(deploymentId: d.id).first { $0.to == .rollingBack })
        #expect(event.actor == "ops@laptop")
        #expect(event.message.contains("bad canary"))
        #expect(try store.pendingRequests(deploymentId: d.id).isEmpty)
    }

    @Test func listenerChangeRefusedDuringRollbackEndsFailedSayingWhereTrafficIs() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        world.failingCheckAfter = 2
        world.failingEffect = .restoreBlue
        let d = try started(store, Fixtures.deployment())
        let final = try await runner(store, world, TestClock(Fixtures.start)).run(d)
        #expect(final.state == .failed)
        let reason = try #require(final.failureReason)
        #expect(reason.contains("blue 90% / green 10%"))
        #expect(reason.contains("switchyard rollback \(d.id)"))
    }

    /// The loop knows no cloud: the performer says which of its failures are worth trying again. The same effect
    /// refused (above) ends the rollback failed; out of reach by this performer's word, it is tried again and the
    /// rollback ends.
    @Test func aFailureThePerformerCallsOutOfReachIsTriedAgainDuringARollback() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        world.failingCheckAfter = 2
        world.outOfReachOnce = .restoreBlue
        let d = try started(store, Fixtures.deployment())
        let final = try await runner(store, world, TestClock(Fixtures.start)).run(d)
        #expect(final.state == .rolledBack)
        #expect(world.effects.filter { $0 == .restoreBlue }.count == 2)
        #expect(try store.events(deploymentId: d.id).contains { $0.message.contains("no answer within the deadline") })
    }

    @Test func resumedRunFinishesTheBakeInsteadOfRestartingIt() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        var d = Fixtures.deployment()
        d.state = .shifting
        d.greenTemplateVersion = 7
        d.progress.insert(.greenGroupCreated)
        d.greenWeight = 10
        d.bakeStartedAt = Fixtures.start
        d = try started(store, d)
        let clock = TestClock(Fixtures.start.addingTimeInterval(55))
        _ = try await runner(store, world, clock).run(d)
        let checksBeforeFifty = try #require(world.effects.firstIndex(of: .setSplit(green: 50)))
        #expect(world.effects[..<checksBeforeFifty].filter { $0 == .runChecks }.count == 1)
    }

    @Test func aRunnerWhoseLeaseWasTakenOverStopsWithoutAnotherEffect() async throws {
        let store = try Fixtures.store()
        let world = FakeWorld(store: store)
        let clock = TestClock(Fixtures.start)
        let mine = LeaseHolder(id: "mine", pid: 1, host: "elsewhere", actor: "a@elsewhere")
        let d = Fixtures.deployment()
        try store.insert(d, log: LogEntry(from: .pending, to: .pending, message: "created"), actor: "a", at: Fixtures.start, lease: mine, ttl: 15)
        // When the first step goes out, another process (which thought this one dead) takes the lease over.
        world.onEffect = { effect in
            if effect == .setSplit(green: 10) {
                let other = LeaseHolder(id: "other", pid: 2, host: "elsewhere", actor: "b@elsewhere")
                _ = try? store.acquireLease(deploymentId: d.id, service: d.service, holder: other, at: Fixtures.start.addingTimeInterval(3600), ttl: 15)
            }
        }
        let runner = DeploymentRunner(store: store, effects: world, clock: clock, actor: "a", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                      holding: .init(holder: mine, ttl: 15))
        await #expect(throws: LeaseError.self) { try await runner.run(d) }
        let after = world.effects.split(separator: .setSplit(green: 10), omittingEmptySubsequences: false).last ?? []
        #expect(after.allSatisfy { $0 == .runChecks }, "only checks within one renewal period, then nothing: \(after)")
        #expect(try store.lease(service: d.service)?.holder.id == "other")
    }
}
