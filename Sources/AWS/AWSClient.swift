import Foundation
import Logging
import SigV4

/// Counts HTTP attempts, for benchmarks and tests.
public final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    public init() {}

    func record(_ action: String) { lock.withLock { counts[action, default: 0] += 1 } }

    /// Attempts so far, all actions together.
    public var total: Int { lock.withLock { counts.values.reduce(0, +) } }
    /// Attempts so far per action.
    public var byAction: [String: Int] { lock.withLock { counts } }
}

/// Calls AWS query-protocol APIs: encodes, signs, sends, retries per the policy, decodes results and errors.
public struct AWSClient: Sendable {
    public let configuration: AWSConfiguration
    public let transport: HTTPTransport
    public let retryPolicy: RetryPolicy
    public let logger: Logger
    public let requests = RequestCounter()
    public var timeout: TimeInterval = 20
    private let sleep: @Sendable (TimeInterval) async throws -> Void
    private let now: @Sendable () -> Date

    public init(configuration: AWSConfiguration, transport: HTTPTransport = CurlTransport.shared, retryPolicy: RetryPolicy = .default,
                logger: Logger, sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000)) },
                now: @escaping @Sendable () -> Date = Date.init) {
        self.configuration = configuration
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.sleep = sleep
        self.now = now
    }

    /// Number of HTTP attempts this client made.
    public var requestCount: Int { requests.total }

    /// Calls one action and returns its result element (`<ActionResult>`, or the EC2 response root).
    public func call(_ service: AWSService, action: String, parameters: [String: String] = [:]) async throws -> XMLNode {
        var attempt = 1
        while true {
            do {
                return try await attemptCall(service, action: action, parameters: parameters, attempt: attempt)
            } catch let failure as AttemptFailure {
                switch retryPolicy.decide(error: failure.error, attempt: attempt, retryAfter: failure.retryAfter) {
                case .dontRetry:
                    throw failure.error
                case .retry(let delay):
                    logger.debug("retrying", metadata: ["aws.service": "\(service.signingName)", "aws.action": "\(action)",
                                                        "aws.attempt": "\(attempt)", "error": "\(failure.error)"])
                    try await sleep(delay)
                    attempt += 1
                }
            }
        }
    }

    private struct AttemptFailure: Error {
        var error: Error
        var retryAfter: TimeInterval?
    }

    private func attemptCall(_ service: AWSService, action: String, parameters: [String: String], attempt: Int) async throws -> XMLNode {
        let request = signedRequest(service, action: action, parameters: parameters)
        requests.record(action)
        let response: HTTPResponse
        do {
            response = try await transport.execute(request, timeout: timeout)
        } catch let error as TransportError {
            throw AttemptFailure(error: error)
        }
        let requestId = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        logger.debug("aws call", metadata: ["aws.service": "\(service.signingName)", "aws.action": "\(action)",
                                             "aws.status": "\(response.status)", "aws.request_id": "\(requestId ?? "-")", "aws.attempt": "\(attempt)"])
        guard (200..<300).contains(response.status) else {
            let error = AWSError.decode(status: response.status, body: response.body, service: service, action: action)
            throw AttemptFailure(error: error, retryAfter: response.header("Retry-After").flatMap(TimeInterval.init))
        }
        guard let root = XMLNode.parse(response.body) else {
            throw AWSError(code: .internalFailure, message: "the response was not XML", status: response.status,
                           requestId: requestId, service: service, action: action, isAWSErrorBody: false)
        }
        if service.isEC2Protocol { return root }
        return root.child("\(action)Result") ?? root
    }

    func signedRequest(_ service: AWSService, action: String, parameters: [String: String]) -> HTTPRequest {
        let endpoint = configuration.endpoint(for: service)
        let body = QueryEncoding.body(action: action, version: service.apiVersion, parameters: parameters)
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        let path = endpoint.path.isEmpty ? "/" : endpoint.path
        let contentType = "application/x-www-form-urlencoded; charset=utf-8"
        let unsigned = SigV4Request(method: "POST", path: path, query: "",
                                    headers: [(name: "Host", value: host), (name: "Content-Type", value: contentType)],
                                    body: Array(body.utf8))
        let signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: service.signingName)
        let signed = signer.sign(unsigned, date: now())
        var headers: [String: String] = [:]
        for header in signed.headers where header.name != "Host" { headers[header.name] = header.value }
        let url = URL(string: path, relativeTo: endpoint)?.absoluteURL ?? endpoint
        return HTTPRequest(method: "POST", url: url, headers: headers, body: Data(body.utf8))
    }

    /// Calls a Describe action page by page, following `NextToken` (or `Marker`/`NextMarker`), returning each page's result.
    public func paginate(_ service: AWSService, action: String, parameters: [String: String] = [:], tokenField: String = "NextToken",
                         nextTokenField: String? = nil) async throws -> [XMLNode] {
        var pages: [XMLNode] = []
        var parameters = parameters
        while true {
            let page = try await call(service, action: action, parameters: parameters)
            pages.append(page)
            let next = page.value(nextTokenField ?? tokenField) ?? page.value("nextToken")
            guard let token = next, !token.isEmpty, pages.count < 1000 else { return pages }
            parameters[tokenField] = token
        }
    }
}
