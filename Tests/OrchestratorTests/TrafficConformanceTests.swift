import AWS
import Foundation
import Logging
@testable import AWSProvider
@testable import Orchestrator
import SwitchyardCore
import Testing

/// One traffic backend's world in memory, faked at the AWS-client level (the HTTP answers AWS gives), as the router
/// tests of each backend do. Every backend registered in `TrafficBackends` has one, and passes every test below.
protocol TrafficWorld: Sendable {
    /// The deployment file of this world: its `traffic:` names the backend.
    var spec: DeploymentSpec { get }
    /// A client whose every service answers from this world.
    func client() -> AWSClient
    /// Sets green's share as a person in the console would, behind the router's back.
    func setByHand(green: Int)
    /// How many writes of the split AWS has been sent.
    var writes: Int { get }
}

extension TrafficWorld {
    var blue: String { spec.traffic.pools[0] }
    /// Green's target group: blue's own where they share one (`traffic.shared`).
    var green: String { spec.traffic.pools[spec.traffic.pools.count - 1] }
    func router(_ clock: TestClock) -> any TrafficRouter { AWSTrafficBackends.router(for: spec, aws: AWSClients(client: client()), clock: clock) }
}

func conformanceClient(_ transport: HTTPTransport) -> AWSClient {
    let configuration = AWSConfiguration(region: "us-east-1", credentials: EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"]),
                                         endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, URL(string: "http://127.0.0.1:9")!) }))
    return AWSClient(configuration: configuration, transport: transport, retryPolicy: RetryPolicy(maxAttempts: 1), logger: Logger(label: "test"))
}

/// ALB: a listener's default action and a rule, moved together.
final class ALBWorld: TrafficWorld, @unchecked Sendable {
    let fake = FakeELB()
    init() {
        for arn in [listener80, apiRule] { fake.forwards[arn] = .init(weights: [(blueTG, 100), (greenTG, 0)], sticky: nil) }
    }
    var spec: DeploymentSpec {
        var s = Fixtures.spec()
        s.traffic = .init(primaryForward: listener80, pools: [blueTG, greenTG], listenerArns: [listener80], ruleArns: [apiRule])
        return s
    }
    func client() -> AWSClient { conformanceClient(fake) }
    func setByHand(green: Int) { fake.forwards[listener80] = .init(weights: [(blueTG, 100 - green), (greenTG, green)], sticky: nil) }
    var writes: Int { fake.actions.filter { $0.hasPrefix("Modify") }.count }
}

/// Route 53: two weighted records, each stack's target group behind its own load balancer (read at plan time).
final class Route53World: TrafficWorld, HTTPTransport, @unchecked Sendable {
    let records = FakeRoute53()
    let balancers = ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/1": "a.elb.amazonaws.com",
                     "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/b/2": "b.elb.amazonaws.com"]
    var spec: DeploymentSpec {
        var s = Fixtures.spec()
        s.traffic = .init(route53: .init(hostedZoneId: "Z1", recordName: "app.example.com", recordType: "CNAME", records: [
            .init(setIdentifier: "blue", target: "a.elb.amazonaws.com", targetGroup: blueTG),
            .init(setIdentifier: "green", target: "b.elb.amazonaws.com.", targetGroup: greenTG),
        ]))
        return s
    }
    func client() -> AWSClient { conformanceClient(self) }
    func setByHand(green: Int) { records.weights = ["blue": 100 - green, "green": green] }
    var writes: Int { records.batches.count }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let form = FakeELB.form(request.body)
        guard let action = form["Action"] else { return try await records.execute(request, timeout: timeout) }
        let lbs = balancers.keys.sorted()
        let inner: String
        switch action {
        case "DescribeTargetGroups":
            inner = "<TargetGroups>" + zip([blueTG, greenTG], lbs).map { "<member><TargetGroupArn>\($0)</TargetGroupArn><LoadBalancerArns><member>\($1)</member></LoadBalancerArns></member>" }.joined() + "</TargetGroups>"
        case "DescribeLoadBalancers":
            inner = "<LoadBalancers>" + lbs.map { "<member><LoadBalancerArn>\($0)</LoadBalancerArn><DNSName>\(balancers[$0]!)</DNSName></member>" }.joined() + "</LoadBalancers>"
        default:
            inner = ""
        }
        return HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(inner)</\(action)Result></\(action)Response>".utf8))
    }
}

