import AWS
import Foundation
import Logging
import Testing
@testable import AWSProvider
@testable import Orchestrator
import SwitchyardCore

@Suite struct TickCostTests {
    @Test func aTickIsGreensTargetHealthAndEachAlarmBatchOnceAndGreensGroupOnceAMinute() {
        var spec = Fixtures.spec()
        spec.checks.interval = .seconds(7)
        spec.checks.alarms = (0..<150).map { "alarm-\($0)" }
        let cost = TickCost.of(Fixtures.deployment(spec: spec).plan)
        #expect(cost.reads.map(\.action) == ["DescribeTargetHealth", "DescribeAutoScalingGroups", "DescribeAlarms"])
        #expect(cost.reads.map(\.calls) == [1, 1, 2] && cost.reads.map(\.refresh) == [nil, 60, nil])
        #expect(cost.perTick == 3)
        // 60 s ÷ 7 s is 8.6: a minute can hold the starts of 9 ticks; green's group is read once in it when steady.
        #expect(cost.ticksPerMinute == 9 && cost.perMinute == 9 * 3 + 1 && cost.perMinuteAtMost == 36)
        #expect(cost.perMinuteByService == ["autoscaling": 1, "elasticloadbalancing": 9, "monitoring": 18])
    }

    @Test func withoutAlarmsOrMetricsATickIsOneReadAndTheGroupOnceAMinute() {
        var spec = Fixtures.spec()
        spec.checks.interval = TimeSpan(milliseconds: 500)
        let cost = TickCost.of(Fixtures.deployment(spec: spec).plan)
        #expect(cost.perTick == 1 && cost.perMinute == 121 && cost.perMinuteAtMost == 240)
        // Ticks slower than a minute read the group at each, never more often than the ticks.
        spec.checks.interval = .seconds(120)
        let slow = TickCost.of(Fixtures.deployment(spec: spec).plan)
        #expect(slow.perMinute == 2 && slow.perMinuteAtMost == 2)
        #expect(slow.look.isEmpty && slow.lookPerMinuteAtMost == 0, "a weight is written, not looked for")
    }

