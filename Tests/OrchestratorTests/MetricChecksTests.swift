import AWS
import Foundation
@testable import AWSProvider
@testable import Orchestrator
import StateStore
import SwitchyardCore
import Logging
import Testing

/// Answers GetMetricData with no data and records each call's StartTime.
final class MetricsRecorder: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var starts: [Date] = []

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let p = FakeELB.form(request.body)
        lock.withLock { if let text = p["StartTime"], let date = ISO8601DateFormatter().date(from: text) { starts.append(date) } }
        return HTTPResponse(status: 200, headers: [:], body: Data("<GetMetricDataResponse><GetMetricDataResult><MetricDataResults/></GetMetricDataResult></GetMetricDataResponse>".utf8))
    }

    func clients() -> AWSClients { AWSClients(client: conformanceClient(self)) }
}

@Suite struct MetricChecksTests {
    @Test func theWindowCoversTenPeriodsOrTwiceTheSamplesNeeded() {
        let stat = MetricQuery.stat(MetricStat(namespace: "N", metric: "M", dimensions: [], stat: "Sum"))
        let minute = MetricCheck(name: "a", query: stat, period: .seconds(60), rule: .bounds(min: nil, max: 1), minSamples: 3)
        let slow = MetricCheck(name: "b", query: stat, period: .minutes(5), rule: .bounds(min: nil, max: 1), minSamples: 8)
        #expect(AWSEffects.metricLookback([minute]) == 600)
        #expect(AWSEffects.metricLookback([minute, slow]) == 4800)
    }

    @Test func atAStepTheWindowStartsNoEarlierThanTheStepWasLiveOnAPeriodBoundary() throws {
        let stat = MetricQuery.stat(MetricStat(namespace: "N", metric: "M", dimensions: [], stat: "Sum"))
        let minute = MetricCheck(name: "a", query: stat, period: .seconds(60), rule: .bounds(min: nil, max: 1), minSamples: 3)
        let fine = MetricCheck(name: "b", query: stat, period: .seconds(5), rule: .bounds(min: nil, max: 1), minSamples: 3)
        let live = Date(timeIntervalSince1970: 1_800_000_000 + 17.4)  // 17.4 s past a whole minute
        let end = live.addingTimeInterval(400)
        let start = AWSEffects.metricWindowStart([minute], end: end, liveAt: live)
        #expect(start >= live, "GetMetricData's StartTime is never before the step was live")
        #expect(start == Date(timeIntervalSince1970: 1_800_000_060), "rounded up to the whole minute CloudWatch counts periods from")
        #expect(AWSEffects.metricWindowStart([fine], end: live.addingTimeInterval(30), liveAt: live) == Date(timeIntervalSince1970: 1_800_000_020))
        #expect(AWSEffects.metricWindowStart([minute], end: end, liveAt: nil) == end.addingTimeInterval(-600), "before any weight: the lookback")
        // Live long ago: the lookback decides.
        #expect(AWSEffects.metricWindowStart([minute], end: live.addingTimeInterval(3600), liveAt: live) == live.addingTimeInterval(3000))
    }

