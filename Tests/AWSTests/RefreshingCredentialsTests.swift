@testable import AWS
import Foundation
import Logging
import SigV4
import Testing

/// Hands out `KEY1`, `KEY2`, … each valid for `lifetime` from the clock's now, or the queued failures; counts fetches.
final class CountingProvider: CredentialProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var _fetches = 0
    private var failures: [Bool] = []
    private var gate: CheckedContinuation<Void, Never>?
    private var _waiting = false
    let clock: TestClock
    let lifetime: TimeInterval?
    let holdFirst: Bool

    init(clock: TestClock, lifetime: TimeInterval?, holdFirst: Bool = false) {
        self.clock = clock
        self.lifetime = lifetime
        self.holdFirst = holdFirst
    }

    var fetches: Int { lock.withLock { _fetches } }
    var waiting: Bool { lock.withLock { _waiting } }
    func failNext() { lock.withLock { failures.append(true) } }
    func release() { lock.withLock { let g = gate; gate = nil; _waiting = false; return g }?.resume() }

    func credentials() async throws -> AWSCredentials {
        let (number, fail) = lock.withLock { () -> (Int, Bool) in
            _fetches += 1
            return (_fetches, failures.isEmpty ? false : failures.removeFirst())
        }
        if holdFirst && number == 1 {
            await withCheckedContinuation { continuation in lock.withLock { gate = continuation; _waiting = true } }
        }
        if fail { throw CredentialsError.failed(source: "test source", problem: "STS is down") }
        return AWSCredentials(keys: SigV4Credentials(accessKeyId: "KEY\(number)", secretAccessKey: "ENVSECRETVALUE", sessionToken: "ROLESESSIONTOKENVALUE"),
                              expiration: lifetime.map { clock.now + $0 }, source: "test source")
    }
}

@Suite struct RefreshingCredentialsTests {
    @Test func oneHourCredentialsAreKeptUntilFifteenMinutesAreLeft() async throws {
        let clock = TestClock()
        let provider = CountingProvider(clock: clock, lifetime: 3600)
        let refreshing = RefreshingCredentials(provider, now: clock.function, logger: quiet)
        #expect(try await refreshing.credentials().keys.accessKeyId == "KEY1")
        clock.advance(2699)
        #expect(try await refreshing.credentials().keys.accessKeyId == "KEY1")
        clock.advance(2)
        #expect(try await refreshing.credentials().keys.accessKeyId == "KEY2")
        #expect(provider.fetches == 2)
    }

    @Test func aFailedAdvisoryRefreshKeepsTheKeysAndAFailedMandatoryOneThrows() async throws {
        let clock = TestClock()
        let provider = CountingProvider(clock: clock, lifetime: 3600)
        let refreshing = RefreshingCredentials(provider, now: clock.function, logger: quiet)
        _ = try await refreshing.credentials()
        clock.advance(3600 - 14 * 60)
        provider.failNext()
        #expect(try await refreshing.credentials().keys.accessKeyId == "KEY1")
        clock.advance(5 * 60)
        provider.failNext()
        await #expect(throws: CredentialsError.self) { try await refreshing.credentials() }
        #expect(try await refreshing.credentials().keys.accessKeyId == "KEY4")
        #expect(provider.fetches == 4)
    }

    @Test func shortLivedCredentialsAreUsedForHalfTheirLife() async throws {
        let clock = TestClock()
        let provider = CountingProvider(clock: clock, lifetime: 8)
        let refreshing = RefreshingCredentials(provider, now: clock.function, logger: quiet)
        for _ in 0..<4 {
            _ = try await refreshing.credentials()
            clock.advance(1)
        }
        #expect(provider.fetches == 1)
        clock.advance(0.5)
        #expect(try await refreshing.credentials().keys.accessKeyId == "KEY2")
    }

    @Test func longTermKeysAreFetchedOnceUntilInvalidated() async throws {
        let clock = TestClock()
        let provider = CountingProvider(clock: clock, lifetime: nil)
        let refreshing = RefreshingCredentials(provider, now: clock.function, logger: quiet)
        for _ in 0..<3 { _ = try await refreshing.credentials(); clock.advance(86_400) }
        #expect(provider.fetches == 1)
        await refreshing.invalidate()
        #expect(try await refreshing.credentials().keys.accessKeyId == "KEY2")
    }

