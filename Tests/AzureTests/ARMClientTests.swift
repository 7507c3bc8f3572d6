import Foundation
import HTTP
import Testing
@testable import Azure

/// ARM as a scripted fake: each request answered by the next of `answers` for its method and path (the last one
/// repeats), every request recorded.
final class FakeARM: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [HTTPRequest] = []
    private var script: [String: [HTTPResponse]]

    init(_ script: [String: [HTTPResponse]]) { self.script = script }

    var requests: [HTTPRequest] { lock.withLock { seen } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let key = "\(request.method) \(request.url.path)"
        return try lock.withLock {
            seen.append(request)
            guard var answers = script[key], !answers.isEmpty else { throw TransportError.connectionFailed("no script for \(key)") }
            let next = answers.count > 1 ? answers.removeFirst() : answers[0]
            script[key] = answers
            return next
        }
    }

    static func answer(_ status: Int, _ object: [String: Any]? = nil, headers: [String: String] = [:]) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers.merging(["x-ms-request-id": "req-\(status)"]) { a, _ in a },
                     body: object.map { (try? JSONSerialization.data(withJSONObject: $0)) ?? Data() } ?? Data())
    }
}

/// A fixed token source that counts its fetches.
final class FixedToken: AzureTokenSource, @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var fetched: Int { lock.withLock { n } }
    func token(for resource: String) async throws -> AzureToken {
        let k = lock.withLock { n += 1; return n }
        return AzureToken(value: "tok-\(k)", expiresOn: Date().addingTimeInterval(3600), source: "test")
    }
}

/// What a test's closures saw, in order: the sleeps asked for, the request records.
final class Log<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Element] = []
    var all: [Element] { lock.withLock { list } }
    func add(_ e: Element) { lock.withLock { list.append(e) } }
}

typealias Sleeps = Log<TimeInterval>
typealias Records = Log<ARMRequestRecord>

let endpoint = URL(string: "http://127.0.0.1:9")!
let vmss = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/web-prod/providers/Microsoft.Compute/virtualMachineScaleSets/web-green"

func client(_ arm: FakeARM, tokens: any AzureTokenSource = FixedToken(), sleeps: Sleeps = Sleeps(), records: Records = Records()) -> ARMClient {
    var retry = ARMRetry()
    retry.random = { 0.5 }
    return ARMClient(endpoint: endpoint, tokens: tokens, transport: arm, retry: retry, sleep: { sleeps.add($0) },
                     now: { Date(timeIntervalSince1970: 1_800_000_000) }, record: { records.add($0) }, newId: { "client-id" })
}

@Suite struct ARMClientTests {
    @Test func aRequestCarriesItsApiVersionTheBearerAndAClientIdAndARefusalNamesARMsCodeAndRequestId() async throws {
        let arm = FakeARM(["GET \(vmss)": [FakeARM.answer(404, ["error": ["code": "ResourceNotFound", "message": "The Resource 'Microsoft.Compute/virtualMachineScaleSets/web-green' was not found."]])]])
        let records = Records()
        do {
            _ = try await client(arm, records: records).send("GET", vmss, apiVersion: "2024-07-01")
            Issue.record("a 404 answered")
        } catch let error as ARMError {
            #expect(error.code == "ResourceNotFound" && error.status == 404 && error.requestId == "req-404" && error.attempts == 1)
            #expect("\(error)".contains("failed with ResourceNotFound (HTTP 404)") && !"\(error)".contains("tok-"))
        }
        let request = try #require(arm.requests.first)
        #expect(request.url.absoluteString == "http://127.0.0.1:9\(vmss)?api-version=2024-07-01")
        #expect(request.headers["Authorization"] == "Bearer tok-1" && request.headers["x-ms-client-request-id"] == "client-id")
        #expect(records.all == [ARMRequestRecord(method: "GET", path: vmss, status: 404, requestId: "req-404", correlationId: nil, clientRequestId: "client-id", attempt: 1)])
    }

