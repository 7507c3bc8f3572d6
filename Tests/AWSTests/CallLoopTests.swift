@testable import AWS
import Foundation
import Logging
import SigV4
import Testing

/// A clock for a client under test: sleeping moves it on, so deadlines and busy limits play out without waiting.
final class TestTime: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    private(set) var sleeps: [TimeInterval] = []

    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
    func sleep(_ seconds: TimeInterval) {
        lock.withLock {
            sleeps.append(seconds)
            current += seconds
        }
    }
}

/// Lines the client said.
final class Notices: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    var lines: [String] { lock.withLock { _lines } }
    func say(_ line: String) { lock.withLock { _lines.append(line) } }
}

/// A transport that answers from a queue, moving the test clock on by each answer's delay (a timeout takes its time).
final class TimedTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [(Result<HTTPResponse, Error>, TimeInterval)] = []
    private(set) var requests: [HTTPRequest] = []
    private(set) var timeouts: [TimeInterval] = []
    let time: TestTime

    init(time: TestTime) { self.time = time }

    func enqueue(_ result: Result<HTTPResponse, Error>, taking seconds: TimeInterval = 0, times: Int = 1) {
        lock.withLock { for _ in 0..<times { queue.append((result, seconds)) } }
    }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let next: (Result<HTTPResponse, Error>, TimeInterval)? = lock.withLock {
            requests.append(request)
            timeouts.append(timeout)
            return queue.isEmpty ? nil : queue.removeFirst()
        }
        guard let (result, seconds) = next else {
            let action = FakeTransport.form(request.body)["Action"] ?? ""
            return HTTPResponse(status: 200, body: Data("<\(action)Response><\(action)Result/></\(action)Response>".utf8))
        }
        // A timeout takes the attempt's own timeout, as curl's does.
        if case .failure(TransportError.timedOut) = result {
            time.advance(timeout)
            throw TransportError.timedOut(after: timeout)
        }
        time.advance(seconds)
        return try result.get()
    }
}

func timedClient(_ transport: TimedTransport, retry: RetryPolicy = RetryPolicy(random: { 0.5 }), notices: Notices = Notices(),
                 clock: ClockOffset = ClockOffset()) -> AWSClient {
    let configuration = AWSConfiguration(
        region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "AKIDTEST", secretAccessKey: "secret"),
        endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, URL(string: "https://aws.example:8443/base")!) }))
    let time = transport.time
    var client = AWSClient(configuration: configuration, transport: transport, retryPolicy: retry,
                           logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                           sleep: { time.sleep($0) }, now: { time.now })
    client.notice = { notices.say($0) }
    client.clock = clock
    return client
}

func queryError(_ code: String, status: Int = 400, message: String = "m", headers: [String: String] = [:]) -> HTTPResponse {
    HTTPResponse(status: status, headers: headers, body: Data(
        "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error><RequestId>r</RequestId></ErrorResponse>".utf8))
}

