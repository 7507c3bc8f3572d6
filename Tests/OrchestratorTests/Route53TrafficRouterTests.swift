import AWS
import Foundation
import Logging
@testable import AWSProvider
@testable import Orchestrator
import SwitchyardCore
import Testing

/// A Route 53 zone in memory, answering REST-XML as AWS does: weighted records, change batches applied whole, each
/// change `PENDING` for `pendingReads` GetChange calls.
final class FakeRoute53: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    var weights: [String: Int] = ["blue": 100, "green": 0]
    var ttl = 30
    var targets = ["blue": "a.elb.amazonaws.com", "green": "b.elb.amazonaws.com"]
    var pendingReads = 2
    private(set) var calls: [String] = []
    private(set) var batches: [XMLNode] = []
    private var pending = 0

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        lock.withLock {
            let path = request.url.path
            if request.method == "POST", request.url.absoluteString.hasSuffix("/rrset/") {
                calls.append("ChangeResourceRecordSets")
                guard let doc = XMLNode.parse(request.body) else { return HTTPResponse(status: 400, body: Data()) }
                batches.append(doc)
                for change in doc.all("ChangeBatch/Changes/Change") {
                    guard let set = change.child("ResourceRecordSet"), let id = set.value("SetIdentifier"), let weight = set.int("Weight") else { continue }
                    weights[id] = weight
                    ttl = set.int("TTL") ?? ttl
                }
                pending = pendingReads
                return answer("ChangeResourceRecordSets", "<ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status></ChangeInfo>")
            }
            if path.contains("/change/") {
                calls.append("GetChange")
                pending -= 1
                return answer("GetChange", "<ChangeInfo><Id>C1</Id><Status>\(pending > 0 ? "PENDING" : "INSYNC")</Status></ChangeInfo>")
            }
            calls.append("ListResourceRecordSets")
            let sets = weights.keys.sorted().map { id in
                "<ResourceRecordSet><Name>app.example.com.</Name><Type>CNAME</Type><SetIdentifier>\(id)</SetIdentifier><Weight>\(weights[id] ?? 0)</Weight>"
                    + "<TTL>\(ttl)</TTL><ResourceRecords><ResourceRecord><Value>\(targets[id] ?? "")</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"
            }.joined()
            return answer("ListResourceRecordSets", "<ResourceRecordSets>\(sets)</ResourceRecordSets><IsTruncated>false</IsTruncated>")
        }
    }

    private func answer(_ action: String, _ inner: String) -> HTTPResponse {
        HTTPResponse(status: 200, body: Data("<\(action)Response xmlns=\"\(Route53.namespace)\">\(inner)</\(action)Response>".utf8))
    }

    func router(clock: TestClock) -> Route53TrafficRouter {
        let configuration = AWSConfiguration(region: "eu-west-1", credentials: EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"]),
                                             endpoints: [.route53: URL(string: "http://127.0.0.1:9")!])
        let client = AWSClient(configuration: configuration, transport: self, retryPolicy: RetryPolicy(maxAttempts: 1), logger: Logger(label: "test"))
        let records = DeploymentSpec.Route53Traffic(hostedZoneId: "Z1", recordName: "app.example.com", recordType: "CNAME", records: [
            .init(setIdentifier: "blue", target: "a.elb.amazonaws.com", targetGroup: blueTG),
            .init(setIdentifier: "green", target: "b.elb.amazonaws.com.", targetGroup: greenTG),
        ])
        return Route53TrafficRouter(route53: Route53(client: client), records: records, clock: clock)
    }
}