    @Test func busyAnswersAreTriedAgainAsRetryAfterSaysAndARefusalIsNot() async throws {
        let busy = FakeARM(["GET \(vmss)": [FakeARM.answer(429, ["error": ["code": "TooManyRequests", "message": "slow down"]], headers: ["Retry-After": "7"]),
                                            FakeARM.answer(503), FakeARM.answer(200, ["name": "web-green"])]])
        let sleeps = Sleeps()
        let answer = try await client(busy, sleeps: sleeps).send("GET", vmss, apiVersion: "2024-07-01")
        #expect(answer.status == 200 && busy.requests.count == 3)
        #expect(sleeps.all == [7, 0.5 * 0.2], "Retry-After's 7 s, then full jitter (0.5 of 200 ms)")
        let down = FakeARM(["GET \(vmss)": [FakeARM.answer(500, ["error": ["code": "InternalServerError", "message": "x"]])]])
        do {
            _ = try await client(down).send("GET", vmss, apiVersion: "2024-07-01")
            Issue.record("a 500 answered")
        } catch let error as ARMError {
            #expect(error.attempts == 5 && down.requests.count == 5 && "\(error)".contains("after 5 attempts"))
        }
        let refused = FakeARM(["PUT \(vmss)": [FakeARM.answer(409, ["error": ["code": "Conflict", "message": "busy"]])]])
        await #expect(throws: ARMError.self) { _ = try await client(refused).send("PUT", vmss, apiVersion: "2024-07-01", body: Data("{}".utf8)) }
        #expect(refused.requests.count == 1, "a 409 is the caller's to judge, not retried")
    }

    @Test func anExpiredTokenIsFetchedAgainOnce() async throws {
        let clock = TestClock()
        let source = FixedToken()
        let tokens = RefreshingAzureToken(source, now: { clock.now })
        let expired = FakeARM.answer(401, ["error": ["code": "ExpiredAuthenticationToken", "message": "The access token expiry UTC time is earlier than current UTC time."]])
        let arm = FakeARM(["GET \(vmss)": [expired, FakeARM.answer(200, [:])]])
        #expect(try await client(arm, tokens: tokens).send("GET", vmss, apiVersion: "2024-07-01").status == 200)
        #expect(arm.requests.map { $0.headers["Authorization"] } == ["Bearer tok-1", "Bearer tok-2"])
        let always = FakeARM(["GET \(vmss)": [expired]])
        await #expect(throws: ARMError.self) { _ = try await client(always, tokens: tokens).send("GET", vmss, apiVersion: "2024-07-01") }
        #expect(always.requests.count == 2, "once, not in a loop")
    }

