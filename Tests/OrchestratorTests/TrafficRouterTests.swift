import AWS
import Foundation
import Logging
@testable import AWSProvider
@testable import Orchestrator
import SwitchyardCore
import Testing

/// An ELBv2 endpoint in memory: listeners and rules with forward actions, answering the query protocol as AWS does,
/// and refusing writes to the resources in `refuse`.
final class FakeELB: HTTPTransport, @unchecked Sendable {
    struct Forward {
        var weights: [(String, Int)]
        var sticky: (Bool, Int?)?
    }

    private let lock = NSLock()
    var forwards: [String: Forward] = [:]
    var refuse: Set<String> = []
    /// What DescribeListeners and DescribeRules answer instead of the truth, per resource: a read from before a write.
    var stale: [String: Forward] = [:]
    /// Writes answered without the actions (the router must read them back); `stale` then serves this many reads.
    var silentWrites = false
    var staleReadsLeft = Int.max
    private(set) var actions: [String] = []

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let p = Self.form(request.body)
        let action = p["Action"] ?? ""
        return lock.withLock {
            actions.append(action)
            switch action {
            case "DescribeListeners":
                let arns = p.filter { $0.key.hasPrefix("ListenerArns.member.") }.map(\.value)
                return ok(action, "<Listeners>" + arns.compactMap { arn in shown(arn).map { listener(arn, $0) } }.joined() + "</Listeners>")
            case "DescribeRules":
                let arns = p.filter { $0.key.hasPrefix("RuleArns.member.") }.map(\.value)
                return ok(action, "<Rules>" + arns.compactMap { arn in shown(arn).map { rule(arn, $0) } }.joined() + "</Rules>")
            case "ModifyListener", "ModifyRule":
                let arn = p["ListenerArn"] ?? p["RuleArn"] ?? ""
                if refuse.contains(arn) {
                    return HTTPResponse(status: 403, headers: [:], body: Data("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r</RequestId></ErrorResponse>".utf8))
                }
                let prefix = action == "ModifyListener" ? "DefaultActions.member.1" : "Actions.member.1"
                var weights: [(String, Int)] = []
                var index = 1
                while let tg = p["\(prefix).ForwardConfig.TargetGroups.member.\(index).TargetGroupArn"] {
                    weights.append((tg, Int(p["\(prefix).ForwardConfig.TargetGroups.member.\(index).Weight"] ?? "1") ?? 1))
                    index += 1
                }
                let enabled = p["\(prefix).ForwardConfig.TargetGroupStickinessConfig.Enabled"]
                let duration = p["\(prefix).ForwardConfig.TargetGroupStickinessConfig.DurationSeconds"].flatMap(Int.init)
                forwards[arn] = Forward(weights: weights, sticky: enabled.map { ($0 == "true", duration) })
                if silentWrites { return ok(action, "") }
                let body = action == "ModifyListener" ? "<Listeners>\(listener(arn, forwards[arn]!))</Listeners>" : "<Rules>\(rule(arn, forwards[arn]!))</Rules>"
                return ok(action, body)
            default:
                return ok(action, "")
            }
        }
    }

    /// What a read shows of a resource (called with the lock held): the stale forward while reads of it are left.
    private func shown(_ arn: String) -> Forward? {
        guard let old = stale[arn], staleReadsLeft > 0 else { return forwards[arn] }
        staleReadsLeft -= 1
        return old
    }

    private func ok(_ action: String, _ body: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(body)</\(action)Result></\(action)Response>".utf8))
    }

    private func forwardXML(_ f: Forward) -> String {
        let groups = f.weights.map { "<member><TargetGroupArn>\($0.0)</TargetGroupArn><Weight>\($0.1)</Weight></member>" }.joined()
        let sticky = f.sticky.map { "<TargetGroupStickinessConfig><Enabled>\($0.0)</Enabled>" + ($0.1.map { "<DurationSeconds>\($0)</DurationSeconds>" } ?? "") + "</TargetGroupStickinessConfig>" } ?? ""
        return "<member><Type>forward</Type><ForwardConfig><TargetGroups>\(groups)</TargetGroups>\(sticky)</ForwardConfig></member>"
    }

    private func listener(_ arn: String, _ f: Forward) -> String {
        "<member><ListenerArn>\(arn)</ListenerArn><DefaultActions>\(forwardXML(f))</DefaultActions></member>"
    }

    private func rule(_ arn: String, _ f: Forward) -> String {
        "<member><RuleArn>\(arn)</RuleArn><Priority>5</Priority><Actions>\(forwardXML(f))</Actions></member>"
    }

    static func form(_ body: Data) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            out[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return out
    }

    func elb() -> ELBv2 {
        let configuration = AWSConfiguration(region: "us-east-1", credentials: EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"]),
                                             endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, URL(string: "http://127.0.0.1:9")!) }))
        return ELBv2(client: AWSClient(configuration: configuration, transport: self, retryPolicy: RetryPolicy(maxAttempts: 1), logger: Logger(label: "test")))
    }
}