    @Test func concurrentCallersShareOneFetch() async throws {
        let clock = TestClock()
        let provider = CountingProvider(clock: clock, lifetime: 3600, holdFirst: true)
        let refreshing = RefreshingCredentials(provider, now: clock.function, logger: quiet)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await refreshing.credentials().keys.accessKeyId } }
            while !provider.waiting { await Task.yield() }
            for _ in 0..<200 { await Task.yield() }
            provider.release()
            var keys: [String] = []
            for try await key in group { keys.append(key) }
            #expect(keys == Array(repeating: "KEY1", count: 8))
        }
        #expect(provider.fetches == 1)
    }

    @Test func credentialsThatArriveExpiredAreAnError() async throws {
        let clock = TestClock()
        let provider = CountingProvider(clock: clock, lifetime: 0)
        let refreshing = RefreshingCredentials(provider, now: clock.function, logger: quiet)
        let error = await #expect(throws: CredentialsError.self) { try await refreshing.credentials() }
        #expect(error?.description.contains("test source: the credentials it gave expired at") == true)
    }
}

@Suite struct ExpiredTokenTests {
    func client(_ transport: FakeTransport, _ provider: CountingProvider, sessionToken: Bool = true) -> AWSClient {
        let configuration = AWSConfiguration(region: "us-east-1", credentials: RefreshingCredentials(provider, now: provider.clock.function, logger: quiet),
                                             endpoints: [.autoScaling: URL(string: "http://127.0.0.1:4566")!])
        return AWSClient(configuration: configuration, transport: transport, retryPolicy: RetryPolicy(random: { 0.5 }), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                         sleep: { _ in }, now: provider.clock.function)
    }

    func expired(_ code: String = "ExpiredToken") -> Result<HTTPResponse, Error> {
        let body = String(decoding: Fixture.data("credentials/sts-error-ExpiredToken.xml"), as: UTF8.self).replacingOccurrences(of: "ExpiredToken", with: code)
        return .success(HTTPResponse(status: 400, body: Data(body.utf8)))
    }

    @Test func expiredTokenFetchesNewCredentialsAndRetriesOnceSignedWithThem() async throws {
        let transport = FakeTransport()
        let provider = CountingProvider(clock: TestClock(), lifetime: 3600)
        transport.enqueue(expired())
        _ = try await client(transport, provider).call(.autoScaling, action: "DescribeAutoScalingGroups")
        let authorizations = transport.requests.map { $0.headers["Authorization"] ?? "" }
        #expect(authorizations.count == 2)
        #expect(authorizations[0].contains("Credential=KEY1/") && authorizations[1].contains("Credential=KEY2/"))
        #expect(provider.fetches == 2)
    }

    @Test func aSecondExpiredTokenIsReportedAfterExactlyOneRetry() async throws {
        let transport = FakeTransport()
        let provider = CountingProvider(clock: TestClock(), lifetime: 3600)
        transport.enqueue(expired("ExpiredTokenException"))
        transport.enqueue(expired())
        let error = await #expect(throws: AWSError.self) { try await client(transport, provider).call(.autoScaling, action: "DescribeAutoScalingGroups") }
        #expect(error?.code.rawValue == "ExpiredToken")
        #expect(transport.requests.count == 2)
    }