@Suite struct CallDeadlineTests {
    @Test func everyWaitNamesTheServiceActionEndpointAndTry() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        transport.enqueue(.failure(TransportError.timedOut(after: 20)))
        transport.enqueue(.failure(TransportError.connectionFailed("connection refused (curl: Failed to connect)")))
        let notices = Notices()
        _ = try await timedClient(transport, notices: notices).call(.elasticLoadBalancing, action: "DescribeListeners")
        #expect(notices.lines == [
            "elasticloadbalancing DescribeListeners at https://aws.example:8443: no answer in 20 s, try 2 of 5 in 0.1 s",
            "elasticloadbalancing DescribeListeners at https://aws.example:8443: connection refused (curl: Failed to connect), try 3 of 5 in 0.1 s",
        ])
    }

    @Test func theCallGivesUpAtItsDeadlineAndSaysSo() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        transport.enqueue(.failure(TransportError.timedOut(after: 20)), times: 10)
        var client = timedClient(transport)
        // 20 s, 0.05 s backoff, 20 s, 0.1 s backoff: 5 s are left for the third try.
        client.deadline = 45.15
        do {
            _ = try await client.call(.autoScaling, action: "DescribeAutoScalingGroups")
            Issue.record("no error")
        } catch let error as AWSUnreachable {
            #expect(error.tries == 3)
            #expect(error.deadline == 45.15)
            #expect(error.description.hasPrefix("autoscaling DescribeAutoScalingGroups at https://aws.example:8443: no answer in 5 s on try 3 of 5; "))
            #expect(error.description.hasSuffix("gave up after 45 s: the call's deadline (SWITCHYARD_AWS_DEADLINE) is 45 s"))
        }
        // Each attempt waits at most what is left of the deadline.
        #expect(transport.timeouts.count == 3 && transport.timeouts[0] == 20 && transport.timeouts[2] < 5.1)
    }

    @Test func spentAttemptsSayTheyWereAllSpent() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        transport.enqueue(.failure(TransportError.connectionFailed("connection refused")), times: 10)
        let error = await #expect(throws: AWSUnreachable.self) {
            _ = try await timedClient(transport).call(.ec2, action: "DescribeImages")
        }
        #expect(error?.tries == 5 && error?.deadline == nil)
        #expect(error?.description.contains("every one of its 5 tries failed") == true)
    }
}

@Suite struct BusyAnswerTests {
    @Test(arguments: ["ScalingActivityInProgress", "ResourceInUse", "ResourceContention"])
    func busyGroupWritesAreRetriedOutsideTheBudget(_ code: String) async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        transport.enqueue(.success(queryError(code, status: code == "ResourceContention" ? 500 : 400)), times: 7)
        let notices = Notices()
        _ = try await timedClient(transport, notices: notices).call(.autoScaling, action: "DeleteAutoScalingGroup")
        #expect(transport.requests.count == 8, "seven busy answers, more than the 5 attempts of the budget")
        // 0.5 s doubling, at 3/4 of each ceiling with random 0.5, capped at 15 s.
        #expect(time.sleeps == [0.375, 0.75, 1.5, 3, 6, 11.25, 11.25])
        #expect(notices.lines.first?.hasPrefix("autoscaling DeleteAutoScalingGroup at https://aws.example:8443: \(code) (m): AWS is busy") == true)
        #expect(notices.lines.first?.hasSuffix("try 2 in 0.4 s (busy answers are retried for up to 10 min)") == true)
    }

    @Test func busyAnswersEndAtTheBusyLimit() async throws {
        let time = TestTime()
        let transport = TimedTransport(time: time)
        transport.enqueue(.success(queryError("ScalingActivityInProgress")), times: 1000)
        let policy = RetryPolicy(busyLimit: 60, random: { 0.5 })
        let error = await #expect(throws: AWSError.self) {
            _ = try await timedClient(transport, retry: policy).call(.autoScaling, action: "DeleteAutoScalingGroup")
        }
        #expect(error?.code.rawValue == "ScalingActivityInProgress")
        #expect(time.sleeps.reduce(0, +) <= 60 && time.sleeps.reduce(0, +) > 45)
    }

    @Test func theSameCodesFromAnotherServiceAreNotBusyAnswers() {
        let policy = RetryPolicy(random: { 0.5 })
        let dynamo = AWSError(code: AWSErrorCode("ResourceInUse"), message: "", status: 400, requestId: nil, service: .dynamoDB, action: "CreateTable")
        #expect(policy.decideBusy(error: dynamo, tries: 1, elapsed: 0) == nil)
        let asg = AWSError(code: AWSErrorCode("ResourceInUse"), message: "", status: 400, requestId: nil, service: .autoScaling, action: "DeleteAutoScalingGroup")
        #expect(policy.decideBusy(error: asg, tries: 1, elapsed: 0) == .retry(after: 0.375))
        #expect(policy.decideBusy(error: asg, tries: 1, elapsed: 599.9) == .dontRetry)
    }
}