@Suite struct Route53TrafficRouterTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func greensPercentIsItsRecordsWeightWrittenInOneBatchWaitedOnAndReadBack() async throws {
        let fake = FakeRoute53()
        let clock = TestClock(start)
        let router = fake.router(clock: clock)
        #expect(router.resources == ["hostedzone/Z1 app.example.com. CNAME blue", "hostedzone/Z1 app.example.com. CNAME green"])
        #expect(router.description == "Route 53 records app.example.com CNAME (blue, green) in hosted zone Z1")
        #expect(try await router.currentWeights().percent == [blueTG: 100, greenTG: 0])
        let written = try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 10)
        #expect(written.percent == [blueTG: 90, greenTG: 10])
        #expect(fake.weights == ["blue": 90, "green": 10])
        #expect(fake.calls == ["ListResourceRecordSets", "ListResourceRecordSets", "ChangeResourceRecordSets", "GetChange", "GetChange",
                               "ListResourceRecordSets"])
        // Both records in the one batch, each an UPSERT carrying its TTL and value as they were.
        let changes = try #require(fake.batches.first).all("ChangeBatch/Changes/Change")
        #expect(changes.map { $0.value("Action") } == ["UPSERT", "UPSERT"])
        #expect(changes.compactMap { $0.value("ResourceRecordSet/TTL") } == ["30", "30"])
        #expect(changes.compactMap { $0.value("ResourceRecordSet/ResourceRecords/ResourceRecord/Value") } == ["a.elb.amazonaws.com", "b.elb.amazonaws.com"])
        // Polled with the injected clock: one interval per PENDING answer, no real sleep.
        #expect(clock.now() == start.addingTimeInterval(4))
    }

    @Test func theRolesFollowTheTargetGroupsNotTheSetIdentifiers() async throws {
        let fake = FakeRoute53()
        fake.weights = ["blue": 0, "green": 100]
        let router = fake.router(clock: TestClock(start))
        // The "green" record's stack is live: this release's green is the "blue" record's stack.
        _ = try await router.setWeights(bluePool: greenTG, greenPool: blueTG, green: 50)
        #expect(fake.weights == ["blue": 50, "green": 50])
        _ = try await router.setWeights(bluePool: greenTG, greenPool: blueTG, green: 0, stickiness: .offWhereGreenLeaves, known: nil)
        #expect(fake.weights == ["blue": 0, "green": 100], "never 0/0: the rollback gives blue the whole weight")
        #expect(fake.batches.count == 2, "each write is one batch")
    }

    @Test func aWriteAlreadyInPlaceByTheReadAndTheRecordSendsNothingButARollbackWritesAnyway() async throws {
        let fake = FakeRoute53()
        _ = try await fake.router(clock: TestClock(start)).setWeights(bluePool: blueTG, greenPool: greenTG, green: 0,
                                                                     write: .unlessThereAlready(recordedGreen: 0))
        #expect(fake.batches.isEmpty)
        _ = try await fake.router(clock: TestClock(start)).setWeights(bluePool: blueTG, greenPool: greenTG, green: 0,
                                                                     write: .unlessThereAlready(recordedGreen: 10))
        #expect(fake.batches.count == 1, "the record says green had 10 %: the read may be stale")
        _ = try await fake.router(clock: TestClock(start)).setWeights(bluePool: blueTG, greenPool: greenTG, green: 0)
        #expect(fake.batches.count == 2, "a rollback always writes")
    }

    @Test func aChangeThatStaysPendingFailsNamingTheChange() async throws {
        let fake = FakeRoute53()
        fake.pendingReads = 10_000
        var router = fake.router(clock: TestClock(start))
        router.changeTimeout = 30
        let error = try await #require(throws: Route53TrafficError.self) {
            try await router.setWeights(bluePool: blueTG, greenPool: greenTG, green: 10)
        }
        #expect(error.description.contains("Route 53 change C1 is still PENDING after 30 s"))
        #expect(fake.calls.filter { $0 == "GetChange" }.count == 15)
    }

    @Test func aRecordPointingElsewhereOrMissingIsRefused() async throws {
        let fake = FakeRoute53()
        fake.targets["green"] = "c.elb.amazonaws.com"
        let router = fake.router(clock: TestClock(start))
        let mismatch = try await #require(throws: Route53TrafficError.self) { _ = try await router.read() }
        #expect(mismatch.description.contains("the record \"green\" points at c.elb.amazonaws.com, but traffic.route53.records says b.elb.amazonaws.com."))
        fake.weights = ["blue": 100]
        let missing = try await #require(throws: Route53TrafficError.self) { _ = try await router.read() }
        #expect(missing.description.contains("no record with set identifier \"green\" (found: blue)"))
    }

    @Test func theTTLIsTheLongestOfTheTwoAndSixtyForAliases() async throws {
        let fake = FakeRoute53()
        fake.ttl = 5
        let router = fake.router(clock: TestClock(start))
        #expect(router.ttl(of: try await router.read()) == 5)
        let alias = ResourceRecordSet(name: "app.example.com.", type: "A", setIdentifier: "blue", weight: 1,
                                      aliasTarget: Route53AliasTarget(hostedZoneId: "Z32O12XQLNTSW2", dnsName: "a.elb.amazonaws.com"))
        #expect(router.ttl(of: [alias]) == 60)
    }
}
