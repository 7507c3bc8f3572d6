import Foundation
import SwitchyardCore

/// One check of a tick: a read of green's target health, of the alarms, or the HTTP probe.
public struct ScheduledCheck: Sendable {
    /// For messages: "target-health", "alarms", "http".
    public var name: String
    /// The names of the results it gives (one per alarm for "alarms"); each fails when the check times out.
    public var resultNames: [String]
    /// Failures in a row that roll back when the check does not answer in time.
    public var timeoutThreshold: Int
    /// How long the tick waits for it.
    public var timeout: TimeInterval
    /// For a check that reads AWS: whether AWS throttled its reads this tick, and the failures in a row a timeout then
    /// takes to roll back instead. Throttling says nothing about green: the weight stays where it is (a failing check
    /// holds the step) until a read gets through or the throttled ticks add up to about a minute.
    public var throttled: (@Sendable () -> Bool)?
    public var throttledThreshold: Int
    /// The cloud that throttles, for the evidence ("AWS").
    public var cloud: String
    public var run: @Sendable () async -> [CheckResult]

    public init(name: String, resultNames: [String]? = nil, timeoutThreshold: Int = 1, timeout: TimeInterval,
                throttled: (@Sendable () -> Bool)? = nil, throttledThreshold: Int? = nil, cloud: String = "the cloud",
                run: @escaping @Sendable () async -> [CheckResult]) {
        self.cloud = cloud
        self.name = name
        self.resultNames = resultNames ?? [name]
        self.timeoutThreshold = timeoutThreshold
        self.timeout = timeout
        self.throttled = throttled
        self.throttledThreshold = max(throttledThreshold ?? timeoutThreshold, timeoutThreshold)
        self.run = run
    }

    func timedOut() -> [CheckResult] {
        let throttledNow = throttled?() == true
        var evidence = "\(name) gave no answer within \(TimeSpan(milliseconds: Int64((timeout * 1000).rounded())))"
        if throttledNow {
            evidence += ": \(cloud) throttled the read (it is sent again at the client-side rate; \(throttledThreshold) throttled ticks in a row roll back)"
        }
        let threshold = throttledNow ? throttledThreshold : timeoutThreshold
        return resultNames.map { CheckResult(name: $0, passed: false, evidence: evidence, threshold: threshold) }
    }
}

/// Runs the checks of one tick concurrently. Each has its own timeout: a check that has not answered by then counts as
/// failed and is cancelled, and the tick goes on without waiting for it, so one slow check never delays the others.
public enum CheckScheduler {
    public static func run(_ checks: [ScheduledCheck], clock: DeploymentClock) async -> [CheckResult] {
        await withTaskGroup(of: (Int, [CheckResult]).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask { (index, await first(check, clock: clock)) }
            }
            var results = [[CheckResult]](repeating: [], count: checks.count)
            for await (index, answer) in group { results[index] = answer }
            return results.flatMap { $0 }
        }
    }

    /// The check's answer or its timeout, whichever comes first. Neither side is awaited after the answer.
    static func first(_ check: ScheduledCheck, clock: DeploymentClock) async -> [CheckResult] {
        let race = FirstAnswer<[CheckResult]>()
        let deadline = clock.now().addingTimeInterval(check.timeout)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation)
                race.add(Task { race.answer(await check.run()) })
                race.add(Task {
                    do {
                        try await clock.sleep(until: deadline)
                        race.answer(check.timedOut())
                    } catch {}
                })
            }
        } onCancel: {
            // A check that did not answer is a failure of that check, counted like a read that failed.
            race.answer(check.resultNames.map {
                CheckResult(name: $0, passed: false, evidence: "\(check.name) was cancelled before it answered", threshold: check.timeoutThreshold)
            })
        }
    }
}
