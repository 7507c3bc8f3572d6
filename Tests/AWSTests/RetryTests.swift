@testable import AWS
import Foundation
import Testing

@Suite struct RetryTests {
    static func queryError(_ code: String, status: Int = 400) -> HTTPResponse {
        HTTPResponse(status: status, body: Data("<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>".utf8))
    }

    @Test func throttlingIsRetriedWithGrowingJitteredDelaysThenSucceeds() async throws {
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        transport.enqueue(.success(Self.queryError("Throttling")))
        transport.enqueue(.success(Self.queryError("RequestLimitExceeded", status: 503)))
        let client = makeClient(transport, sleeps: sleeps)
        _ = try await client.call(.elasticLoadBalancing, action: "DescribeListeners")
        #expect(transport.requests.count == 3)
        // Full jitter with random 0.5: half of 100 ms, then half of 200 ms; after each throttled answer the attempt also
        // waits for a token of the client-side bucket, which a cold client refills at 0.5 a second (adaptive mode).
        let delays = sleeps.delays.enumerated()
        #expect(delays.filter { $0.offset % 2 == 0 }.map(\.element) == [0.05, 0.1])
        let waits = delays.filter { $0.offset % 2 == 1 }.map(\.element)
        #expect(waits.count == 2 && waits.allSatisfy { $0 > 1.5 && $0 <= 2 })
    }