/// The scale-out pattern: blue and green in one target group (or, `classic`, registered with one Classic Load Balancer).
/// Its split is instance counts, scaled to by the provider's effects (`SharedStep`, tested in SharedStepTests and the
/// e2e suite), so the tests of a weight write do not apply.
final class SharedWorld: TrafficWorld, HTTPTransport, @unchecked Sendable {
    var targets: [(id: String, state: String)] = [("i-blue-1", "healthy"), ("i-blue-2", "healthy")]
    let classic: Bool
    /// The Classic Load Balancer's tags, as AddTags/RemoveTags left them.
    var tags: [String: String] = [:]
    var forms: [[String: String]] = []
    init(classic: Bool = false) { self.classic = classic }
    var spec: DeploymentSpec {
        var s = Fixtures.spec()
        s.traffic = .init(shared: classic ? .init(classicLoadBalancer: "web-clb") : .init(targetGroup: blueTG))
        return s
    }
    func client() -> AWSClient { conformanceClient(self) }
    func setByHand(green: Int) {}
    var writes: Int { 0 }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let form = FakeELB.form(request.body)
        forms.append(form)
        let action = form["Action"] ?? ""
        var inner = ""
        switch (action, form["Version"]) {
        case ("DescribeTargetHealth", "2015-12-01"):
            inner = "<TargetHealthDescriptions>" + targets.map {
                "<member><Target><Id>\($0.id)</Id><Port>80</Port></Target><TargetHealth><State>\($0.state)</State></TargetHealth></member>"
            }.joined() + "</TargetHealthDescriptions>"
        case ("DescribeInstanceHealth", "2012-06-01") where form["LoadBalancerName"] == "web-clb":
            // The Classic words for the target-group states this world holds (AWS's Classic guide).
            inner = "<InstanceStates>" + targets.map { t in
                let (state, text) = t.state == "healthy" ? ("InService", "N/A") : t.state == "draining"
                    ? ("InService", "Instance deregistration currently in progress.") : ("OutOfService", "Instance has failed at least the UnhealthyThreshold number of health checks consecutively.")
                return "<member><InstanceId>\(t.id)</InstanceId><State>\(state)</State><ReasonCode>ELB</ReasonCode><Description>\(text)</Description></member>"
            }.joined() + "</InstanceStates>"
        case ("AddTags", "2012-06-01") where form["LoadBalancerNames.member.1"] == "web-clb":
            for i in 1... { guard let key = form["Tags.member.\(i).Key"] else { break }; tags[key] = form["Tags.member.\(i).Value"] ?? "" }
        case ("RemoveTags", "2012-06-01") where form["LoadBalancerNames.member.1"] == "web-clb":
            for i in 1... { guard let key = form["Tags.member.\(i).Key"] else { break }; tags[key] = nil }
        case ("DescribeTags", "2012-06-01") where form["LoadBalancerNames.member.1"] == "web-clb":
            inner = "<TagDescriptions><member><LoadBalancerName>web-clb</LoadBalancerName><Tags>"
                + tags.map { "<member><Key>\($0.key)</Key><Value>\($0.value)</Value></member>" }.joined() + "</Tags></member></TagDescriptions>"
        case ("DescribeTags", _):
            inner = "<TagDescriptions>" + [blueTG].map { "<member><ResourceArn>\($0)</ResourceArn><Tags/></member>" }.joined() + "</TagDescriptions>"
        default:
            return HTTPResponse(status: 400, headers: [:], body: Data("<ErrorResponse><Error><Code>InvalidAction</Code><Message>\(action) \(form["Version"] ?? "")</Message></Error></ErrorResponse>".utf8))
        }
        return HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(inner)</\(action)Result></\(action)Response>".utf8))
    }
}

/// The backends the suite runs on: every kind registered.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case alb, route53, shared

    /// The backends whose split is a weight written to forwards.
    static let forwards: [Backend] = allCases.filter { !$0.world().spec.traffic.traits.splitByCounts }

    var testDescription: String { rawValue }

    func world() -> any TrafficWorld {
        switch self {
        case .alb: return ALBWorld()
        case .route53: return Route53World()
        case .shared: return SharedWorld()
        }
    }
}

/// The contract of `TrafficRouter`: what every backend must do, whatever carries its split.
@Suite struct TrafficConformanceTests {
    let start = Fixtures.start

    @Test func everyRegisteredBackendIsInTheSuite() {
        AWSTrafficBackends.register()
        #expect(Set(AWSTrafficBackends.registered.keys) == Set(Backend.allCases.map(\.rawValue).map(TrafficBackendKind.init(rawValue:))))
        #expect(Set(AWSTrafficBackends.backends.map(\.kind)) == Set(AWSTrafficBackends.registered.keys), "every kind the core is told of has a router")
        #expect(Set(AWSTrafficBackends.backends.map(\.kind)).isSubset(of: TrafficBackends.all.map(\.kind)), "and is registered with the core")
    }

