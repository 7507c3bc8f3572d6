@testable import AWS
import Foundation
import Logging
import SigV4

/// A transport that answers from fixture files or canned responses and records every request.
final class FakeTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [HTTPRequest] = []
    private var queue: [Result<HTTPResponse, Error>] = []
    var fixtureFor: (@Sendable (String) -> String?)?

    var requests: [HTTPRequest] { lock.withLock { _requests } }

    /// Parameters of each request, decoded from the form body.
    var parameters: [[String: String]] { requests.map { Self.form($0.body) } }

    func enqueue(_ result: Result<HTTPResponse, Error>) { lock.withLock { queue.append(result) } }
    func enqueue(status: Int = 200, fixture: String, headers: [String: String] = [:]) {
        enqueue(.success(HTTPResponse(status: status, headers: headers, body: Fixture.data(fixture))))
    }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let next: Result<HTTPResponse, Error>? = lock.withLock {
            _requests.append(request)
            return queue.isEmpty ? nil : queue.removeFirst()
        }
        if let next { return try next.get() }
        let action = Self.form(request.body)["Action"] ?? ""
        if let name = fixtureFor?(action) { return HTTPResponse(status: 200, body: Fixture.data(name)) }
        return HTTPResponse(status: 200, body: Data("<\(action)Response><\(action)Result/></\(action)Response>".utf8))
    }

    static func form(_ body: Data) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            out[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return out
    }
}

enum Fixture {
    static func data(_ name: String) -> Data {
        let folder = (name as NSString).deletingLastPathComponent
        let subdirectory = folder.isEmpty ? "Fixtures" : "Fixtures/" + folder
        guard let url = Bundle.module.url(forResource: (name as NSString).lastPathComponent, withExtension: nil, subdirectory: subdirectory),
              let data = try? Data(contentsOf: url) else {
            fatalError("missing fixture \(name)")
        }
        return data
    }
}

/// Records the delays a client sleeps, instead of sleeping.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var _delays: [TimeInterval] = []
    var delays: [TimeInterval] { lock.withLock { _delays } }
    /// The time slept so far: the clock of `makeClient` moves on by it, as a real one would.
    var elapsed: TimeInterval { lock.withLock { _delays.reduce(0, +) } }
    func sleep(_ seconds: TimeInterval) async throws { lock.withLock { _delays.append(seconds) } }
}

func makeClient(_ transport: FakeTransport, retry: RetryPolicy = RetryPolicy(random: { 0.5 }), sleeps: SleepRecorder = SleepRecorder()) -> AWSClient {
    let configuration = AWSConfiguration(
        region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "AKIDTEST", secretAccessKey: "secret"),
        endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, URL(string: "http://127.0.0.1:4566")!) }))
    return AWSClient(configuration: configuration, transport: transport, retryPolicy: retry, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                     sleep: { try await sleeps.sleep($0) }, now: { Date(timeIntervalSince1970: 1_800_000_000 + sleeps.elapsed) })
}

/// A transport with no network behind it: every request fails to connect.
struct NoNetwork: HTTPTransport {
    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        throw TransportError.connectionFailed("no network in unit tests")
    }
}
