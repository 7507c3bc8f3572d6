import AWSProvider
import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct MetricCheckFileTests {
    @Test func readyMadeNamesAndAFullCheck() throws {
        let spec = try DeploymentFile.parseAWS(file(extra: """
            checks:
              metrics:
                - alb_5xx_rate
                - name: latency
                  namespace: AWS/ApplicationELB
                  metric: TargetResponseTime
                  dimensions:
                    LoadBalancer: "{load_balancer}"
                    TargetGroup: "{green_target_group}"
                  stat: p99.9
                  period: 5m
                  max_ratio_to_blue: 1.5
                  min_samples: 4
                  on_no_data: rollback
                - name: queue
                  expression: "depth / 10"
                  using:
                    depth:
                      namespace: Custom
                      metric: Depth
                      dimensions: { AutoScalingGroupName: "{green_asg}" }
                      stat: Maximum
                  max: 100
                  min: 0
                - name: errors
                  namespace: Custom
                  metric: Errors
                  stat: Sum
                  compare: mann_whitney
                  tolerance: 0.1
                  confidence: 0.95

            """), path: "web.yaml")
        let metrics = try spec.checks.metricChecks()
        #expect(metrics.map(\.name) == ["alb_5xx_rate", "latency", "queue", "errors"])
        #expect(metrics[0] == MetricCheck.readyMade["alb_5xx_rate"])
        #expect(metrics[1] == MetricCheck(name: "latency", query: .stat(MetricStat(namespace: "AWS/ApplicationELB", metric: "TargetResponseTime", dimensions: [
            MetricDimension(name: "LoadBalancer", value: "{load_balancer}"), MetricDimension(name: "TargetGroup", value: "{green_target_group}"),
        ], stat: "p99.9")), period: .minutes(5), rule: .ratioToBlue(max: 1.5), minSamples: 4, onNoData: .rollback))
        #expect(metrics[2].query == .expression("depth / 10", using: [NamedMetricStat(id: "depth", stat: MetricStat(
            namespace: "Custom", metric: "Depth", dimensions: [MetricDimension(name: "AutoScalingGroupName", value: "{green_asg}")], stat: "Maximum"))]))
        #expect(metrics[2].rule == .bounds(min: 0, max: 100) && metrics[2].minSamples == 3 && metrics[2].onNoData == .pause)
        #expect(metrics[3].rule == .mannWhitney(tolerance: 0.1, confidence: 0.95) && metrics[3].period == .seconds(60))
        #expect(try DeploymentFile.parseAWS(file(), path: "web.yaml").checks.metricChecks().isEmpty)
    }

    @Test func aReadyMadeNameTakesOverrides() throws {
        let spec = try DeploymentFile.parseAWS(file(extra: """
            checks:
              metrics:
                - name: alb_p99_latency
                  max_ratio_to_blue: 2
                  on_no_data: pass

            """), path: "web.yaml")
        let check = try #require(try spec.checks.metricChecks().first)
        #expect(check.query == MetricCheck.readyMade["alb_p99_latency"]?.query)
        #expect(check.rule == .ratioToBlue(max: 2) && check.onNoData == .pass)
        let tuned = try DeploymentFile.parseAWS(file(extra: """
            checks:
              metrics:
                - name: alb_5xx_rate
                  tolerance: 0.1
                - name: alb_4xx_rate
                  max: 0.05

            """), path: "web.yaml").checks.metricChecks()
        #expect(tuned.map(\.rule) == [.mannWhitney(tolerance: 0.1, confidence: 0.98), .bounds(min: nil, max: 0.05)])
        #expect(tuned[1].query == MetricCheck.readyMade["alb_4xx_rate"]?.query)
    }

    @Test func everyMistakeIsNamedWithItsLine() {
        let found = issues(file(extra: """
            checks:
              metrics:
                - alb_6xx_rate
                - name: latency
                  namespace: AWS/ApplicationELB
                  metric: TargetResponseTime
                  dimensions:
                    TargetGroup: "{green_tg}"
                  stat: p999
                  period: 45s
                  max: 1
                  max_ratio_to_blue: 1.5
                  treshold: 3
                - name: latency
                  expression: "a / b"
                  namespace: Custom
                - name: errors
                  metric: Errors
                  compare: t_test
                  tolerance: 0.1
                  confidence: 2
                - name: rate
                  expression: "x"
                  using:
                    X: { namespace: N, metric: M, colour: red }
                - name: nothing
                  namespace: N
                  metric: M
                  on_no_data: ignore

            """))
        let byKey = Dictionary(grouping: found, by: \.key)
        #expect(byKey["checks.metrics[1]"]?.first?.problem.contains("alb_4xx_rate, alb_5xx_rate, alb_p99_latency") == true)
        #expect(byKey["checks.metrics[1]"]?.first?.line == 14)
        #expect(byKey["checks.metrics[2].dimensions.TargetGroup"]?.first?.problem.contains("{green_tg} is not a template") == true)
        #expect(byKey["checks.metrics[2].dimensions.TargetGroup"]?.first?.line == 19)
        #expect(byKey["checks.metrics[2].stat"]?.first?.line == 20)
        #expect(byKey["checks.metrics[2].period"]?.first?.problem.contains("45s") == true)
        #expect(byKey["checks.metrics[2]"]?.first?.problem.contains("one rule") == true)
        #expect(byKey["checks.metrics[2].treshold"]?.first?.line == 24)
        #expect(byKey["checks.metrics[3].expression"]?.first?.problem.contains("not both") == true)
        #expect(byKey["checks.metrics[4].namespace"]?.first?.problem == "required key is missing")
        #expect(byKey["checks.metrics[4].compare"]?.first?.problem.contains("mann_whitney") == true)
        #expect(byKey["checks.metrics[4].confidence"]?.first?.line == 32)
        #expect(byKey["checks.metrics[5].using.X"]?.first?.problem.contains("lower-case letter") == true)
        #expect(byKey["checks.metrics[5].using.X.colour"]?.first?.problem.hasPrefix("unknown key") == true)
        #expect(byKey["checks.metrics[6]"]?.first?.problem.contains("needs a rule") == true)
        #expect(byKey["checks.metrics[6].on_no_data"]?.first?.problem.contains("pass, pause, rollback") == true)
    }

    @Test func keysPointAtTheirReferenceSection() {
        #expect(FileIssue.reference(for: "checks.metrics[2].max_ratio_to_blue") == "docs/deployment-file.md#checks-metrics-max_ratio_to_blue")
        #expect(FileIssue.reference(for: "checks.metrics[1].using.errors.stat") == "docs/deployment-file.md#checks-metrics-stat")
    }

    @Test func recordsWithoutMetricsStillDecode() throws {
        let old = #"{"interval":10000,"healthyTimeout":300000,"maxUnhealthyTargets":0,"alarms":["a"]}"#
        let checks = try JSONDecoder().decode(DeploymentSpec.Checks.self, from: Data(old.utf8))
        #expect(checks.metrics.isEmpty && checks.alarms == ["a"])
        var withMetrics = checks
        withMetrics.setMetricChecks([try #require(MetricCheck.readyMade["alb_5xx_rate"])])
        let again = try JSONDecoder().decode(DeploymentSpec.Checks.self, from: JSONEncoder().encode(withMetrics))
        #expect(again == withMetrics)
    }
}

@Suite struct MetricTemplateTests {
    let values = MetricTemplate.Values(
        greenTargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2453ed029918f21f",
        blueTargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/73e2d6bc24d8a067",
        loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2",
        greenASG: "web-green-d1", blueASG: "web-blue")

    @Test func arnsBecomeCloudWatchDimensionForms() {
        #expect(MetricTemplate.targetGroupDimension(values.greenTargetGroupArn) == "targetgroup/web-b/2453ed029918f21f")
        #expect(MetricTemplate.loadBalancerDimension(values.loadBalancerArn) == "app/web/50dc6c495c0c9188")
        #expect(MetricTemplate.loadBalancerDimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188")
            == "app/web/50dc6c495c0c9188")
        #expect(MetricTemplate.loadBalancerDimension(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee")
            == "app/web/50dc6c495c0c9188")
    }

    @Test func blueIsTheMirrorOfGreen() {
        let text = "{load_balancer} {green_target_group} {blue_target_group} {green_asg} {blue_asg} {other} {"
        #expect(MetricTemplate.fill(text, values, side: .green)
            == "app/web/50dc6c495c0c9188 targetgroup/web-b/2453ed029918f21f targetgroup/web-a/73e2d6bc24d8a067 web-green-d1 web-blue {other} {")
        #expect(MetricTemplate.fill(text, values, side: .blue)
            == "app/web/50dc6c495c0c9188 targetgroup/web-a/73e2d6bc24d8a067 targetgroup/web-b/2453ed029918f21f web-blue web-green-d1 {other} {")
    }

    @Test func aReadyMadeQueryFilledForBlue() throws {
        let query = try #require(MetricCheck.readyMade["alb_5xx_rate"]?.query)
        guard case .expression(let expression, let using) = MetricTemplate.fill(query, values, side: .blue) else {
            Issue.record("not an expression")
            return
        }
        #expect(expression == "errors / requests" && using.map(\.id) == ["errors", "requests"])
        #expect(using[0].stat == MetricStat(namespace: "AWS/ApplicationELB", metric: "HTTPCode_Target_5XX_Count", dimensions: [
            MetricDimension(name: "LoadBalancer", value: "app/web/50dc6c495c0c9188"),
            MetricDimension(name: "TargetGroup", value: "targetgroup/web-a/73e2d6bc24d8a067"),
        ], stat: "Sum"))
        #expect(MetricTemplate.unknown(in: "{green_asg} {blue_tg} {x}") == ["blue_tg", "x"])
    }
}