let blueTG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1"
let greenTG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2"
let listener80 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/80"
let listener443 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/443"
let apiRule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/80/9"

@Suite struct TrafficRouterTests {
    func world(sticky: (Bool, Int?)? = nil) -> (FakeELB, ALBTrafficRouter) {
        let fake = FakeELB()
        for arn in [listener80, listener443, apiRule] { fake.forwards[arn] = .init(weights: [(blueTG, 100), (greenTG, 0)], sticky: sticky) }
        return (fake, ALBTrafficRouter(elb: fake.elb(), forwards: [.listener(listener80), .listener(listener443), .rule(apiRule)]))
    }

    @Test func everyForwardIsReadInTwoCallsAndWrittenOnceAndConfirmedFromTheAnswers() async throws {
        let (fake, router) = world()
        let written = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 10)
        // The two reads run concurrently, in either order.
        #expect(Set(fake.actions.prefix(2)) == ["DescribeListeners", "DescribeRules"])
        #expect(Array(fake.actions.dropFirst(2)) == ["ModifyListener", "ModifyListener", "ModifyRule"])
        #expect(written.agreed)
        #expect(written.forwards.map { $0.percent[greenTG] } == [10, 10, 10])
        // A next step from what the write answered: no read first.
        _ = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 50, stickiness: .keep, known: written)
        #expect(Array(fake.actions.dropFirst(5)) == ["ModifyListener", "ModifyListener", "ModifyRule"])
    }

    @Test func aForwardAlreadyAtTheStepIsNotWrittenAgain() async throws {
        let (fake, router) = world()
        fake.forwards[listener80] = .init(weights: [(blueTG, 50), (greenTG, 50)], sticky: nil)
        let weights = try await router.currentWeights()
        #expect(!weights.agreed)
        #expect(weights.percent[greenTG] == 50, "a group carries traffic if any forward sends it some")
        // The record says 50 % (a retry of a step that wrote one forward): the forward at 50 is left alone.
        _ = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 50, stickiness: .keep, known: weights,
                                        write: .unlessThereAlready(recordedGreen: 50))
        #expect(fake.actions.filter { $0.hasPrefix("Modify") } == ["ModifyListener", "ModifyRule"])
    }

    @Test func aWriteRefusedAfterOthersSucceededIsAPartialWriteThatARollbackRepairs() async throws {
        let (fake, router) = world()
        fake.refuse = [listener443]
        await #expect {
            try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 10)
        } throws: { error in
            guard case TrafficError.partialWrite(let written, let failed, 10, _) = error else { return false }
            return written == ["listener \(listener80)"] && failed == "listener \(listener443)"
        }
        let half = try await router.currentWeights()
        #expect(!half.agreed)
        fake.refuse = []
        let back = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 0, stickiness: .offWhereGreenLeaves, known: nil)
        #expect(back.agreed && back.percent[greenTG] == 0)
        #expect(fake.actions.filter { $0 == "ModifyListener" }.count == 4, "a rollback writes every forward, whatever the read says")
    }

    @Test func theFirstWriteRefusedIsTheAWSErrorItself() async throws {
        let (fake, router) = world()
        fake.refuse = [listener80]
        await #expect {
            try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 10)
        } throws: { error in (error as? AWSError)?.code.rawValue == "AccessDenied" }
    }

    @Test func stickinessIsKeptAtEachStepOffWhereARollbackTakesGreensShareAndRestoredAfter() async throws {
        let (fake, router) = world(sticky: (true, 300))
        _ = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 50)
        #expect(fake.forwards[listener80]?.sticky?.0 == true && fake.forwards[listener80]?.sticky?.1 == 300)
        // The rule never got green traffic (an operator set it back): nothing to unbind there.
        fake.forwards[apiRule] = .init(weights: [(blueTG, 100), (greenTG, 0)], sticky: (true, 300))
        _ = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 0, stickiness: .offWhereGreenLeaves, known: nil)
        #expect(fake.forwards[listener80]?.sticky?.0 == false)
        #expect(fake.forwards[listener443]?.sticky?.0 == false)
        #expect(fake.forwards[apiRule]?.sticky?.0 == true)
        let before = fake.actions.count
        _ = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 0,
                                        stickiness: .restore([listener80: 300, listener443: 300, apiRule: 300]), known: nil,
                                        write: .unlessThereAlready(recordedGreen: 0))
        #expect(fake.forwards[listener80]?.sticky?.0 == true && fake.forwards[listener80]?.sticky?.1 == 300)
        #expect(fake.forwards[listener443]?.sticky?.0 == true)
        #expect(fake.actions.dropFirst(before).filter { $0.hasPrefix("Modify") } == ["ModifyListener", "ModifyListener"])
    }

    @Test func aRollbackWritesEveryForwardWhenAStaleReadSaysItIsOnBlueAndConfirmsFromTheAnswers() async throws {
        let (fake, router) = world()
        for arn in [listener80, listener443, apiRule] {
            fake.forwards[arn] = .init(weights: [(blueTG, 90), (greenTG, 10)], sticky: nil)
            fake.stale[arn] = .init(weights: [(blueTG, 100), (greenTG, 0)], sticky: nil)
        }
        let back = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 0, stickiness: .offWhereGreenLeaves,
                                               known: nil, write: .always)
        #expect(fake.actions.filter { $0.hasPrefix("Modify") } == ["ModifyListener", "ModifyListener", "ModifyRule"])
        #expect(back.forwards.allSatisfy { $0.percent[greenTG] == 0 })
        #expect([listener80, listener443, apiRule].allSatisfy { fake.forwards[$0]?.weights.first { $0.0 == greenTG }?.1 == 0 })
    }

    @Test func aStepIsWrittenWhenTheReadContradictsTheRecord() async throws {
        let (fake, router) = world()
        // The record says 10 %; a read from before the step's write says 0: written, not taken as there already.
        for arn in [listener80, listener443, apiRule] { fake.stale[arn] = .init(weights: [(blueTG, 100), (greenTG, 0)], sticky: nil) }
        _ = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 0, stickiness: .keep, known: nil,
                                        write: .unlessThereAlready(recordedGreen: 10))
        #expect(fake.actions.filter { $0.hasPrefix("Modify") }.count == 3)
    }

    @Test func aReadStandingInForAWriteAnswerIsReadAgainUntilItShowsTheWrite() async throws {
        let fake = FakeELB()
        fake.forwards[listener80] = .init(weights: [(blueTG, 100), (greenTG, 0)], sticky: nil)
        let router = ALBTrafficRouter(elb: fake.elb(), forwards: [.listener(listener80)], clock: TestClock(Fixtures.start))
        let before = try await router.currentWeights()
        fake.silentWrites = true
        fake.stale[listener80] = .init(weights: [(blueTG, 100), (greenTG, 0)], sticky: nil)
        fake.staleReadsLeft = 2
        let written = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 10, known: before)
        #expect(written.forwards.first?.percent[greenTG] == 10)
        #expect(fake.actions == ["DescribeListeners", "ModifyListener", "DescribeListeners", "DescribeListeners", "DescribeListeners"])
    }

    @Test func aMissingRuleIsNamed() async throws {
        let fake = FakeELB()
        fake.forwards[listener80] = .init(weights: [(blueTG, 100)], sticky: nil)
        let router = ALBTrafficRouter(elb: fake.elb(), forwards: [.listener(listener80), .rule(apiRule)])
        await #expect(throws: PlanError.ruleNotFound(apiRule)) { try await router.currentWeights() }
    }
}