    @Test func requestExpiredIsRetriedOnlyForTemporaryKeys() async throws {
        let temporary = FakeTransport()
        temporary.enqueue(expired("RequestExpired"))
        _ = try await client(temporary, CountingProvider(clock: TestClock(), lifetime: 3600)).call(.autoScaling, action: "DescribeAutoScalingGroups")
        #expect(temporary.requests.count == 2)

        let longTerm = FakeTransport()
        longTerm.enqueue(expired("RequestExpired"))
        let configuration = AWSConfiguration(region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "AKID", secretAccessKey: "ENVSECRETVALUE"),
                                             endpoints: [.autoScaling: URL(string: "http://127.0.0.1:4566")!])
        let plain = AWSClient(configuration: configuration, transport: longTerm, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), sleep: { _ in })
        await #expect(throws: AWSError.self) { try await plain.call(.autoScaling, action: "DescribeAutoScalingGroups") }
        #expect(longTerm.requests.count == 1)
    }

    @Test func everyAttemptAsksTheProviderSoARefreshBetweenRetriesIsUsed() async throws {
        let clock = TestClock()
        let provider = CountingProvider(clock: clock, lifetime: 3600)
        let transport = FakeTransport()
        let aws = client(transport, provider)
        _ = try await aws.call(.autoScaling, action: "DescribeAutoScalingGroups")
        clock.advance(3000)
        transport.enqueue(.success(HTTPResponse(status: 400, body: Data("<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>".utf8))))
        _ = try await aws.call(.autoScaling, action: "DescribeAutoScalingGroups")
        #expect(transport.requests.map { $0.headers["Authorization"]?.contains("Credential=KEY2/") == true } == [false, true, true])
        #expect(provider.fetches == 2)
    }

    @Test func credentialErrorsReachTheCallerWithoutARequest() async throws {
        let transport = FakeTransport()
        let configuration = AWSConfiguration(region: "us-east-1", credentials: CredentialChain([]), endpoints: [:])
        let aws = AWSClient(configuration: configuration, transport: transport, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), sleep: { _ in })
        await #expect(throws: CredentialsError.self) { try await aws.call(.ec2, action: "DescribeImages") }
        #expect(transport.requests.isEmpty)
    }
}

/// An AWS that answers ExpiredToken to any request signed with keys past their expiration.
final class ExpiringAWS: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var expirations: [String: Date] = [:]
    private var _expiredAnswers = 0
    let clock: TestClock
    init(clock: TestClock) { self.clock = clock }

    var expiredAnswers: Int { lock.withLock { _expiredAnswers } }
    func issued(_ credentials: AWSCredentials) { lock.withLock { expirations[credentials.keys.accessKeyId] = credentials.expiration } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let authorization = request.headers["Authorization"] ?? ""
        let key = authorization.components(separatedBy: "Credential=").last?.components(separatedBy: "/").first ?? ""
        let expired = lock.withLock { () -> Bool in
            guard let expiration = expirations[key], clock.now < expiration else { _expiredAnswers += 1; return true }
            return false
        }
        if expired { return HTTPResponse(status: 400, body: Fixture.data("credentials/sts-error-ExpiredToken.xml")) }
        return HTTPResponse(status: 200, body: Data("<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult/></DescribeAutoScalingGroupsResponse>".utf8))
    }
}

/// A provider whose every credential lives `lifetime` seconds, registered with the fake AWS.
struct IssuingProvider: CredentialProvider {
    let inner: CountingProvider
    let aws: ExpiringAWS
    func credentials() async throws -> AWSCredentials {
        let credentials = try await inner.credentials()
        aws.issued(credentials)
        return credentials
    }
}

@Suite struct LongReleaseTests {
    @Test func aReleaseThatOutlivesTenCredentialLifetimesNeverSendsExpiredKeys() async throws {
        let clock = TestClock()
        let aws = ExpiringAWS(clock: clock)
        let provider = CountingProvider(clock: clock, lifetime: 15 * 60)
        let configuration = AWSConfiguration(region: "us-east-1", credentials: RefreshingCredentials(IssuingProvider(inner: provider, aws: aws), now: clock.function, logger: quiet),
                                             endpoints: [.autoScaling: URL(string: "http://127.0.0.1:4566")!])
        let client = AWSClient(configuration: configuration, transport: aws, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), sleep: { _ in }, now: clock.function)
        for _ in 0..<(11 * 15 * 60 / 20) {
            _ = try await client.call(.autoScaling, action: "DescribeAutoScalingGroups")
            clock.advance(20)
        }
        #expect(aws.expiredAnswers == 0)
        // Refreshed at half of each 15-minute lifetime: about twice per lifetime, not before every call.
        #expect((20...24).contains(provider.fetches))
    }
}

/// Passing tests log nothing: an expected failure's warning in the output reads like a problem.
private let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
