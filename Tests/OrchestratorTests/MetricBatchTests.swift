@testable import AWSProvider
import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct MetricBatchTests {
    let values = MetricTemplate.Values(
        greenTargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2453ed029918f21f",
        blueTargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/73e2d6bc24d8a067",
        loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2",
        greenASG: "web-green-d1", blueASG: "web-blue")

    @Test func everyCheckBothFleetsOneBatch() throws {
        let queue = MetricCheck(name: "queue", query: .stat(MetricStat(namespace: "Custom", metric: "Depth", dimensions: [
            MetricDimension(name: "AutoScalingGroupName", value: "{green_asg}")], stat: "Maximum")), period: .minutes(5), rule: .bounds(min: nil, max: 100))
        let rate = try #require(MetricCheck.readyMade["alb_5xx_rate"])
        let batch = MetricBatch.plan([queue, rate], values: values)
        #expect(batch.queries.map(\.id) == ["c1g", "c2g_errors", "c2g_requests", "c2g", "c2b_errors", "c2b_requests", "c2b"])
        #expect(batch.queries.map(\.returnData) == [true, false, false, true, false, false, true])
        #expect(batch.series.map(\.green) == ["c1g", "c2g"] && batch.series.map(\.blue) == [nil, "c2b"])
        #expect(batch.queries[0].body == .stat(MetricStat(namespace: "Custom", metric: "Depth", dimensions: [
            MetricDimension(name: "AutoScalingGroupName", value: "web-green-d1")], stat: "Maximum"), periodSeconds: 300))
        #expect(batch.queries[3].body == .expression("c2g_errors / c2g_requests") && batch.queries[3].label == "alb_5xx_rate green")
        #expect(batch.queries[6].body == .expression("c2b_errors / c2b_requests"))
        guard case .stat(let blueErrors, let period) = batch.queries[4].body else {
            Issue.record("not a metric")
            return
        }
        #expect(period == 60 && blueErrors.dimensions.last == MetricDimension(name: "TargetGroup", value: "targetgroup/web-a/73e2d6bc24d8a067"))
    }

    @Test func renamingLeavesQuotedTextAndOtherWordsAlone() {
        let names = ["errors": "c1g_errors", "e": "c1g_e"]
        #expect(MetricBatch.rename("100 * errors/MAX([errors, e2]) + e", names) == "100 * c1g_errors/MAX([c1g_errors, e2]) + c1g_e")
        #expect(MetricBatch.rename("SEARCH('errors \"e\"', 'Sum') + errors", names) == "SEARCH('errors \"e\"', 'Sum') + c1g_errors")
    }

    @Test func answersBecomeVerdicts() throws {
        let rate = try #require(MetricCheck.readyMade["alb_5xx_rate"])
        let ceiling = MetricCheck(name: "ceiling", query: .stat(MetricStat(namespace: "N", metric: "M", dimensions: [], stat: "Sum")),
                                  rule: .bounds(min: nil, max: 0.01))
        let batch = MetricBatch.plan([rate, ceiling], values: values)
        let verdicts = batch.verdicts(["c1g": [0.05, 0.049, 0.051, 0.05, 0.052], "c1b": [0.001, 0.0011, 0.0009, 0.001, 0.0012], "c2g": [0.001, 0.002, 0.0]])
        #expect(verdicts.map(\.outcome) == [.fail, .pass])
        #expect(abs((verdicts[0].green ?? 0) - 0.0504) < 1e-12 && verdicts[0].greenSamples == 5 && verdicts[0].blueSamples == 5)
        #expect(batch.verdicts([:]).map(\.outcome) == [.notEnoughData, .notEnoughData])
    }
}

@Suite struct MetricDescribeTests {
    @Test func planShowsTheRuleAndBothQueriesFilledIn() throws {
        let values = MetricTemplate.Values(
            greenTargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2",
            blueTargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1",
            loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/5/f", greenASG: "g", blueASG: "b")
        let rate = try #require(MetricCheck.readyMade["alb_5xx_rate"])
        #expect(rate.describe(values) == [
            "alb_5xx_rate: green against blue by Mann-Whitney (tolerance 0.25, confidence 0.98); every 1m, min_samples 3, on_no_data pause",
            "  green: errors / requests; errors = AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum {LoadBalancer=app/web/5, TargetGroup=targetgroup/web-b/2}; "
                + "requests = AWS/ApplicationELB RequestCount Sum {LoadBalancer=app/web/5, TargetGroup=targetgroup/web-b/2}",
            "  blue: errors / requests; errors = AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum {LoadBalancer=app/web/5, TargetGroup=targetgroup/web-a/1}; "
                + "requests = AWS/ApplicationELB RequestCount Sum {LoadBalancer=app/web/5, TargetGroup=targetgroup/web-a/1}",
        ])
        let bound = MetricCheck(name: "depth", query: .stat(MetricStat(namespace: "N", metric: "M", dimensions: [], stat: "Maximum")),
                                rule: .bounds(min: 1, max: 100), onNoData: .pass)
        #expect(bound.describe(values) == ["depth: green's mean at least 1 and at most 100; every 1m, min_samples 3, on_no_data pass", "  green: N M Maximum"])
    }
}
