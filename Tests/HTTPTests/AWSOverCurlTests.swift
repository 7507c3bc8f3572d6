import AWS
import Foundation
import HTTP
import Logging
import SigV4
import Testing

/// The release hang of issue 8: a proxy closed every 4th connection without an answer, and the next request reached
/// AWS with an empty body.
@Suite struct AWSOverCurlTests {
    /// A clock that moves one second per reading, so every signature has its own date.
    final class TickingClock: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds: TimeInterval = 1_800_000_000
        func now() -> Date { lock.withLock { seconds += 1; return Date(timeIntervalSince1970: seconds) } }
    }

    func client(_ server: LocalServer, clock: TickingClock) -> AWSClient {
        let configuration = AWSConfiguration(
            region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "AKIDTEST", secretAccessKey: "secret"),
            endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, server.url("/")) }))
        return AWSClient(configuration: configuration, transport: CurlTransport(environment: [:]), retryPolicy: RetryPolicy(random: { 0 }),
                         logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), sleep: { _ in }, now: { clock.now() })
    }

    @Test func aConnectionClosedWithoutAnAnswerIsRetriedWithTheWholeBodySignedAfresh() async throws {
        let server = try LocalServer(name: "<Response/>")
        defer { server.stop() }
        server.drop = { $0 == 1 }
        let aws = client(server, clock: TickingClock())
        _ = try await aws.call(.ec2, action: "DescribeImages", parameters: ["ImageId.1": "ami-12345678", "Owner.1": "self"])
        let requests = server.requests
        try #require(requests.count == 2)
        let (first, second) = (requests[0], requests[1])
        #expect(first.connection == 1 && second.connection == 2)
        #expect(!second.body.isEmpty && second.body == first.body)
        #expect(second.headers["content-length"] == "\(second.body.count)")
        #expect(String(decoding: second.body, as: UTF8.self).contains("ImageId.1=ami-12345678"))
        // Signed afresh: the retry carries a later date of its own (the clock ticks at every reading).
        let (firstDate, secondDate) = (first.headers["x-amz-date"] ?? "", second.headers["x-amz-date"] ?? "")
        #expect(firstDate.hasPrefix("20270115T0800") && secondDate > firstDate)
        #expect(first.headers["authorization"] != second.headers["authorization"])
    }

    @Test func everyFourthRequestDroppedNeverHangsNorEmptiesABody() async throws {
        let server = try LocalServer(name: "<Response/>")
        defer { server.stop() }
        server.drop = { $0 % 4 == 0 }
        let aws = client(server, clock: TickingClock())
        for index in 0..<12 {
            _ = try await aws.call(.autoScaling, action: "DescribeAutoScalingGroups", parameters: ["AutoScalingGroupNames.member.1": "g\(index)"])
        }
        let requests = server.requests
        #expect(requests.count >= 15, "three requests or more were dropped")
        #expect(requests.allSatisfy { !$0.body.isEmpty && $0.headers["content-length"] == "\($0.body.count)" })
        #expect(Set(requests.map(\.connection)).count == requests.count / 4 + 1, "one new connection after each drop")
    }
}