    @Test func aPutFollowsItsAsyncOperationToTheEndAndReadsTheResourceAgain() async throws {
        let operation = "http://127.0.0.1:9/subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/op1"
        let arm = FakeARM([
            "PUT \(vmss)": [FakeARM.answer(201, ["properties": ["provisioningState": "Creating"]], headers: ["Azure-AsyncOperation": operation, "Retry-After": "3"])],
            "GET /subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/op1": [
                FakeARM.answer(200, ["status": "InProgress"], headers: ["Retry-After": "2"]), FakeARM.answer(200, ["status": "Succeeded"])],
            "GET \(vmss)": [FakeARM.answer(200, ["properties": ["provisioningState": "Succeeded"]])],
        ])
        let sleeps = Sleeps()
        let final = try await client(arm, sleeps: sleeps).sendAndWait("PUT", vmss, apiVersion: "2024-07-01", body: Data("{}".utf8))
        #expect(String(decoding: final.body, as: UTF8.self).contains("\"provisioningState\":\"Succeeded\""))
        #expect(arm.requests.map { "\($0.method) \($0.url.path)" } == ["PUT \(vmss)", "GET /subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/op1",
                                                                     "GET /subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/op1", "GET \(vmss)"])
        #expect(sleeps.all == [3, 2], "each poll waits what the answer before it said")
        let failing = FakeARM([
            "PUT \(vmss)": [FakeARM.answer(201, nil, headers: ["Azure-AsyncOperation": operation])],
            "GET /subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/op1": [
                FakeARM.answer(200, ["status": "Failed", "error": ["code": "SkuNotAvailable", "message": "The requested size is not available in eastus."]])],
        ])
        do {
            _ = try await client(failing).sendAndWait("PUT", vmss, apiVersion: "2024-07-01", body: Data("{}".utf8))
            Issue.record("a failed operation succeeded")
        } catch let error as ARMError {
            #expect(error.code == "SkuNotAvailable" && "\(error)".contains("not available in eastus"))
        }
    }

    @Test func aDeleteFollowsItsLocationUntilItAnswersOtherThan202AndAForeignURLIsNotFollowed() async throws {
        let location = "http://127.0.0.1:9/subscriptions/s/operationResults/op2"
        let arm = FakeARM([
            "DELETE \(vmss)": [FakeARM.answer(202, nil, headers: ["Location": location, "Retry-After": "1"])],
            "GET /subscriptions/s/operationResults/op2": [FakeARM.answer(202, nil), FakeARM.answer(204, nil)],
        ])
        let sleeps = Sleeps()
        #expect(try await client(arm, sleeps: sleeps).sendAndWait("DELETE", vmss, apiVersion: "2024-07-01", defaultPoll: 4).status == 204)
        #expect(sleeps.all == [1, 4] && arm.requests.count == 3)
        let foreign = FakeARM(["DELETE \(vmss)": [FakeARM.answer(202, nil, headers: ["Location": "http://169.254.169.254/steal"])]])
        do {
            _ = try await client(foreign).sendAndWait("DELETE", vmss, apiVersion: "2024-07-01")
            Issue.record("followed a foreign URL")
        } catch let error as ARMError {
            #expect(error.code == "ForeignOperationURL")
        }
        #expect(foreign.requests.count == 1, "the token never went to the other host")
        let endless = FakeARM([
            "DELETE \(vmss)": [FakeARM.answer(202, nil, headers: ["Location": location])],
            "GET /subscriptions/s/operationResults/op2": [FakeARM.answer(202, nil)],
        ])
        let clock = TestClock()
        var retry = ARMRetry()
        retry.random = { 0 }
        let bounded = ARMClient(endpoint: endpoint, tokens: FixedToken(), transport: endless, retry: retry,
                                sleep: { clock.advance($0) }, now: { clock.now })
        do {
            _ = try await bounded.sendAndWait("DELETE", vmss, apiVersion: "2024-07-01", deadline: 60, defaultPoll: 10)
            Issue.record("an endless operation ended")
        } catch let error as ARMUnreachable {
            #expect("\(error)".contains("did not end within 60 s"))
        }
        #expect(endless.requests.count == 7, "polled every 10 s for 60 s")
    }
}

/// ARM that does not answer the first `silent` requests (each may have reached it), then answers 200.
final class SilentARM: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    private(set) var methods: [String] = []

    init(silent: Int) { left = silent }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        try lock.withLock {
            methods.append(request.method)
            if left > 0 { left -= 1; throw TransportError.timedOut(after: timeout) }
            return FakeARM.answer(200, ["status": "ok"])
        }
    }
}

@Suite struct ARMSilenceTests {
    func arm(_ transport: SilentARM) -> ARMClient {
        ARMClient(endpoint: endpoint, tokens: FixedToken(), transport: transport, sleep: { _ in })
    }

    @Test func anUnansweredIdempotentRequestIsSentAgainAndAnUnansweredPostIsNot() async throws {
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            let silent = SilentARM(silent: 2)
            let answer = try await arm(silent).send(method, vmss, apiVersion: "2026-04-01", body: method == "GET" ? nil : Data("{}".utf8))
            #expect(answer.status == 200 && silent.methods.count == 3, "\(method)")
        }
        let post = SilentARM(silent: 1)
        do {
            _ = try await arm(post).send("POST", vmss + "/deleteInstances", apiVersion: "2026-04-01", body: Data("{}".utf8))
            Issue.record("an unanswered POST was sent again or succeeded")
        } catch let error as ARMUnreachable {
            #expect(post.methods == ["POST"] && error.problem.contains("may have run already"), "\(error)")
        }
        // A POST the caller knows to be safe to repeat says so.
        let safe = SilentARM(silent: 1)
        let answer = try await arm(safe).send("POST", vmss + "/start", apiVersion: "2026-04-01", body: Data("{}".utf8), retryOnSilence: true)
        #expect(answer.status == 200 && safe.methods == ["POST", "POST"])
    }
}
