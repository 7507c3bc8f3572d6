import Foundation
@testable import Orchestrator
import SwitchyardCore
import Testing

/// A clock that only moves when the test says so; sleepers wake when it passes their moment.
final class ManualClock: DeploymentClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    private var sleepers: [(Date, CheckedContinuation<Void, Error>)] = []

    init(_ start: Date) { current = start }

    func now() -> Date { lock.withLock { current } }

    /// Whether someone sleeps until exactly this moment.
    func hasSleeper(until date: Date) -> Bool { lock.withLock { sleepers.contains { $0.0 == date } } }

    func sleep(until date: Date) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let resumeNow = lock.withLock {
                if date <= current { return true }
                sleepers.append((date, continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func advance(by seconds: TimeInterval) {
        let due: [CheckedContinuation<Void, Error>] = lock.withLock {
            current = current.addingTimeInterval(seconds)
            let now = current
            let ready = sleepers.filter { $0.0 <= now }.map(\.1)
            sleepers.removeAll { $0.0 <= now }
            return ready
        }
        due.forEach { $0.resume() }
    }
}

/// A gate a check waits behind until the test opens it.
final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var open = false
    private(set) var cancelled = false

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = lock.withLock {
                    if open { return true }
                    waiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            lock.withLock { cancelled = true }
        }
    }

    func release() {
        let all = lock.withLock {
            open = true
            defer { waiters = [] }
            return waiters
        }
        all.forEach { $0.resume() }
    }

    var wasCancelled: Bool { lock.withLock { cancelled } }
}

private func waitUntil(_ condition: () -> Bool) async {
    while !condition() { await Task.yield(); try? await Task.sleep(nanoseconds: 1_000_000) }
}

@Suite(.timeLimit(.minutes(1))) struct CheckSchedulerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aSlowCheckTimesOutWithoutDelayingTheTick() async {
        let clock = ManualClock(start)
        let gate = Gate()
        let checks = [
            ScheduledCheck(name: "alarms", resultNames: ["alarm:a", "alarm:b"], timeoutThreshold: 3, timeout: 1) {
                await gate.wait()
                return [CheckResult(name: "alarm:a", passed: true, evidence: "late"), CheckResult(name: "alarm:b", passed: true, evidence: "late")]
            },
            ScheduledCheck(name: "http", timeout: 0.5) { [CheckResult(name: "http", passed: true, evidence: "GET / answered 200")] },
        ]
        let tick = Task { await CheckScheduler.run(checks, clock: clock) }
        // Both timers are set; the fast check has answered, the slow one hangs behind its gate.
        await waitUntil { clock.hasSleeper(until: start.addingTimeInterval(1)) }
        clock.advance(by: 1)
        let results = await tick.value
        #expect(results.map(\.name) == ["alarm:a", "alarm:b", "http"])
        #expect(results[0].passed == false && results[0].threshold == 3)
        #expect(results[0].evidence == "alarms gave no answer within 1s")
        #expect(results[2].passed)
        // The tick did not wait for the slow check: it is still behind its gate, and was told to stop.
        await waitUntil { gate.wasCancelled }
        gate.release()
    }

    @Test func checksRunConcurrentlyNotOneAfterAnother() async {
        let clock = ManualClock(start)
        let gates = [Gate(), Gate()]
        let started = Counter()
        let checks = (0..<2).map { i in
            ScheduledCheck(name: "c\(i)", timeout: 10) {
                started.increment()
                await gates[i].wait()
                return [CheckResult(name: "c\(i)", passed: true, evidence: "ok")]
            }
        }
        let tick = Task { await CheckScheduler.run(checks, clock: clock) }
        // Both are running before either has answered.
        await waitUntil { started.value == 2 }
        gates[1].release()
        gates[0].release()
        let results = await tick.value
        #expect(results.map(\.name) == ["c0", "c1"] && results.allSatisfy(\.passed))
    }

    @Test func aTickCancelledBeforeACheckAnswersCountsThatCheckAsFailedNotPassed() async {
        let clock = ManualClock(start)
        let gate = Gate()
        let checks = [ScheduledCheck(name: "alarms", resultNames: ["alarm:a"], timeoutThreshold: 3, timeout: 10) {
            await gate.wait()
            return [CheckResult(name: "alarm:a", passed: true, evidence: "late")]
        }]
        let tick = Task { await CheckScheduler.run(checks, clock: clock) }
        await waitUntil { clock.hasSleeper(until: start.addingTimeInterval(10)) }
        tick.cancel()
        let results = await tick.value
        #expect(results.map(\.passed) == [false])
        #expect(results.first?.threshold == 3)
        #expect(results.first?.evidence == "alarms was cancelled before it answered")
        gate.release()
    }

    @Test func anAnswerInTimeIsKeptAndItsTimerIsCancelled() async {
        let clock = ManualClock(start)
        let results = await CheckScheduler.run([
            ScheduledCheck(name: "target-health", timeout: 1) { [CheckResult(name: "target-health", passed: false, evidence: "i-1 unhealthy")] },
        ], clock: clock)
        #expect(results == [CheckResult(name: "target-health", passed: false, evidence: "i-1 unhealthy")])
        clock.advance(by: 5)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}

@Suite struct NotifierTests {
    @Test func urlsAreLoggedWithoutPathOrQuery() {
        #expect(Notifier.redacted("https://hooks.slack.com/services/T000/B000/XXXX") == "https://hooks.slack.com/…")
        #expect(Notifier.redacted("http://127.0.0.1:9000/x?token=abc") == "http://127.0.0.1:9000/…")
        #expect(Notifier.redacted("not a url") == "(a webhook URL)")
    }

    @Test func bodiesAreTheDocumentedJSONOrSlackText() throws {
        let d = Fixtures.deployment()
        let event = try #require(WebhookEvent.about(d, LogEntry(from: .pending, to: .launching, message: "started"), at: Fixtures.start))
        let json = try JSONSerialization.jsonObject(with: Notifier.body(event, format: .json)) as? [String: Any]
        #expect(json?["event"] as? String == "state_changed" && json?["deployment_id"] as? String == d.id)
        #expect(json?["at"] as? String == "2027-01-15T08:00:00.000Z")
        let slack = try JSONSerialization.jsonObject(with: Notifier.body(event, format: .slack)) as? [String: String]
        #expect(slack == ["text": event.text])
    }
}
