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
}

/// Calls AWS query-protocol APIs: encodes, signs, sends, retries per the policy, decodes results and errors.
public struct AWSClient: Sendable {
    public let configuration: AWSConfiguration
    public let transport: HTTPTransport
    /// How calls are retried; its busy limit comes from `SWITCHYARD_AWS_BUSY_LIMIT`.
    public var retryPolicy: RetryPolicy
    public let logger: Logger
    public let requests = RequestCounter()
    /// The adaptive retry mode's client-side rate limiters, one per service, shared by every copy of this client.
    public let limiters = AdaptiveRateLimiters()
    /// How long one attempt waits for its answer (`SWITCHYARD_AWS_TIMEOUT`).
    public var timeout: TimeInterval = 20
    /// How long one call may go on without an answer from AWS, all attempts and waits between them together
    /// (`SWITCHYARD_AWS_DEADLINE`); Auto Scaling's busy answers are waited out beside it (`RetryPolicy.busyLimit`).
    public var deadline: TimeInterval = 60
    /// The offset from this machine's clock to AWS's that requests are signed with; learnt from AWS's answers.
    public var clock: ClockOffset = .shared
    /// Where each wait (a retry, a busy group) and each clock correction is said, as one line naming the call.
    public var notice: @Sendable (String) -> Void
    let sleep: @Sendable (TimeInterval) async throws -> Void
    let now: @Sendable () -> Date

    public init(configuration: AWSConfiguration, transport: HTTPTransport = CurlTransport.shared, retryPolicy: RetryPolicy = .default,
                logger: Logger, sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000)) },
                now: @escaping @Sendable () -> Date = Date.init) {
        self.configuration = configuration
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.sleep = sleep
        self.now = now
        self.notice = { [logger] line in logger.warning("\(line)") }
    }

    /// Number of HTTP attempts this client made.
    public var requestCount: Int { requests.total }

    /// How a call is signed: with the configured credentials, with given keys (STS AssumeRole), or not at all
    /// (STS AssumeRoleWithWebIdentity).
    public enum Signing: Sendable {
        case configured
        case keys(SigV4Credentials)
        case unsigned
    }

    /// Calls one action and returns its result element (`<ActionResult>`, or the EC2 response root).
    public func call(_ service: AWSService, action: String, parameters: [String: String] = [:], signing: Signing = .configured) async throws -> XMLNode {
        let response = try await exchange(service, action: action, signing: signing) { keys in
            signedRequest(service, action: action, parameters: parameters, keys: keys)
        }
        let root = try Self.xmlRoot(response, service: service, action: action)
        if service.isEC2Protocol { return root }
        return root.child("\(action)Result") ?? root
    }

    /// One logical call of any protocol: the request is built (and signed) afresh for each attempt with the keys of the
    /// moment; retries follow the policy, and expired credentials are fetched again once. Returns a 2xx response.
    func exchange(_ service: AWSService, action: String, signing: Signing,
                  request build: (SigV4Credentials?) -> HTTPRequest) async throws -> HTTPResponse {
        try await withRetries(service, action: action, signing: signing) { attempt in
            try await attemptExchange(service, action: action, attempt: attempt, signing: signing, build: build)
        }
    }

    /// The body of a 2xx answer as XML.
    static func xmlRoot(_ response: HTTPResponse, service: AWSService, action: String) throws -> XMLNode {
        guard let root = XMLNode.parse(response.body) else {
            let requestId = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
            throw AWSError(code: .internalFailure, message: "the response was not XML", status: response.status,
                           requestId: requestId, service: service, action: action, isAWSErrorBody: false)
        }
        return root
    }

    private func attemptExchange(_ service: AWSService, action: String, attempt: Attempt, signing: Signing,
                                 build: (SigV4Credentials?) -> HTTPRequest) async throws -> HTTPResponse {
        // Asked for at every attempt, so a refresh between attempts (or after ExpiredToken) is used at once.
        let keys: SigV4Credentials?
        switch signing {
        case .configured: keys = try await configuration.credentials.credentials().keys
        case .keys(let given): keys = given
        case .unsigned: keys = nil
        }
        let signedWith = signingDate()
        let request = build(keys)
        requests.record(action)
        let temporary = keys?.sessionToken != nil
        let response: HTTPResponse
        do {
            response = try await transport.execute(request, timeout: attempt.timeout)
        } catch let error as TransportError {
            throw AttemptFailure(error: error, temporaryKeys: temporary)
        }
        let requestId = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        logger.debug("aws call", metadata: ["aws.service": "\(service.signingName)", "aws.action": "\(action)",
                                             "aws.status": "\(response.status)", "aws.request_id": "\(requestId ?? "-")", "aws.attempt": "\(attempt.number)"])
        guard (200..<300).contains(response.status) else {
            let error = AWSError.decode(status: response.status, body: response.body, service: service, action: action)
            throw failure(error, response: response, signedWith: signedWith, temporaryKeys: temporary)
        }
        return response
    }

    /// The request for one attempt, signed with `keys`, or unsigned when they are nil.
    func signedRequest(_ service: AWSService, action: String, parameters: [String: String], keys: SigV4Credentials?) -> HTTPRequest {
        let endpoint = configuration.endpoint(for: service)
        let body = QueryEncoding.body(action: action, version: service.apiVersion, parameters: parameters)
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        let path = endpoint.path.isEmpty ? "/" : endpoint.path
        let contentType = "application/x-www-form-urlencoded; charset=utf-8"
        let unsigned = SigV4Request(method: "POST", path: path, query: "",
                                    headers: [(name: "Host", value: host), (name: "Content-Type", value: contentType)],
                                    body: Array(body.utf8))
        let signed = keys.map { SigV4Signer(credentials: $0, region: configuration.signingRegion(for: service), service: service.signingName).sign(unsigned, date: signingDate()) }
        var headers: [String: String] = [:]
        for header in (signed ?? unsigned).headers where header.name != "Host" { headers[header.name] = header.value }
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