    /// A step by instance counts is looked for every interval: the fence's tag, both groups and the pool's health,
    /// in the pool's own API (a Classic Load Balancer's instance health), then at most one write, a tick between.
    @Test func aSharedStepsLookIsCountedInThePoolsOwnReads() {
        for classic in [false, true] {
            var d = Fixtures.deployment(spec: Fixtures.spec())
            d.plan.spec.traffic = .init(shared: classic ? .init(classicLoadBalancer: "web-clb") : .init(targetGroup: blueTG))
            // As the planner makes it: blue and green share the pool.
            d.plan.greenPool = d.plan.spec.traffic.pools[0]
            d.plan.blue.pool = d.plan.greenPool
            d.plan.spec.checks.interval = .seconds(1)
            d.plan.shared = SharedPlan(startHealthy: 4)
            let cost = TickCost.of(d.plan)
            #expect(cost.look.map(\.action) == ["DescribeTags", "DescribeAutoScalingGroups", classic ? "DescribeInstanceHealth" : "DescribeTargetHealth"])
            #expect(cost.reads.first?.action == (classic ? "DescribeInstanceHealth" : "DescribeTargetHealth"))
            // 60 looks of 3 reads and a write, and 60 ticks of at most 2 reads.
            #expect(cost.lookPerMinuteAtMost == 60 * 4 + 120)
        }
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
        d.plan.spec.checks.setMetricChecks(["HTTPCode_Target_5XX_Count", "TargetResponseTime", "RequestCount"].map {
            MetricCheck(name: $0, query: stat($0), period: .seconds(60), rule: .bounds(min: nil, max: 1), minSamples: 1)
        })
        d.state = .shifting
        d.greenWeight = 10
        let fake = TickRecorder()
        let clock = SystemClock()
        let effects = AWSEffects(aws: AWSClients(client: conformanceClient(fake)), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: clock)
        let results = await CheckScheduler.run(effects.checks(d), clock: clock)
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
        var checks = effects.checks(d)
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

/// Green's group of two InService instances; its target health as `states` says (target id → state), counting reads.
final class GreenTargets: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _calls: [String: Int] = [:]
    private var _states: [String: String] = ["i-1": "healthy", "i-2": "healthy"]
    var calls: [String: Int] { lock.withLock { _calls } }
    func set(_ states: [String: String]) { lock.withLock { _states = states } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let form = FakeELB.form(request.body)
        let action = form["Action"] ?? "?"
        let states = lock.withLock { _calls[action, default: 0] += 1; return _states }
        let inner: String
        switch action {
        case "DescribeAutoScalingGroups":
            let members = ["i-1", "i-2"].map { "<member><InstanceId>\($0)</InstanceId><LifecycleState>InService</LifecycleState></member>" }.joined()
            inner = "<AutoScalingGroups><member><AutoScalingGroupName>\(form["AutoScalingGroupNames.member.1"] ?? "")</AutoScalingGroupName>"
                + "<Instances>\(members)</Instances></member></AutoScalingGroups>"
        case "DescribeTargetHealth":
            inner = "<TargetHealthDescriptions>" + states.sorted { $0.key < $1.key }.map {
                "<member><Target><Id>\($0.key)</Id><Port>80</Port></Target><TargetHealth><State>\($0.value)</State></TargetHealth></member>"
            }.joined() + "</TargetHealthDescriptions>"
        default: inner = ""
        }
        return HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(inner)</\(action)Result></\(action)Response>".utf8))
    }
}

@Suite struct GreenGroupRefreshTests {
    /// A tick reads green's group only when its target health is not what the last group read explained, or that read
    /// is a minute old: in a steady bake a tick is its target health alone, and no verdict rests on an older read
    /// that a new one could change.
    @Test func aTickReadsGreensGroupOnlyWhenItsTargetHealthChangedOrAMinutePassed() async throws {
        var d = Fixtures.deployment()
        d.state = .shifting
        d.greenWeight = 10
        let fake = GreenTargets()
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))
        let effects = AWSEffects(aws: AWSClients(client: conformanceClient(fake)), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: clock)
        func tick() async -> CheckResult? {
            await CheckScheduler.run(effects.checks(d), clock: SystemClock()).first { $0.name == "target-health" }
        }
        func groupReads() -> Int { fake.calls["DescribeAutoScalingGroups"] ?? 0 }

        // The first tick has no group read to go by; the next two, all healthy and the same targets, need none.
        #expect(await tick()?.passed == true && groupReads() == 1)
        try await clock.sleep(until: clock.now().addingTimeInterval(5))
        #expect(await tick()?.passed == true)
        #expect(await tick()?.passed == true && groupReads() == 1 && fake.calls["DescribeTargetHealth"] == 3)

        // One target unhealthy: the group is read, and the verdict is the group's and the new health's.
        fake.set(["i-1": "healthy", "i-2": "unhealthy"])
        let failing = await tick()
        #expect(failing?.passed == false && failing?.evidence.contains("i-2 unhealthy") == true && groupReads() == 2, Comment(rawValue: "\(String(describing: failing))"))
        #expect(await tick()?.passed == false && groupReads() == 3)

        // A target that came or went reads the group though all are healthy.
        fake.set(["i-1": "healthy", "i-2": "healthy"])
        _ = await tick()
        let reads = groupReads()
        fake.set(["i-1": "healthy", "i-2": "healthy", "i-3": "healthy"])
        _ = await tick()
        #expect(groupReads() == reads + 1)
        _ = await tick()
        #expect(groupReads() == reads + 1)
        fake.set(["i-1": "healthy"])
        #expect(await tick()?.evidence.contains("i-2 missing") == true && groupReads() == reads + 2)

        // Healthy and unchanged, but the last group read is a minute old: read again.
        fake.set(["i-1": "healthy", "i-2": "healthy"])
        _ = await tick()
        _ = await tick()
        let steady = groupReads()
        try await clock.sleep(until: clock.now().addingTimeInterval(TickCost.groupRefresh))
        _ = await tick()
        #expect(groupReads() == steady + 1)
    }
}
