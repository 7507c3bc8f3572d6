@testable import SwitchyardCore
import Testing

let listener443 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/0000000000000443"
let apiRule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"

/// `traffic.listener_arns` / `rule_arns` and `checks.http.test_route`.
@Suite struct DeploymentFileTrafficTests {
    func traffic(_ lines: String) -> String {
        file([("  listener_arn: \(listener)\n", lines)])
    }

    @Test func theSingleKeysMeanWhatTheyMeant() throws {
        #expect(try DeploymentFile.parseAWS(file(), path: "w").traffic.forwards == [.listener(listener)])
        let rule = try DeploymentFile.parseAWS(file(extra: "").replacingOccurrences(of: "  target_groups:", with: "  rule_arn: \(apiRule)\n  target_groups:"), path: "w")
        #expect(rule.traffic.forwards == [.rule(apiRule)])
        #expect(rule.traffic.listenerArns == nil && rule.traffic.ruleArns == nil, "old keys store as old records did")
    }

    @Test func listsNameEveryForwardAndListenerArnJoinsThem() throws {
        let spec = try DeploymentFile.parseAWS(traffic("  listener_arn: \(listener)\n  listener_arns: [\(listener443)]\n  rule_arns: [\(apiRule)]\n"), path: "w")
        #expect(spec.traffic.forwards == [.listener(listener), .listener(listener443), .rule(apiRule)])
        #expect(spec.traffic.primaryForward == listener)
    }

    @Test func rulesAloneNeedNoListenerKeyAndTheirListenerIsThePrimary() throws {
        let spec = try DeploymentFile.parseAWS(traffic("  rule_arns:\n    - \(apiRule)\n"), path: "w")
        #expect(spec.traffic.forwards == [.rule(apiRule)])
        #expect(spec.traffic.primaryForward == listener, "the listener of the first rule, for the test route")
    }

    @Test func ruleArnNarrowsListenerArnToTheRuleEvenBesideTheLists() throws {
        let spec = try DeploymentFile.parseAWS(traffic("  listener_arn: \(listener)\n  rule_arn: \(apiRule)\n  listener_arns: [\(listener443)]\n"), path: "w")
        #expect(spec.traffic.forwards == [.listener(listener443), .rule(apiRule)])
    }

    @Test func listProblemsAreNamedByKeyAndIndex() {
        expectIssue(traffic("  listener_arns: [\(listener), \(listener)]\n"), line: 4, key: "traffic.listener_arns", "names \(listener) twice")
        expectIssue(traffic("  listener_arns: []\n"), line: 4, key: "traffic.listener_arns", "at least one")
        expectIssue(traffic("  rule_arns:\n    - \(listener)\n"), line: 5, key: "traffic.rule_arns[1]", "is not a listener rule ARN")
        expectIssue(traffic("  listener_arns: [\(listener.replacingOccurrences(of: "us-east-1", with: "eu-west-1"))]\n"), line: 4,
                    key: "traffic.listener_arns[1]", "is in region eu-west-1")
        expectIssue(traffic("  listener_arn: \(listener)\n  listener_arn_list: []\n"), line: 5, key: "traffic.listener_arn_list", "unknown key")
        expectIssue(traffic("  listener_arn: \(listener)\n  listener_arns: [\(listener443.replacingOccurrences(of: "123456789012", with: "999999999999"))]\n"),
                    line: 5, key: "traffic", "several accounts (123456789012, 999999999999)")
    }

    @Test func aRuleArnWithoutItsListenerPointsAtRuleArns() {
        let found = issues(traffic("  rule_arn: \(apiRule)\n"))
        #expect(found.contains { $0.key == "traffic.rule_arn" && $0.problem.contains("use rule_arns") }, "\(found)")
    }

    @Test func testRouteDefaultsAndItsKeys() throws {
        let on = try DeploymentFile.parseAWS(file(extra: "checks:\n  http:\n    url: http://alb.internal/healthz\n    test_route: true\n"), path: "w")
        #expect(on.checks.http?.testRoute == .init(header: "X-Switchyard-Route", forward: nil))
        #expect(on.testRouteForward == listener)
        let custom = try DeploymentFile.parseAWS(file(extra: "checks:\n  http:\n    url: http://alb.internal/healthz\n    test_route:\n      header: X-Canary\n      listener_arn: \(listener443)\n"), path: "w")
        #expect(custom.testRoute == .init(header: "X-Canary", forward: listener443))
        #expect(custom.testRouteForward == listener443)
        let off = try DeploymentFile.parseAWS(file(extra: "checks:\n  http:\n    url: http://alb.internal/healthz\n    test_route: false\n"), path: "w")
        #expect(off.testRoute == nil)
        expectIssue(file(extra: "checks:\n  http:\n    url: http://alb.internal/healthz\n    test_route:\n      header: \"X Route\"\n"), line: 16,
                    key: "checks.http.test_route.header", "HTTP header name")
    }

    @Test func settleIsADurationFromZeroToTenMinutesAndLeftOutMeansTheDefault() throws {
        #expect(try DeploymentFile.parseAWS(file(), path: "w").traffic.settle == nil)
        #expect(DeploymentSpec.Traffic.defaultSettle == .seconds(15))
        #expect(try DeploymentFile.parseAWS(traffic("  listener_arn: \(listener)\n  settle: 30s\n"), path: "w").traffic.settle == .seconds(30))
        #expect(try DeploymentFile.parseAWS(traffic("  listener_arn: \(listener)\n  settle: 0s\n"), path: "w").traffic.settle == .zero)
        expectIssue(traffic("  listener_arn: \(listener)\n  settle: 11m\n"), line: 5, key: "traffic.settle", "must be at most 10m (got 11m)")
        expectIssue(traffic("  listener_arn: \(listener)\n  settle: 15\n"), line: 5, key: "traffic.settle", "must be a duration like 500ms, 30s, 5m or 1h")
        let route53 = try DeploymentFile.parseAWS(Route53FileTests.route53File(extraTraffic: "  settle: 2m\n"), path: "w")
        #expect(route53.traffic.settle == .minutes(2))
    }
}
