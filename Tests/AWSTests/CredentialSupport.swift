@testable import AWS
import Foundation
import Logging
import SigV4

/// Answers each request with a handler that sees the request, and records every request.
final class RoutedTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [HTTPRequest] = []
    private let handler: @Sendable (HTTPRequest) throws -> HTTPResponse

    init(_ handler: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) { self.handler = handler }

    var requests: [HTTPRequest] { lock.withLock { _requests } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        lock.withLock { _requests.append(request) }
        return try handler(request)
    }

    static func ok(_ fixture: String) -> HTTPResponse { HTTPResponse(status: 200, body: Fixture.data("credentials/" + fixture)) }
    static func text(_ status: Int, _ text: String) -> HTTPResponse { HTTPResponse(status: status, body: Data(text.utf8)) }
}

/// A settable clock.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var _now: Date
    init(_ now: Date = Date(timeIntervalSince1970: 1_800_000_000)) { _now = now }
    var now: Date { lock.withLock { _now } }
    func advance(_ seconds: TimeInterval) { lock.withLock { _now += seconds } }
    var function: @Sendable () -> Date { { self.now } }
}

/// A home directory with `.aws/` for one test.
struct TestHome {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-creds-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/.aws/sso/cache", withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String) throws {
        try text.write(toFile: path + "/" + relative, atomically: true, encoding: .utf8)
    }

    /// STS at a fixed local endpoint, through `transport`.
    func sts(_ transport: HTTPTransport) -> STS {
        let configuration = AWSConfiguration(region: "eu-west-1", credentials: SigV4Credentials(accessKeyId: "", secretAccessKey: ""),
                                             endpoints: [.sts: URL(string: "http://127.0.0.1:4566")!])
        return STS(client: AWSClient(configuration: configuration, transport: transport, retryPolicy: RetryPolicy(maxAttempts: 1),
                                     logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), now: { Date(timeIntervalSince1970: 1_800_000_000) }))
    }

    func setting(_ env: [String: String], transport: HTTPTransport, clock: TestClock = TestClock()) throws -> CredentialSetting {
        let profiles = try AWSProfiles.load(environment: env, homeDirectory: path)
        return CredentialSetting(environment: env, profiles: profiles, profileName: env["AWS_PROFILE"] ?? "default", homeDirectory: path,
                                 transport: transport, sts: sts(transport), now: clock.function, sleep: { _ in })
    }

    func chain(_ env: [String: String], transport: HTTPTransport, clock: TestClock = TestClock()) throws -> CredentialChain {
        CredentialChain.standard(try setting(env, transport: transport, clock: clock))
    }
}

extension HTTPRequest {
    var form: [String: String] { FakeTransport.form(body) }
    /// The path as sent, trailing slash kept.
    var path: String { URLComponents(url: url, resolvingAgainstBaseURL: false)?.path ?? url.path }
}

/// Every secret value the fixtures and tests use; none may appear in any description.
let fixtureSecrets = ["ROLESECRETVALUE", "ROLESESSIONTOKENVALUE", "WEBSECRETVALUE", "WEBSESSIONTOKENVALUE", "SSOSECRETVALUE",
                      "SSOSESSIONTOKENVALUE", "CONTAINERSECRETVALUE", "CONTAINERTOKENVALUE", "IMDSSECRETVALUE", "IMDSTOKENVALUE",
                      "PROCESSSECRETVALUE", "PROCESSTOKENVALUE", "OIDCTOKENVALUE", "SSOBEARERVALUE", "ENVSECRETVALUE", "AUTHTOKENVALUE",
                      "IMDSSESSIONVALUE"]

func containsSecret(_ text: String) -> Bool { fixtureSecrets.contains { text.contains($0) } }