    @Test(arguments: Backend.allCases)
    func theRegistryChoosesTheBackendTheFileNamedAndItsTraitsSayWhichItIs(_ backend: Backend) {
        let world = backend.world()
        let router = world.router(TestClock(start))
        #expect(router.traits.kind == world.spec.traffic.kind)
        #expect(router.traits == world.spec.traffic.traits, "the core and the router read the same traits")
        #expect(world.spec.traffic.kind.rawValue == backend.rawValue)
    }

    @Test(arguments: Backend.forwards)
    func theLiveSplitReadsAsBlueWhole(_ backend: Backend) async throws {
        let world = backend.world()
        let weights = try await world.router(TestClock(start)).currentWeights()
        #expect(weights.agreed)
        #expect(weights.live == [world.blue])
        #expect(weights.percent[world.blue] == 100 && (weights.percent[world.green] ?? 0) == 0)
    }

    @Test(arguments: Backend.allCases)
    func discoveryFindsTheSplitAndTheSettleIsTheLongerOfTheFilesAndTheCache(_ backend: Backend) async throws {
        let world = backend.world()
        let router = world.router(TestClock(start))
        var spec = world.spec
        let found = try await router.discover(spec)
        #expect(found.weights.live == [world.blue])
        #expect(found.weights == (try await router.currentWeights()), "discovery reads the split the router reads")
        // Without traffic.settle: the time clients cache an answer, or the default where they cache none.
        let expected = found.cacheSeconds.map { TimeSpan.seconds(Int64($0)) } ?? DeploymentSpec.Traffic.defaultSettle
        #expect(router.settle(spec, cacheSeconds: found.cacheSeconds) == expected)
        spec.traffic.settle = .seconds(45)
        #expect(router.settle(spec, cacheSeconds: found.cacheSeconds) == .seconds(45), "a longer traffic.settle wins")
        spec.traffic.settle = .seconds(1)
        #expect(router.settle(spec, cacheSeconds: found.cacheSeconds) == max(.seconds(1), .seconds(Int64(found.cacheSeconds ?? 0))),
                "no settle is shorter than the time clients cache an answer")
    }

    @Test(arguments: Backend.forwards)
    func aStepIsWrittenConfirmedFromItsAnswerAndReadsBack(_ backend: Backend) async throws {
        let world = backend.world()
        let clock = TestClock(start)
        let router = world.router(clock)
        let written = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 10)
        #expect(written.agreed)
        #expect(written.forwards.allSatisfy { $0.percent[world.green] == 10 && $0.percent[world.blue] == 90 })
        #expect(try await router.currentWeights().percent == [world.blue: 90, world.green: 10])
        let before = clock.now()
        try await router.confirm(green: 10, greenPool: world.green, clock: clock)
        #expect(clock.now() == before, "a split already there is confirmed by one read")
    }

    @Test(arguments: Backend.forwards)
    func aStepThereAlreadyByReadAndRecordIsNotWrittenAgainButARollbackAlwaysIs(_ backend: Backend) async throws {
        let world = backend.world()
        let router = world.router(TestClock(start))
        _ = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 10)
        let afterStep = world.writes
        #expect(afterStep > 0)
        _ = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 10, write: .unlessThereAlready(recordedGreen: 10))
        #expect(world.writes == afterStep, "a retried step whose write landed sends nothing")
        _ = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 0, stickiness: .offWhereGreenLeaves, known: nil)
        let afterRollback = world.writes
        #expect(afterRollback > afterStep)
        _ = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 0, stickiness: .offWhereGreenLeaves, known: nil)
        #expect(world.writes > afterRollback, "a rollback writes even where the read says blue has it all (the read may be stale)")
        #expect(try await router.currentWeights().percent[world.green] == 0)
    }

    @Test(arguments: Backend.forwards)
    func aChangeByHandIsWhatTheNextReadShows(_ backend: Backend) async throws {
        let world = backend.world()
        let router = world.router(TestClock(start))
        world.setByHand(green: 30)
        let read = try await router.currentWeights()
        #expect(read.percent[world.green] == 30)
        #expect(read.forwards.contains { ReadConsistency.isHandChange($0.percent, expected: [world.blue: 100], blue: world.blue, green: world.green, target: 10, previous: nil) })
    }

    @Test(arguments: Backend.forwards)
    func aConfirmationShortOfTheSplitFailsOnceTheReadBackLimitHasPassed(_ backend: Backend) async throws {
        let world = backend.world()
        let clock = TestClock(start)
        let router = world.router(clock)
        var retries = 0
        await #expect(throws: TrafficError.self) {
            try await router.confirm(green: 100, greenPool: world.green, clock: clock) { _, _, _ in retries += 1 }
        }
        #expect(retries > 1, "read again with backoff, as a read may be stale")
        #expect(clock.now().timeIntervalSince(start) <= ReadConsistency.readBackLimit + 0.001)
    }

    @Test(arguments: Backend.forwards)
    func aGroupCarriesTrafficWhileAnyForwardSendsItSome(_ backend: Backend) async throws {
        let world = backend.world()
        let router = world.router(TestClock(start))
        _ = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 10)
        #expect(try await router.carried([world.green], spec: world.spec)[world.green] == 10)
        _ = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 0, stickiness: .offWhereGreenLeaves, known: nil)
        #expect(try await router.carried([world.green], spec: world.spec)[world.green] == 0)
    }

    /// A split by counts: the target group reads as one forward carrying all its traffic while an instance serves there,
    /// and a weight write is refused rather than taken for a step.
    @Test func aSplitByCountsReadsItsTargetGroupWholeAndRefusesAWeightWrite() async throws {
        let world = SharedWorld()
        let router = world.router(TestClock(start))
        #expect(router.traits.splitByCounts && !Backend.forwards.contains(.shared))
        #expect(try await router.currentWeights().percent == [world.blue: 100])
        #expect(try await router.carried([world.blue], spec: world.spec) == [world.blue: 100])
        await #expect(throws: TrafficCapabilityError.self) {
            _ = try await router.setWeights(bluePool: world.blue, greenPool: world.green, green: 10)
        }
        world.targets = [("i-blue-1", "draining")]
        #expect(try await router.currentWeights().live.isEmpty, "no healthy instance: nothing serves")
    }

    /// The same reading when blue and green share a Classic Load Balancer: its instance health (InService, or InService
    /// while deregistration drains it) read in the target group's words, by the Classic API, under the pool id.
    @Test func aSharedClassicLoadBalancerReadsAsItsPoolAndDrainingIsNotServing() async throws {
        let world = SharedWorld(classic: true)
        let router = world.router(TestClock(start))
        #expect(router.traits.splitByCounts && world.blue == "loadbalancer/web-clb" && world.green == world.blue)
        #expect(try await router.currentWeights().percent == [world.blue: 100])
        #expect(try await router.carried([world.blue], spec: world.spec) == [world.blue: 100])
        world.targets = [("i-blue-1", "draining"), ("i-blue-2", "unhealthy")]
        #expect(try await router.currentWeights().live.isEmpty, "draining and out of service: nothing serves")
        #expect(world.forms.allSatisfy { $0["Action"] == "DescribeInstanceHealth" && $0["Version"] == "2012-06-01" })
        #expect(router.description.contains("Classic Load Balancer web-clb"))
    }

    /// The fence's claim on a Classic Load Balancer is a tag on it by name (the Classic API's AddTags), read back the
    /// same way, and released.
    @Test func theFenceClaimsASharedClassicLoadBalancerByItsName() async throws {
        let world = SharedWorld(classic: true)
        let guardian = ListenerGuard(aws: AWSClients(client: world.client()), spec: world.spec, settle: 0.5)
        #expect(guardian.resourceArns == ["loadbalancer/web-clb"])
        try await guardian.claim(for: "d-1", mayReplace: { _ in false })
        #expect(world.tags[ListenerGuard.key(for: "d-1")] == "d-1")
        #expect(try await guardian.owners() == ["d-1"])
        try await guardian.release(for: "d-1")
        #expect(world.tags.isEmpty)
        #expect(world.forms.allSatisfy { $0["Version"] == "2012-06-01" && $0["LoadBalancerNames.member.1"] == "web-clb" && $0["ResourceArns.member.1"] == nil })
    }

    @Test(arguments: Backend.allCases)
    func theFenceTagsELBResourcesAndATestRouteIsOfferedExactlyWhereTheTraitsDeclareOne(_ backend: Backend) {
        let world = backend.world()
        let router = world.router(TestClock(start))
        #expect(!router.fenceResources.isEmpty && router.fenceResources.count <= 20)
        #expect(router.fenceResources.allSatisfy { $0.hasPrefix("arn:aws:elasticloadbalancing:") }, "the fence is an ELB tag")
        #expect(ListenerGuard(aws: AWSClients(client: world.client()), spec: world.spec).resourceArns == router.fenceResources)
        #expect((router.testRoute(world.spec) != nil) == router.traits.hasTestRoute)
        #expect(router.traits.hasTestRoute || router.traits.testRouteRefusal != nil, "a backend without one says why")
    }
}