    @Test func aThrottledJSONCallEngagesTheSameClientSideBucket() async throws {
        // DynamoDB's JSON protocol goes through the same limiter as the query APIs: after its throttled answer the
        // retry waits for a token as well as for its backoff.
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        transport.enqueue(.success(HTTPResponse(status: 400, body: Data(#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"m"}"#.utf8))))
        let client = makeClient(transport, sleeps: sleeps)
        _ = try await client.callJSON(.dynamoDB, operation: "GetItem", body: Data("{}".utf8))
        #expect(transport.requests.count == 2)
        #expect(sleeps.delays.count == 2 && sleeps.delays[0] == 0.05 && sleeps.delays[1] > 1.5)
        #expect(client.limiters.limiter(for: .dynamoDB, now: 0).isLimiting)
    }

    @Test func anUrgentCallDoesNotWaitForTheClientSideBucket() async throws {
        // Once throttled, the service's calls wait for tokens (at 0.5 a second, cold); a rollback's calls, urgent, do not.
        // (Their throttled answers are retried with waits of at most `urgentThrottleCap`: RetryPolicy.decideThrottled.)
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        transport.enqueue(.success(Self.queryError("Throttling")))
        let client = makeClient(transport, sleeps: sleeps)
        _ = try await client.call(.elasticLoadBalancing, action: "DescribeListeners")
        #expect(client.limiters.limiter(for: .elasticLoadBalancing, now: 0).isLimiting)
        let before = sleeps.delays.count
        try await AWSPriority.$urgent.withValue(true) {
            for _ in 0..<3 { _ = try await client.call(.elasticLoadBalancing, action: "ModifyListener") }
        }
        #expect(sleeps.delays.count == before, Comment(rawValue: "\(sleeps.delays)"))
        for _ in 0..<3 { _ = try await client.call(.elasticLoadBalancing, action: "DescribeListeners") }
        #expect(sleeps.delays.count > before, "the same calls, not urgent, wait for their tokens")
    }

    @Test func stsIdentityProviderTimeoutsAreRetriedLikeBotocore() async throws {
        let transport = FakeTransport()
        transport.enqueue(.success(Self.queryError("IDPCommunicationError")))
        transport.enqueue(.success(Self.queryError("InvalidIdentityToken")))
        let client = makeClient(transport)
        await #expect(throws: AWSError.self) { _ = try await client.call(.sts, action: "AssumeRoleWithWebIdentity", signing: .unsigned) }
        #expect(transport.requests.count == 2)
    }

    @Test func throttlingIsNotBoundByTheAttemptsBudget() async throws {
        // Nine throttled answers, then an answer: past the 4 attempts of the budget, as throttling is waited out for
        // `throttleLimit` instead (AWS answered; the client-side bucket paces each resend).
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        for _ in 0..<9 { transport.enqueue(.success(Self.queryError("Throttling"))) }
        let client = makeClient(transport, retry: RetryPolicy(maxAttempts: 4, random: { 0.5 }), sleeps: sleeps)
        _ = try await client.call(.autoScaling, action: "DescribeAutoScalingGroups")
        #expect(transport.requests.count == 10)
        // Nine backoffs (0.05 doubling, at most 20 s: 0.05 … 12.8 at random 0.5), each followed by a wait for a token.
        // (A token's wait of 0 is not a sleep: the backoffs are found in order among the waits.)
        var rest = sleeps.delays[...]
        for backoff in [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10] {
            guard let at = rest.firstIndex(of: backoff) else { Issue.record("no backoff of \(backoff) s in order: \(sleeps.delays)"); break }
            rest = rest[(at + 1)...]
        }
        #expect(sleeps.delays.allSatisfy { $0 <= 20 })
    }

    @Test func otherErrorsStillStopAtTheBudgetAfterThrottledAnswers() async throws {
        let transport = FakeTransport()
        for _ in 0..<3 { transport.enqueue(.success(Self.queryError("Throttling"))) }
        for _ in 0..<10 { transport.enqueue(.success(Self.queryError("InternalFailure", status: 500))) }
        let client = makeClient(transport, retry: RetryPolicy(maxAttempts: 4, random: { 0.5 }), sleeps: SleepRecorder())
        await #expect(throws: AWSError.self) { _ = try await client.call(.autoScaling, action: "DescribeAutoScalingGroups") }
        #expect(transport.requests.count == 3 + 4)
    }

    @Test func throttlingDecisionsEndAtTheThrottleLimit() {
        let policy = RetryPolicy(throttleLimit: 60, random: { 0.5 })
        let throttled = AWSError(code: .throttling, message: "", status: 400, requestId: nil, service: .autoScaling, action: "A")
        #expect(policy.decideThrottled(error: throttled, tries: 1, elapsed: 0) == .retry(after: 0.05))
        #expect(policy.decideThrottled(error: throttled, tries: 20, elapsed: 30) == .retry(after: 10))
        #expect(policy.decideThrottled(error: throttled, tries: 20, elapsed: 55) == .dontRetry)
        #expect(policy.decideThrottled(error: throttled, tries: 1, elapsed: 0, retryAfter: 3) == .retry(after: 3))
        // An urgent call's waits stop growing at 1 s.
        #expect(policy.decideThrottled(error: throttled, tries: 20, elapsed: 30, urgent: true) == .retry(after: 0.5))
        let other = AWSError(code: AWSErrorCode("InternalFailure"), message: "", status: 500, requestId: nil, service: .autoScaling, action: "A")
        #expect(policy.decideThrottled(error: other, tries: 1, elapsed: 0) == nil)
    }

    @Test(arguments: ["ValidationError", "AccessDenied", "UnauthorizedOperation", "ListenerNotFound"])
    func clientErrorsAreNeverRetried(_ code: String) async throws {
        let transport = FakeTransport()
        transport.enqueue(.success(Self.queryError(code, status: code == "AccessDenied" ? 403 : 400)))
        let client = makeClient(transport)
        do {
            _ = try await client.call(.elasticLoadBalancing, action: "ModifyListener")
            Issue.record("no error")
        } catch let error as AWSError {
            #expect(error.code.rawValue == code)
        }
        #expect(transport.requests.count == 1)
    }

    @Test func htmlServerErrorOfAnUnimplementedActionIsNotRetried() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 500, fixture: "autoscaling-AttachTrafficSources-error-500.html")
        let client = makeClient(transport)
        await #expect(throws: AWSError.self) { _ = try await client.call(.autoScaling, action: "AttachTrafficSources") }
        #expect(transport.requests.count == 1)
    }

    @Test func awsServerErrorsTimeoutsAndConnectionErrorsAreRetried() async throws {
        let transport = FakeTransport()
        transport.enqueue(.success(Self.queryError("InternalFailure", status: 500)))
        transport.enqueue(.failure(TransportError.timedOut(after: 20)))
        transport.enqueue(.failure(TransportError.connectionFailed("refused")))
        let client = makeClient(transport)
        _ = try await client.call(.ec2, action: "DescribeImages")
        #expect(transport.requests.count == 4)
    }

    @Test func retryAfterIsHonoured() async throws {
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        var response = Self.queryError("SlowDown", status: 503)
        response.headers["Retry-After"] = "2"
        transport.enqueue(.success(response))
        _ = try await makeClient(transport, sleeps: sleeps).call(.elasticLoadBalancing, action: "DescribeListeners")
        #expect(sleeps.delays == [2])
    }

    @Test func policyDecisionsFollowTheRules() {
        let policy = RetryPolicy(maxAttempts: 3, base: 0.1, cap: 0.3, random: { 0.999 })
        let throttled = AWSError(code: .throttling, message: "", status: 400, requestId: nil, service: .ec2, action: "A")
        #expect(policy.decide(error: throttled, attempt: 3) == .dontRetry)
        guard case .retry(let delay) = policy.decide(error: throttled, attempt: 2) else { Issue.record("not retried"); return }
        #expect(delay < 0.2 && delay > 0.19)
        #expect(policy.decide(error: CancellationError(), attempt: 1) == .dontRetry)
    }

    @Test func paginationFollowsNextTokenAcrossPages() async throws {
        let transport = FakeTransport()
        func page(_ names: [String], next: String?) -> HTTPResponse {
            let members = names.map { "<member><AutoScalingGroupName>\($0)</AutoScalingGroupName></member>" }.joined()
            let token = next.map { "<NextToken>\($0)</NextToken>" } ?? ""
            return HTTPResponse(status: 200, body: Data("<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups>\(members)</AutoScalingGroups>\(token)</DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>".utf8))
        }
        transport.enqueue(.success(page(["a", "b"], next: "t1")))
        transport.enqueue(.success(page(["c"], next: nil)))
        let groups = try await AutoScaling(client: makeClient(transport)).describeAutoScalingGroups(names: nil)
        #expect(groups.map(\.name) == ["a", "b", "c"])
        #expect(transport.parameters[0]["NextToken"] == nil)
        #expect(transport.parameters[1]["NextToken"] == "t1")
    }

    @Test func elbPaginationUsesMarker() async throws {
        let transport = FakeTransport()
        transport.enqueue(.success(HTTPResponse(status: 200, body: Data("<R><DescribeTargetGroupsResult><TargetGroups><member><TargetGroupName>a</TargetGroupName></member></TargetGroups><NextMarker>m1</NextMarker></DescribeTargetGroupsResult></R>".utf8))))
        transport.enqueue(.success(HTTPResponse(status: 200, body: Data("<R><DescribeTargetGroupsResult><TargetGroups><member><TargetGroupName>b</TargetGroupName></member></TargetGroups></DescribeTargetGroupsResult></R>".utf8))))
        let groups = try await ELBv2(client: makeClient(transport)).describeTargetGroups(arns: [])
        #expect(groups.map(\.name) == ["a", "b"])
        #expect(transport.parameters[1]["Marker"] == "m1")
    }
}