@Suite struct TrafficTopologyTests {
    func found(_ forward: DeploymentSpec.TrafficForward, _ green: Int = 0, sticky: Int? = nil) -> FoundForward {
        let config = ForwardConfig(targetGroups: [.init(arn: blueTG, weight: 100 - green), .init(arn: greenTG, weight: green)],
                                   stickiness: sticky.map { Stickiness(enabled: true, durationSeconds: $0) })
        return FoundForward(forward: forward, listener: "HTTP:80", rule: nil, actions: [ListenerAction(type: "forward", order: 1, targetGroupArn: nil, forward: config)])
    }

    func spec(listeners: [String]? = nil, rules: [String]? = nil) -> DeploymentSpec {
        var s = Fixtures.spec()
        s.traffic = .init(primaryForward: listener80, pools: [blueTG, greenTG], listenerArns: listeners, ruleArns: rules)
        return s
    }

    @Test func aForwardToThePairThatTheFileDoesNotNameIsRefusedListingEveryOne() async throws {
        let router = ALBTrafficRouter(elb: FakeELB().elb(), forwards: [.listener(listener80)])
        await #expect(throws: PlanError.unnamedForwards(["listener \(listener443) (HTTP:80)", "listener rule \(apiRule) (HTTP:80)"])) {
            try await TrafficTopology.check(spec: spec(), found: [found(.listener(listener80)), found(.listener(listener443)), found(.rule(apiRule))], router: router)
        }
    }

    @Test func namedForwardsAreReadFromDiscoveryWithTheirStickiness() async throws {
        let fake = FakeELB()
        let router = ALBTrafficRouter(elb: fake.elb(), forwards: [.listener(listener80), .rule(apiRule)])
        let topology = try await TrafficTopology.check(spec: spec(listeners: [listener80], rules: [apiRule]),
                                                       found: [found(.listener(listener80), sticky: 600), found(.rule(apiRule))], router: router)
        #expect(fake.actions.isEmpty, "no request of their own")
        #expect(topology.sticky == [listener80: 600])
        #expect(topology.weights.agreed && topology.weights.live == [blueTG])
    }

    @Test func discoveryRecognisesBothShapesOfAForward() {
        let plain = ListenerAction(type: "forward", order: 1, targetGroupArn: greenTG, forward: nil)
        let fixed = ListenerAction(type: "fixed-response", order: 1, targetGroupArn: nil, forward: nil)
        #expect(ForwardDiscovery.forwardsTo([blueTG, greenTG], [plain]))
        #expect(!ForwardDiscovery.forwardsTo([blueTG, greenTG], [fixed]))
        #expect(!ForwardDiscovery.forwardsTo(["arn:other"], [plain]))
    }
}

