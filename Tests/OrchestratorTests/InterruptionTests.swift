import AWS
import Foundation
import Logging
import AWSProvider
import Orchestrator
import StateStore
import SwitchyardCore
import Testing

/// An effect that never ends on its own, as a request to an endpoint that accepts and never answers; `reached` is
/// called as it starts.
struct SilentWorld: EffectPerformer {
    let inner: FakeWorld
    let silent: String
    let reached: @Sendable () -> Void

    func isUnreachable(_ error: Error) -> Bool { inner.isUnreachable(error) }

    func perform(_ effect: Effect, for d: Deployment) async throws -> Event {
        if effect.kind == silent {
            reached()
            try await Task.sleep(nanoseconds: 600_000_000_000)
            return .capacityObserved(CapacityReport(desired: 2, inService: 2, instances: 2))
        }
        return try await inner.perform(effect, for: d)
    }
}

@Suite struct InterruptionTests {
    @Test func abandoningEndsTheWorkAtTheSignalWhateverItWouldReturn() async throws {
        let stop = StopRequest()
        let began = Date()
        Task {
            try await Task.sleep(nanoseconds: 50_000_000)
            stop.request("SIGINT")
        }
        await #expect(throws: StoppedBySignal.self) {
            _ = try await stop.abandoning { () async throws -> Int in
                try? await Task.sleep(nanoseconds: 600_000_000_000)  // swallows its cancellation, as a check's read may
                return 1
            }
        }
        // Ended by the signal, not by the ten-minute sleep (a bound loose enough for a loaded machine).
        #expect(Date().timeIntervalSince(began) < 120)
        // Once a signal has come, work is not started at all.
        await #expect(throws: StoppedBySignal.self) { _ = try await stop.abandoning { 2 } }
    }

    @Test func aSignalMidEffectStopsAtOnceAndTheRecordSaysWhere() async throws {
        let store = try Fixtures.store()
        let d = Fixtures.deployment()
        try store.insert(d, log: LogEntry(from: .pending, to: .pending, message: "created"), actor: "t", at: Fixtures.start)
        let stop = StopRequest()
        let world = SilentWorld(inner: FakeWorld(store: store), silent: "observeCapacity") {
            Task {
                try await Task.sleep(nanoseconds: 100_000_000)
                stop.request("SIGTERM")
            }
        }
        let runner = DeploymentRunner(store: store, effects: world, clock: SystemClock(), actor: "t",
                                      logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), stop: stop)
        let began = Date()
        do {
            _ = try await runner.run(d)
            Issue.record("the run ended on its own")
        } catch let stopped as Interrupted {
            #expect(stopped.signal == "SIGTERM")
            #expect(stopped.deployment.state == .waitingForCapacity)
        }
        #expect(Date().timeIntervalSince(began) < 120, "ended by the signal, not by the silent effect")
        let last = try #require(try store.events(deploymentId: d.id).last)
        #expect(last.message.hasPrefix("interrupted by SIGTERM during "), Comment(rawValue: last.message))
        #expect(last.message.contains("abandoned"))
        #expect(last.details["effect"] != nil)
    }

    @Test func onlyAnAWSOutOfReachIsUnreachable() {
        let unreachable = AWSUnreachable(service: .elasticLoadBalancing, action: "DescribeListeners", endpoint: "https://e", problem: .timedOut(after: 20),
                                         tries: 3, maxAttempts: 5, elapsed: 61, deadline: 60)
        #expect(Unreachable.isUnreachable(unreachable))
        func error(_ code: String, _ status: Int, _ service: AWSService = .autoScaling) -> AWSError {
            AWSError(code: AWSErrorCode(code), message: "", status: status, requestId: nil, service: service, action: "A")
        }
        #expect(Unreachable.isUnreachable(error("Throttling", 400)))
        #expect(Unreachable.isUnreachable(error("ScalingActivityInProgress", 400)))
        #expect(Unreachable.isUnreachable(error("InternalFailure", 500)))
        #expect(!Unreachable.isUnreachable(error("AccessDenied", 403)))
        #expect(!Unreachable.isUnreachable(error("ResourceInUse", 400, .dynamoDB)))
        #expect(!Unreachable.isUnreachable(FakeError.refused("x")))
    }
}
