@testable import AWS
import Foundation
import Logging
import SigV4
import Testing

/// Route 53's REST-XML: request documents and paths, answers and errors from fixtures (moto's answers, edited where
/// AWS answers differently: a fresh change is PENDING, a truncated page of weighted records names the next identifier;
/// InvalidChangeBatch is AWS's own documented shape, which moto does not produce), and signing for the global service.
@Suite struct Route53Tests {
    static let blue = ResourceRecordSet(name: "app.example.com.", type: "CNAME", setIdentifier: "blue", weight: 90, ttl: 60,
                                        values: ["blue-lb.eu-west-1.elb.amazonaws.com"])
    static let green = ResourceRecordSet(name: "app.example.com.", type: "CNAME", setIdentifier: "green", weight: 10, ttl: 60,
                                         values: ["green-lb.eu-west-1.elb.amazonaws.com"])

    static func client(_ transport: FakeTransport, region: String = "eu-west-1", endpoints: [AWSService: URL]? = nil,
                       sleeps: SleepRecorder = SleepRecorder(), now: Date = Date(timeIntervalSince1970: 1_800_000_000)) -> AWSClient {
        let configuration = AWSConfiguration(
            region: region, credentials: SigV4Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            endpoints: endpoints ?? [.route53: URL(string: "http://127.0.0.1:4566")!])
        return AWSClient(configuration: configuration, transport: transport, retryPolicy: RetryPolicy(random: { 0.5 }),
                         logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                         sleep: { try await sleeps.sleep($0) }, now: { now })
    }