@Suite struct TestRouteRuleTests {
    func rule(priority: String, header: String = "X-Switchyard-Route", values: [String] = ["green"], to tg: String = greenTG) -> ListenerRule {
        ListenerRule(arn: "arn:rule/\(priority)", priority: priority,
                     actions: [ListenerAction(type: "forward", order: 1, targetGroupArn: tg, forward: nil)],
                     conditions: [.httpHeader(header, values: values)])
    }

    @Test func theTestRouteIsKnownByItsHeaderValueAndTargetGroupsOnly() {
        let pair: Set<String> = [blueTG, greenTG]
        let headers: Set<String> = ["x-switchyard-route"]
        #expect(TestRouteRule.isTestRoute(rule(priority: "1"), headers: headers, pair: pair))
        #expect(TestRouteRule.isTestRoute(rule(priority: "1", header: "x-switchyard-route"), headers: headers, pair: pair), "header names are case-insensitive")
        #expect(!TestRouteRule.isTestRoute(rule(priority: "1", values: ["blue"]), headers: headers, pair: pair))
        #expect(!TestRouteRule.isTestRoute(rule(priority: "1", header: "X-Canary"), headers: headers, pair: pair))
        #expect(!TestRouteRule.isTestRoute(rule(priority: "1", to: "arn:another-service"), headers: headers, pair: pair), "another service's route")
        var path = rule(priority: "2")
        path.conditions.append(RuleCondition(field: "path-pattern", values: ["/api/*"]))
        #expect(!TestRouteRule.isTestRoute(path, headers: headers, pair: pair), "a rule with more conditions is the operator's")
    }

    @Test func theRuleTakesTheLowestFreePriorityNumber() {
        #expect(TestRouteRule.lowestFreePriority([]) == 1)
        #expect(TestRouteRule.lowestFreePriority([rule(priority: "1"), rule(priority: "2"), rule(priority: "5"), rule(priority: "default")]) == 3)
    }
}