    /// GetMetricData's StartTime as the effects send it, at a step that went live 17.4 s past a whole minute.
    @Test func getMetricDataAtAStepStartsNoEarlierThanTheStepsLiveTime() async throws {
        let live = Date(timeIntervalSince1970: 1_800_000_000 + 17.4)
        let early = TestClock(live.addingTimeInterval(30))
        let clock = TestClock(live.addingTimeInterval(130))
        let fake = MetricsRecorder()
        var d = Fixtures.deployment()
        let stat = MetricQuery.stat(MetricStat(namespace: "AWS/ApplicationELB", metric: "HTTPCode_Target_5XX_Count", dimensions: [], stat: "Sum"))
        d.plan.spec.checks.setMetricChecks([MetricCheck(name: "errors", query: stat, period: .seconds(60), rule: .bounds(min: nil, max: 1), minSamples: 3)])
        d.state = .shifting
        d.greenWeight = 10
        d.weightsConfirmedAt = live.addingTimeInterval(-15)
        d.bakeStartedAt = live
        let effects = AWSEffects(aws: fake.clients(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: clock)
        _ = try await #require(effects.metricChecks(d, CheckTick(effects: effects, interval: d.plan.spec.checks.interval))).run()
        let start = try #require(fake.starts.first)
        #expect(start >= live, "StartTime \(start) is before the step was live at \(live)")
        #expect(start == Date(timeIntervalSince1970: 1_800_000_060))
        // Less than a whole period after the live time, nothing is asked: no period holds only the step's traffic.
        let soon = AWSEffects(aws: fake.clients(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: early)
        let results = try await #require(soon.metricChecks(d, CheckTick(effects: soon, interval: d.plan.spec.checks.interval))).run()
        #expect(fake.starts.count == 1)
        #expect(results.map(\.passed) == [true] && results.first?.onNoData == .pause, "\(results)")
    }

    @Test func theStepsLiveTimeIsTheStartOnlyWhileGreenTakesTrafficAtAStep() {
        var d = Fixtures.deployment()
        d.state = .shifting
        d.greenWeight = 10
        d.bakeStartedAt = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(AWSEffects.stepLiveAt(d) == d.bakeStartedAt)
        d.greenWeight = 0
        #expect(AWSEffects.stepLiveAt(d) == nil)
        d.greenWeight = 10
        d.state = .checkingHealth
        #expect(AWSEffects.stepLiveAt(d) == nil)
    }

    @Test func batchQueriesBecomeGetMetricDataQueriesUnchanged() {
        let stat = MetricStat(namespace: "AWS/ApplicationELB", metric: "RequestCount",
                              dimensions: [MetricDimension(name: "TargetGroup", value: "targetgroup/a/1")], stat: "Sum")
        let metric = AWSEffects.dataQuery(MetricBatch.Query(id: "c1g_requests", body: .stat(stat, periodSeconds: 60), returnData: false, label: "rate green requests"))
        #expect(metric == MetricDataQuery(id: "c1g_requests", body: .stat(MetricDataQuery.Stat(
            namespace: "AWS/ApplicationELB", metricName: "RequestCount", dimensions: [("TargetGroup", "targetgroup/a/1")], period: 60, stat: "Sum")),
            returnData: false, label: "rate green requests"))
        let expression = AWSEffects.dataQuery(MetricBatch.Query(id: "c1g", body: .expression("c1g_e / c1g_r"), returnData: true, label: "rate green"))
        #expect(expression == MetricDataQuery(id: "c1g", body: .expression("c1g_e / c1g_r"), returnData: true, label: "rate green"))
    }
}

/// `checks.metrics` is the AWS provider's (CloudWatch's `MetricCheck`): the core keeps it as JSON it does not read
/// (`JSONValue`). The record's bytes are what they were when the core held `[MetricCheck]`, so every switchyard that
/// shares a store reads them; a copy that is not a metric check list fails the tick's check, never drops it.
@Suite struct MetricChecksRecordTests {
    static let checks = ["alb_5xx_rate", "alb_p99_latency"].compactMap { MetricCheck.readyMade[$0] }
        + [MetricCheck(name: "cpu", query: .stat(MetricStat(namespace: "AWS/EC2", metric: "CPUUtilization",
                                                             dimensions: [MetricDimension(name: "AutoScalingGroupName", value: "{green_asg}")], stat: "Average")),
                       period: .seconds(60), rule: .bounds(min: 0.5, max: 80), minSamples: 3, onNoData: .rollback)]

    @Test func theRecordKeepsTheBytesAMetricCheckListHadAndReadsThemBack() throws {
        #expect(Self.checks.count == 3)
        var checks = DeploymentSpec.Checks()
        checks.setMetricChecks(Self.checks)
        let record = try RecordCoding.encoder.encode(checks)
        let object = try #require(try JSONSerialization.jsonObject(with: record) as? [String: Any])
        let stored = try JSONSerialization.data(withJSONObject: try #require(object["metrics"]), options: [.sortedKeys])
        let asBefore = try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: RecordCoding.encoder.encode(Self.checks)), options: [.sortedKeys])
        #expect(stored == asBefore, "the metrics key holds what [MetricCheck] encoded")
        let again = try RecordCoding.decoder.decode(DeploymentSpec.Checks.self, from: record)
        #expect(try again.metricChecks() == Self.checks && again == checks)
        #expect(try RecordCoding.encoder.encode(again) == record, "read and written again, byte for byte")
        // A record from before metric checks: none, and nothing read.
        let old = #"{"alarms":[],"healthyTimeout":300000,"interval":10000,"maxUnhealthyTargets":0}"#
        #expect(try RecordCoding.decoder.decode(DeploymentSpec.Checks.self, from: Data(old.utf8)).metricChecks() == [])
    }

    @Test func aCopyThatIsNotAMetricCheckListFailsTheTicksCheck() async throws {
        var d = Fixtures.deployment()
        d.plan.spec.checks.metrics = .array([.object(["name": .string("cpu"), "query": .int(7)])])
        #expect(throws: DecodingError.self) { try d.plan.spec.checks.metricChecks() }
        let effects = AWSEffects(aws: MetricsRecorder().clients(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let results = try await #require(effects.metricChecks(d, CheckTick(effects: effects, interval: d.plan.spec.checks.interval))).run()
        #expect(results.map(\.passed) == [false] && results.first?.evidence.hasPrefix("the record's checks.metrics cannot be read") == true, "\(results)")
        #expect(MetricsCheck().reads(d.plan).isEmpty, "and it costs no CloudWatch read")
    }
}