    @Test func changeBatchIsOneDocumentWithBothUpsertsInOrder() throws {
        let alias = ResourceRecordSet(name: "www.example.com.", type: "A", setIdentifier: "a&b", weight: 0, ttl: 60,
                                      aliasTarget: Route53AliasTarget(hostedZoneId: "Z32O12XQLNTSW2", dnsName: "lb-1.eu-west-1.elb.amazonaws.com"),
                                      healthCheckId: "hc-1")
        let xml = Route53.changeBatchXML(upserts: [Self.blue, alias], comment: "switchyard: green <10>%")
        let expected = #"<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">"#
            + "<ChangeBatch><Comment>switchyard: green &lt;10&gt;%</Comment><Changes>"
            + "<Change><Action>UPSERT</Action><ResourceRecordSet><Name>app.example.com.</Name><Type>CNAME</Type><SetIdentifier>blue</SetIdentifier>"
            + "<Weight>90</Weight><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>blue-lb.eu-west-1.elb.amazonaws.com</Value></ResourceRecord>"
            + "</ResourceRecords></ResourceRecordSet></Change>"
            // An alias record has no TTL and no values: Route 53 refuses either beside an AliasTarget.
            + "<Change><Action>UPSERT</Action><ResourceRecordSet><Name>www.example.com.</Name><Type>A</Type><SetIdentifier>a&amp;b</SetIdentifier>"
            + "<Weight>0</Weight><AliasTarget><HostedZoneId>Z32O12XQLNTSW2</HostedZoneId><DNSName>lb-1.eu-west-1.elb.amazonaws.com</DNSName>"
            + "<EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget><HealthCheckId>hc-1</HealthCheckId></ResourceRecordSet></Change>"
            + "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"
        #expect(xml == expected)
        // Well-formed, and it reads back as the records written.
        let parsed = try #require(XMLNode.parse(Data(xml.utf8)))
        let sets = parsed.all("ChangeBatch/Changes/Change").compactMap { $0.child("ResourceRecordSet") }.map(ResourceRecordSet.decode)
        #expect(sets == [Self.blue, ResourceRecordSet(name: "www.example.com.", type: "A", setIdentifier: "a&b", weight: 0, ttl: nil,
                                                       aliasTarget: alias.aliasTarget, healthCheckId: "hc-1")])
    }

    @Test func upsertPostsToTheZonesRrsetPathWithoutAFormContentType() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "route53-ChangeResourceRecordSets.xml")
        let info = try await Route53(client: Self.client(transport)).upsert(hostedZoneId: "/hostedzone/Z0123ABC", records: [Self.blue, Self.green])
        #expect(info == Route53ChangeInfo(id: "C2682N5HXP0BZ4", status: "PENDING"))
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "http://127.0.0.1:4566/2013-04-01/hostedzone/Z0123ABC/rrset/")
        #expect(request.headers.keys.contains { $0.lowercased() == "content-type" } == false)
        #expect(String(decoding: request.body, as: UTF8.self) == Route53.changeBatchXML(upserts: [Self.blue, Self.green], comment: nil))
    }

    @Test func getChangeDecodesTheBareIdAndStatus() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "route53-GetChange.xml")
        let info = try await Route53(client: Self.client(transport)).getChange(id: "/change/C2682N5HXP0BZ4")
        #expect(info.isInSync && info.id == "C2682N5HXP0BZ4")
        #expect(transport.requests.first?.method == "GET")
        #expect(transport.requests.first?.url.path == "/2013-04-01/change/C2682N5HXP0BZ4")
    }

    @Test func recordSetsFollowTheNextRecordAndKeepOnlyTheNameAndType() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "route53-ListResourceRecordSets-truncated.xml")
        transport.enqueue(status: 200, fixture: "route53-ListResourceRecordSets.xml")
        let sets = try await Route53(client: Self.client(transport)).recordSets(hostedZoneId: "Z1", name: "App.Example.com", type: "CNAME")
        #expect(sets == [Self.blue, Self.green])
        #expect(transport.requests.map { $0.url.query ?? "" } == ["name=app.example.com.&type=CNAME",
                                                                 "name=app.example.com.&type=CNAME&identifier=green"])
        #expect(transport.requests.allSatisfy { $0.url.path == "/2013-04-01/hostedzone/Z1/rrset" })
    }

    @Test func aliasRecordsDecodeWithoutATTL() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "route53-ListResourceRecordSets.xml")
        let sets = try await Route53(client: Self.client(transport)).recordSets(hostedZoneId: "Z1", name: "www.example.com.", type: "A")
        #expect(sets.count == 1)
        #expect(sets.first?.ttl == nil)
        #expect(sets.first?.target == "blue-lb-1.eu-west-1.elb.amazonaws.com")
        #expect(sets.first?.aliasTarget?.hostedZoneId == "Z32O12XQLNTSW2")
    }

    @Test func noSuchHostedZoneNamesTheCodeAndIsNotRetried() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 404, fixture: "route53-ChangeResourceRecordSets-error-404.xml")
        let error = try await #require(throws: AWSError.self) {
            _ = try await Route53(client: Self.client(transport)).upsert(hostedZoneId: "ZNOPE", records: [Self.blue])
        }
        #expect(error.code.rawValue == "NoSuchHostedZone")
        #expect(error.message == "No hosted zone found with ID: ZNOPE")
        #expect(error.requestId == "4vOgk2pRDua9RkZ8vk9OXGcxipl8Yf98ZibbHqbfVFAPUwoe6uVK")
        #expect(transport.requests.count == 1)
        #expect(error.description.hasPrefix("route53 ChangeResourceRecordSets failed with NoSuchHostedZone (HTTP 404"))
    }

    @Test func invalidChangeBatchKeepsEveryMessage() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 400, fixture: "route53-ChangeResourceRecordSets-InvalidChangeBatch-400.xml")
        let error = try await #require(throws: AWSError.self) {
            _ = try await Route53(client: Self.client(transport)).upsert(hostedZoneId: "Z1", records: [Self.blue, Self.green])
        }
        #expect(error.code.rawValue == "InvalidChangeBatch")
        #expect(error.isAWSErrorBody)
        #expect(error.message.contains("it was not found; RRSet with DNS name app.example.com."))
        #expect(error.requestId == "b25f48e8-84fd-11e6-80d9-574e0c4664cb")
        #expect(transport.requests.count == 1)
    }

    @Test(arguments: ["route53-error-PriorRequestNotComplete-400.xml", "route53-error-Throttling-400.xml"])
    func priorRequestNotCompleteAndThrottlingAreRetried(fixture: String) async throws {
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        transport.enqueue(status: 400, fixture: fixture)
        transport.enqueue(status: 200, fixture: "route53-ChangeResourceRecordSets.xml")
        let info = try await Route53(client: Self.client(transport, sleeps: sleeps)).upsert(hostedZoneId: "Z1", records: [Self.blue, Self.green])
        #expect(info.id == "C2682N5HXP0BZ4")
        #expect(transport.requests.count == 2)
        // The backoff, then the wait for the client-side bucket both codes engage (botocore counts them as throttling).
        #expect(sleeps.delays.count == 2)
        // The same document both times: a retry sends the batch again whole.
        #expect(transport.requests[0].body == transport.requests[1].body)
    }

    @Test func theGlobalServiceIsSignedForUsEast1WhateverTheRegion() async throws {
        // Signature computed by botocore's SigV4Auth("route53", "us-east-1") for the same request, keys and time.
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "route53-GetChange.xml")
        let client = Self.client(transport, region: "eu-west-1", endpoints: [:], now: Date(timeIntervalSince1970: 1_795_787_152))
        #expect(client.configuration.endpoint(for: .route53).absoluteString == "https://route53.amazonaws.com")
        _ = try await Route53(client: client).getChange(id: "C2682N5HXP0BZ4")
        let request = try #require(transport.requests.first)
        #expect(request.url.absoluteString == "https://route53.amazonaws.com/2013-04-01/change/C2682N5HXP0BZ4")
        #expect(request.headers["Authorization"] == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/route53/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=df4a798cd5e4d40460168841e20f1feea04301d44f918395a2269e0894094d99")
        #expect(request.headers["X-Amz-Date"] == "20261127T134552Z")
    }

    @Test func aPostBodyIsSignedByItsHash() async throws {
        let body = #"<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">"#
            + "<ChangeBatch><Changes></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"
        let client = Self.client(FakeTransport(), region: "ap-southeast-2", endpoints: [:], now: Date(timeIntervalSince1970: 1_795_787_152))
        let request = client.restRequest(.route53, method: "POST", path: "/2013-04-01/hostedzone/Z123/rrset/", query: [], body: Data(body.utf8),
                                         keys: SigV4Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
        #expect(request.headers["Authorization"]?.hasSuffix("Signature=56677743a874ffda9ff9d7915c0482caa38bb27008f2effca191ce68ebdbf3dc") == true)
    }

    @Test func theEndpointVariableIsBotocoresRoute53One() throws {
        let endpoints = try AWSConfiguration.endpoints(["AWS_ENDPOINT_URL_ROUTE_53": "http://127.0.0.1:7053"])
        #expect(endpoints == [.route53: URL(string: "http://127.0.0.1:7053")!])
        let china = AWSConfiguration(region: "cn-north-1", credentials: SigV4Credentials(accessKeyId: "a", secretAccessKey: "b"), endpoints: [:])
        #expect(china.endpoint(for: .route53).absoluteString == "https://route53.amazonaws.com.cn")
        #expect(china.signingRegion(for: .route53) == "cn-northwest-1")
        #expect(china.signingRegion(for: .ec2) == "cn-north-1")
    }

    @Test(arguments: [("/hostedzone/Z123", "Z123"), ("Z123", "Z123"), ("/change/C9", "C9"), (" Z1 ", "Z1")])
    func idsAreNormalised(given: String, bare: String) {
        #expect(Route53.bareId(given) == bare)
    }
}
