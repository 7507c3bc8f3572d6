import AWS
import Foundation
@testable import Orchestrator
import SwitchyardCore
import Testing

@Suite struct MetricChecksTests {
    @Test func theWindowCoversTenPeriodsOrTwiceTheSamplesNeeded() {
        let stat = MetricQuery.stat(MetricStat(namespace: "N", metric: "M", dimensions: [], stat: "Sum"))
        let minute = MetricCheck(name: "a", query: stat, period: .seconds(60), rule: .bounds(min: nil, max: 1), minSamples: 3)
        let slow = MetricCheck(name: "b", query: stat, period: .minutes(5), rule: .bounds(min: nil, max: 1), minSamples: 8)
        #expect(AWSEffects.metricLookback([minute]) == 600)
        #expect(AWSEffects.metricLookback([minute, slow]) == 4800)
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