/// Answers DescribeRules for one listener from a list of rules, and records CreateRule/ModifyRule/DeleteRule.
final class RulesELB: HTTPTransport, @unchecked Sendable {
    struct Rule { var arn: String; var priority: String; var header: String?; var value: String; var target: String }
    private let lock = NSLock()
    var rules: [Rule] = []
    private(set) var writes: [[String: String]] = []

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let p = FakeELB.form(request.body)
        let action = p["Action"] ?? ""
        return lock.withLock {
            if action != "DescribeRules" { writes.append(p) }
            var body = ""
            switch action {
            case "DescribeRules":
                body = "<Rules>" + rules.map(xml).joined() + "<member><RuleArn>arn:default</RuleArn><Priority>default</Priority><IsDefault>true</IsDefault><Actions/><Conditions/></member></Rules>"
            case "CreateRule":
                let rule = Rule(arn: "arn:created", priority: p["Priority"] ?? "", header: p["Conditions.member.1.HttpHeaderConfig.HttpHeaderName"],
                                value: p["Conditions.member.1.HttpHeaderConfig.Values.member.1"] ?? "", target: p["Actions.member.1.TargetGroupArn"] ?? "")
                rules.append(rule)
                body = "<Rules>\(xml(rule))</Rules>"
            case "DeleteRule":
                rules.removeAll { $0.arn == p["RuleArn"] }
            default:
                break
            }
            return HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(body)</\(action)Result></\(action)Response>".utf8))
        }
    }

    private func xml(_ r: Rule) -> String {
        let condition = r.header.map { "<member><Field>http-header</Field><HttpHeaderConfig><HttpHeaderName>\($0)</HttpHeaderName><Values><member>\(r.value)</member></Values></HttpHeaderConfig></member>" }
            ?? "<member><Field>path-pattern</Field><Values><member>/api/*</member></Values></member>"
        return "<member><RuleArn>\(r.arn)</RuleArn><Priority>\(r.priority)</Priority><Conditions>\(condition)</Conditions>"
            + "<Actions><member><Type>forward</Type><TargetGroupArn>\(r.target)</TargetGroupArn></member></Actions></member>"
    }

    func route(_ header: String = "X-Switchyard-Route") -> TestRouteRule {
        let configuration = AWSConfiguration(region: "us-east-1", credentials: EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"]),
                                             endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, URL(string: "http://127.0.0.1:9")!) }))
        var spec = Fixtures.spec()
        spec.traffic = .init(primaryForward: listener80, pools: [blueTG, greenTG])
        spec.checks.http = .init(url: "http://alb/healthz", testRoute: .init(header: header))
        return TestRouteRule(elb: ELBv2(client: AWSClient(configuration: configuration, transport: self, retryPolicy: RetryPolicy(maxAttempts: 1), logger: Logger(label: "t"))), spec: spec)
    }
}

@Suite struct TestRouteLifecycleTests {
    @Test func theRuleIsCreatedAtTheLowestFreePriorityWithTheHeaderAndATag() async throws {
        let elb = RulesELB()
        elb.rules = [.init(arn: "arn:api", priority: "1", header: nil, value: "", target: blueTG)]
        let arn = try await elb.route().ensure(greenPool: greenTG, deploymentId: "d1")
        #expect(arn == "arn:created")
        let create = try #require(elb.writes.first)
        #expect(create["Action"] == "CreateRule" && create["Priority"] == "2" && create["ListenerArn"] == listener80)
        #expect(create["Conditions.member.1.Field"] == "http-header" && create["Conditions.member.1.HttpHeaderConfig.Values.member.1"] == "green")
        #expect(create["Actions.member.1.TargetGroupArn"] == greenTG)
        #expect(create["Tags.member.1.Key"] == "switchyard:test-route" && create["Tags.member.1.Value"] == "d1")
    }

    @Test func aRuleLeftByACrashIsAdoptedAndPointedAtThisGreen() async throws {
        let elb = RulesELB()
        elb.rules = [.init(arn: "arn:left", priority: "1", header: "x-switchyard-route", value: "green", target: blueTG)]
        let arn = try await elb.route().ensure(greenPool: greenTG, deploymentId: "d2")
        #expect(arn == "arn:left")
        #expect(elb.writes.map { $0["Action"] } == ["ModifyRule"])
        #expect(elb.writes.first?["Actions.member.1.TargetGroupArn"] == greenTG)
    }

    @Test func anotherServicesRouteWithTheSameHeaderIsRefused() async throws {
        let elb = RulesELB()
        elb.rules = [.init(arn: "arn:theirs", priority: "1", header: "X-Switchyard-Route", value: "green", target: "arn:their-green")]
        await #expect(throws: PlanError.testRouteTaken(listener: listener80, header: "X-Switchyard-Route", rule: "arn:theirs")) {
            try await elb.route().ensure(greenPool: greenTG, deploymentId: "d3")
        }
        #expect(elb.writes.isEmpty)
        // With its own header the service gets its own rule.
        _ = try await elb.route("X-Web-Route").ensure(greenPool: greenTG, deploymentId: "d3")
        #expect(elb.writes.first?["Priority"] == "2")
    }

    @Test func removalDeletesOnlyThisPairsRoutes() async throws {
        let elb = RulesELB()
        elb.rules = [.init(arn: "arn:ours", priority: "1", header: "X-Switchyard-Route", value: "green", target: greenTG),
                     .init(arn: "arn:theirs", priority: "2", header: "X-Switchyard-Route", value: "green", target: "arn:their-green"),
                     .init(arn: "arn:api", priority: "3", header: nil, value: "", target: greenTG)]
        #expect(try await elb.route().remove() == 1)
        #expect(elb.rules.map(\.arn) == ["arn:theirs", "arn:api"])
        #expect(try await elb.route().remove() == 0, "a second removal finds nothing and changes nothing")
    }
}
