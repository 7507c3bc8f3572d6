import AWS
import Foundation
import Logging
import Testing
@testable import Orchestrator
import SwitchyardCore

@Suite struct TickCostTests {
    @Test func aTickIsGreensGroupAndTargetHealthAndEachAlarmBatchOnce() {
        var spec = Fixtures.spec()
        spec.checks.interval = .seconds(7)
        spec.checks.alarms = (0..<150).map { "alarm-\($0)" }
        let cost = TickCost.of(Fixtures.deployment(spec: spec).plan)
        #expect(cost.reads.map(\.action) == ["DescribeAutoScalingGroups", "DescribeTargetHealth", "DescribeAlarms"])
        #expect(cost.reads.map(\.calls) == [1, 1, 2])
        #expect(cost.perTick == 4)
        // 60 s ÷ 7 s is 8.6: a minute can hold the starts of 9 ticks.
        #expect(cost.ticksPerMinute == 9 && cost.perMinute == 36)
        #expect(cost.perMinuteByService == ["autoscaling": 9, "elasticloadbalancing": 9, "monitoring": 18])
    }

    @Test func withoutAlarmsOrMetricsATickIsTwoReads() {
        var spec = Fixtures.spec()
        spec.checks.interval = TimeSpan(milliseconds: 500)
        let cost = TickCost.of(Fixtures.deployment(spec: spec).plan)
        #expect(cost.perTick == 2 && cost.perMinute == 240)
    }
}

/// Answers a check tick's reads with empty results and counts them by action.
final class TickRecorder: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var calls: [String: Int] = [:]

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let action = FakeELB.form(request.body)["Action"] ?? "?"
        lock.withLock { calls[action, default: 0] += 1 }
        let group = "<AutoScalingGroups><member><AutoScalingGroupName>\(FakeELB.form(request.body)["AutoScalingGroupNames.member.1"] ?? "")</AutoScalingGroupName>"
            + "<Instances><member><InstanceId>i-1</InstanceId><LifecycleState>InService</LifecycleState></member></Instances></member></AutoScalingGroups>"
        let inner = ["DescribeAutoScalingGroups": group, "DescribeTargetHealth": "<TargetHealthDescriptions/>",
                     "DescribeAlarms": "<MetricAlarms/>", "GetMetricData": "<MetricDataResults/>"][action] ?? ""
        return HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(inner)</\(action)Result></\(action)Response>".utf8))
    }
}

@Suite struct TickBatchingTests {
    /// A tick of every AWS-reading check kind (target health, 150 alarms, three metric checks, a probe) sends each read
    /// once, however many checks use its answer: what `TickCost` (and `plan`) says, read for read.
    @Test func aTickSendsEachSharedReadOnceAndExactlyWhatTickCostSays() async throws {
        var d = Fixtures.deployment()
        d.plan.spec.checks.alarms = (0..<150).map { "alarm-\($0)" }
        let stat = { (metric: String) in MetricQuery.stat(MetricStat(namespace: "AWS/ApplicationELB", metric: metric, dimensions: [], stat: "Sum")) }
        d.plan.spec.checks.metrics = ["HTTPCode_Target_5XX_Count", "TargetResponseTime", "RequestCount"].map {
            MetricCheck(name: $0, query: stat($0), period: .seconds(60), rule: .bounds(min: nil, max: 1), minSamples: 1)
        }
        d.state = .shifting
        d.greenWeight = 10
        let fake = TickRecorder()
        let clock = SystemClock()
        let effects = AWSEffects(aws: AWSClients(client: conformanceClient(fake)), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: clock)
        let results = await CheckScheduler.run(effects.checks(d, targetHealth: true), clock: clock)
        #expect(results.contains { $0.name == "target-health" } && results.filter { $0.name.hasPrefix("alarm:") }.count == 150)
        #expect(!results.contains { $0.evidence.contains("no answer") }, Comment(rawValue: "\(results.map(\.evidence).prefix(4))"))
        let cost = TickCost.of(d.plan)
        #expect(fake.calls == Dictionary(uniqueKeysWithValues: cost.reads.map { ($0.action, $0.calls) }), Comment(rawValue: "\(fake.calls)"))
        #expect(fake.calls["DescribeAlarms"] == 2 && fake.calls["GetMetricData"] == 1 && fake.calls["DescribeAutoScalingGroups"] == 1 && fake.calls["DescribeTargetHealth"] == 1)
    }
}

/// DescribeAlarms always answered `Throttling`; everything else as `TickRecorder` answers it.
final class ThrottlingAlarms: HTTPTransport, @unchecked Sendable {
    let inner = TickRecorder()
    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        if FakeELB.form(request.body)["Action"] == "DescribeAlarms" {
            return HTTPResponse(status: 400, headers: [:], body: Data("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>".utf8))
        }
        return try await inner.execute(request, timeout: timeout)
    }
}

@Suite struct ThrottledChecksTests {
    /// A tick whose alarm read AWS throttles past the check's timeout: the alarms fail with evidence naming the
    /// throttling and a minute of ticks as their threshold (so the step holds instead of rolling back at the third);
    /// the target-health check, read from another service, keeps its own.
    @Test func aThrottledAlarmReadHoldsTheStepForAMinuteOfTicksInsteadOfThree() async throws {
        var d = Fixtures.deployment()
        d.plan.spec.checks.alarms = ["a-5xx"]
        d.plan.spec.checks.interval = .seconds(5)
        d.state = .shifting
        d.greenWeight = 10
        // A client that says nothing: its throttling notices are what this test provokes.
        var client = conformanceClient(ThrottlingAlarms())
        client.notice = { _ in }
        let effects = AWSEffects(aws: AWSClients(client: client),
                                 logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: SystemClock())
        var checks = effects.checks(d, targetHealth: true)
        // Long enough for the first throttled answer to arrive before the timeout on a loaded machine (0.5 s was not).
        for index in checks.indices { checks[index].timeout = 3 }
        let results = await CheckScheduler.run(checks, clock: SystemClock())
        let alarm = try #require(results.first { $0.name == "alarm:a-5xx" })
        #expect(!alarm.passed && alarm.evidence.contains("AWS throttled the read") && alarm.threshold == 12, Comment(rawValue: "\(alarm)"))
        let health = try #require(results.first { $0.name == "target-health" })
        #expect(!health.evidence.contains("throttled"), Comment(rawValue: "\(health)"))
        // Three such ticks in a row hold the step; the twelfth rolls back.
        var held = d
        for _ in 0..<11 { held = Machine.apply(held, .checksObserved([alarm]), now: Date()).deployment }
        #expect(held.state == .shifting && held.consecutiveFailures["alarm:a-5xx"] == 11)
        #expect(Machine.apply(held, .checksObserved([alarm]), now: Date()).deployment.state == .rollingBack)
    }

    @Test func aTimeoutWithoutThrottlingKeepsItsThreshold() async {
        let check = ScheduledCheck(name: "alarms", resultNames: ["alarm:a"], timeoutThreshold: 3, timeout: 1, throttled: { false }, throttledThreshold: 12) { [] }
        #expect(check.timedOut().map(\.threshold) == [3])
        let throttled = ScheduledCheck(name: "alarms", resultNames: ["alarm:a"], timeoutThreshold: 3, timeout: 1, throttled: { true }, throttledThreshold: 12) { [] }
        #expect(throttled.timedOut().map(\.threshold) == [12])
    }
}
