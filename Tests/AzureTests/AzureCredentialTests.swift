import Foundation
import HTTP
import Testing
@testable import Azure

/// Entra ID's token endpoint and IMDS as a fake transport: every request recorded, each answered by `answer`.
final class FakeEntra: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [HTTPRequest] = []
    let answer: @Sendable (HTTPRequest) throws -> HTTPResponse

    init(_ answer: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) { self.answer = answer }

    var requests: [HTTPRequest] { lock.withLock { seen } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        lock.withLock { seen.append(request) }
        return try answer(request)
    }

    static func json(_ status: Int, _ object: [String: Any]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }

    /// The fields of a form body, decoded.
    static func form(_ request: HTTPRequest) -> [String: String] {
        let pairs = String(decoding: request.body, as: UTF8.self).split(separator: "&").map { field -> (String, String) in
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let decode = { (text: String) in text.removingPercentEncoding ?? "<not percent-encoded: \(text)>" }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
        return Dictionary(pairs, uniquingKeysWith: { a, _ in a })
    }
}

/// A clock a test moves.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}

let arm = "https://management.azure.com"
let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
let client = "0b1e4f6a-0000-4000-8000-000000000001"

@Suite struct AzureCredentialTests {
    @Test func aClientSecretAsksEntraIDsV2EndpointForARMsDefaultScopeWithEveryCharacterEscaped() async throws {
        let clock = TestClock()
        let entra = FakeEntra { _ in FakeEntra.json(200, ["token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ.token.sig"]) }
        let secret = "a&b=c+d%e f"
        let chain = AzureCredentialChain.standard(environment: ["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client, "AZURE_CLIENT_SECRET": secret,
                                                                "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9"], transport: entra, now: { clock.now })
        let token = try await chain.token(for: arm)
        #expect(token.value == "eyJ.token.sig" && token.expiresOn == clock.now.addingTimeInterval(3599))
        let request = try #require(entra.requests.first)
        #expect(request.method == "POST" && request.url.absoluteString == "http://127.0.0.1:9/\(tenant)/oauth2/v2.0/token")
        #expect(FakeEntra.form(request) == ["grant_type": "client_credentials", "client_id": client, "client_secret": secret,
                                            "scope": "https://management.azure.com/.default"])
        #expect(request.headers["Content-Type"] == "application/x-www-form-urlencoded")
        #expect(!"\(token)".contains("eyJ") && "\(token)".contains("client secret"), "printing a token never shows it")
        #expect(!String(reflecting: token).contains("eyJ"))
        let app = try EntraAppCredential.environment(["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client, "AZURE_CLIENT_SECRET": secret],
                                                     federated: false, transport: entra)
        for text in ["\(app)", String(reflecting: app), "\(app.proof)", String(reflecting: app.proof)] {
            #expect(!text.contains(secret), "printing the source never shows its secret: \(text)")
        }
        #expect(EntraAppCredential.scope("https://management.core.windows.net/") == "https://management.core.windows.net/.default")
    }

    @Test func aFederatedTokenFileIsReadAgainForEveryTokenAndSentAsAClientAssertion() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("azure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("token").path
        try "oidc-one\n".write(toFile: file, atomically: true, encoding: .utf8)
        let entra = FakeEntra { _ in FakeEntra.json(200, ["expires_in": 600, "access_token": "t"]) }
        let env = ["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client, "AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9"]
        let chain = AzureCredentialChain.standard(environment: env, transport: entra)
        _ = try await chain.token(for: arm)
        try "oidc-two".write(toFile: file, atomically: true, encoding: .utf8)  // the runner rotated it
        let token = try await chain.token(for: arm)
        let forms = entra.requests.map(FakeEntra.form)
        #expect(forms.map { $0["client_assertion"] } == ["oidc-one", "oidc-two"])
        #expect(forms.allSatisfy { $0["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" && $0["client_secret"] == nil })
        #expect(token.source.contains("workload identity"))
        // A file that is gone fails the source, naming the file; the chain does not fall through to IMDS.
        try FileManager.default.removeItem(atPath: file)
        await #expect(throws: AzureCredentialsError.self) { _ = try await chain.token(for: arm) }
        do { _ = try await chain.token(for: arm) } catch { #expect("\(error)".contains(file)) }
        #expect(entra.requests.allSatisfy { $0.url.host == "127.0.0.1" })
    }

    @Test func withNoAppConfiguredTheManagedIdentityIsAskedOfIMDSWithItsHeader() async throws {
        let clock = TestClock()
        let expires = Int(clock.now.timeIntervalSince1970) + 86_400
        let imds = FakeEntra { request in
            #expect(request.headers["Metadata"] == "true")
            return FakeEntra.json(200, ["access_token": "mi", "expires_on": "\(expires)", "expires_in": "86400", "resource": arm, "token_type": "Bearer"])
        }
        let system = AzureCredentialChain.standard(environment: ["AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"], transport: imds, now: { clock.now })
        let token = try await system.token(for: arm)
        #expect(token.value == "mi" && token.expiresOn == Date(timeIntervalSince1970: TimeInterval(expires)) && token.source.contains("system-assigned"))
        let url = try #require(imds.requests.first?.url)
        let query = Dictionary((URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(url.path == "/metadata/identity/oauth2/token" && query == ["api-version": "2018-02-01", "resource": arm])
        // AZURE_CLIENT_ID alone names a user-assigned identity.
        let user = AzureCredentialChain.standard(environment: ["AZURE_CLIENT_ID": client, "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"],
                                                 transport: imds, now: { clock.now })
        #expect(try await user.token(for: arm).source.contains("user-assigned identity \(client)"))
        #expect(imds.requests.last?.url.query?.contains("client_id=\(client)") == true)
    }

    @Test func noSourceSetUpNamesEachAndWhyAndASecretWithoutItsIdsFailsSayingWhich() async throws {
        let silent = FakeEntra { _ in throw TransportError.connectionFailed("connection refused") }
        let chain = AzureCredentialChain.standard(environment: ["AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"], transport: silent)
        do {
            _ = try await chain.token(for: arm)
            Issue.record("a token with no source")
        } catch let error as AzureCredentialsError {
            guard case .noneFound(let tried) = error else { Issue.record("\(error)"); return }
            #expect(tried.count == 3)
            #expect(tried[0].contains("AZURE_CLIENT_SECRET is not set") && tried[1].contains("AZURE_FEDERATED_TOKEN_FILE is not set"))
            #expect(tried[2].contains("no instance metadata service at http://127.0.0.1:9"))
        }
        let half = AzureCredentialChain.standard(environment: ["AZURE_CLIENT_SECRET": "s3cret-value"], transport: silent)
        do {
            _ = try await half.token(for: arm)
            Issue.record("a token with no tenant")
        } catch {
            #expect("\(error)".contains("AZURE_TENANT_ID and AZURE_CLIENT_ID are not") && !"\(error)".contains("s3cret-value"))
        }
        #expect(silent.requests.count == 1, "a half-configured app stops the chain before any request")
    }

    @Test func entraIDsRefusalNamesItsAADSTSCodeAndNeverTheSecret() async throws {
        let entra = FakeEntra { _ in
            FakeEntra.json(401, ["error": "invalid_client", "error_codes": [7000215], "trace_id": "x",
                                 "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: x\r\nCorrelation ID: y"])
        }
        let chain = AzureCredentialChain.standard(environment: ["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client, "AZURE_CLIENT_SECRET": "wrong-s3cret",
                                                                "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9"], transport: entra)
        do {
            _ = try await chain.token(for: arm)
            Issue.record("a refused secret gave a token")
        } catch {
            let text = "\(error)"
            #expect(text.contains("HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided") && text.contains(client))
            #expect(!text.contains("wrong-s3cret") && !text.contains("Trace ID"))
        }
        let imds = FakeEntra { _ in FakeEntra.json(400, ["error": "invalid_request", "error_description": "Identity not found"]) }
        let none = AzureCredentialChain.standard(environment: ["AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"], transport: imds)
        await #expect(throws: AzureCredentialsError.self) { _ = try await none.token(for: arm) }
        do { _ = try await none.token(for: arm) } catch { #expect("\(error)".contains("has no managed identity")) }
    }

    @Test func aTokenIsCachedPerResourceAndFetchedAgainBeforeItExpires() async throws {
        let clock = TestClock()
        let count = Counter()
        let entra = FakeEntra { request in
            let n = count.next()
            return FakeEntra.json(200, ["expires_in": 3600, "access_token": "t\(n)-\(FakeEntra.form(request)["scope"] ?? "")"])
        }
        let env = ["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client, "AZURE_CLIENT_SECRET": "s", "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9"]
        let tokens = RefreshingAzureToken(AzureCredentialChain.standard(environment: env, transport: entra, now: { clock.now }), now: { clock.now })
        #expect(try await tokens.token(for: arm).value.hasPrefix("t1"))
        clock.advance(3000)  // 10 minutes left: still fresh
        #expect(try await tokens.token(for: arm).value.hasPrefix("t1"))
        #expect(try await tokens.token(for: "https://vault.azure.net").value == "t2-https://vault.azure.net/.default", "another resource, another token")
        clock.advance(360)  // 4 minutes left of the first: fetched again
        #expect(try await tokens.token(for: arm).value.hasPrefix("t3"))
        #expect(entra.requests.count == 3)
        #expect(RefreshingAzureToken.phase(AzureToken(value: "", expiresOn: clock.now.addingTimeInterval(30), source: ""), fetchedAt: clock.now, now: clock.now) == .fresh,
                "a 30-second token is used for half its life")
    }

    @Test func anAdvisoryRefreshThatFailsKeepsTheTokenAndAMandatoryOneFails() async throws {
        let clock = TestClock()
        let failing = Flag()
        let entra = FakeEntra { _ in
            if failing.value { return FakeEntra.json(503, ["error": "temporarily_unavailable", "error_description": "AADSTS90033: busy"]) }
            return FakeEntra.json(200, ["expires_in": 3600, "access_token": "first"])
        }
        let env = ["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client, "AZURE_CLIENT_SECRET": "s", "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9"]
        let tokens = RefreshingAzureToken(AzureCredentialChain.standard(environment: env, transport: entra, now: { clock.now }), now: { clock.now })
        _ = try await tokens.token(for: arm)
        failing.value = true
        clock.advance(3600 - 200)
        #expect(try await tokens.token(for: arm).value == "first")
        clock.advance(170)
        await #expect(throws: AzureCredentialsError.self) { _ = try await tokens.token(for: arm) }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.withLock { n += 1; return n } }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    var value: Bool {
        get { lock.withLock { v } }
        set { lock.withLock { v = newValue } }
    }
}
