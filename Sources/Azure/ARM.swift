import Foundation
import HTTP

/// One ARM request as the audit log keeps it: what was asked and ARM's ids for it (never a token).
public struct ARMRequestRecord: Sendable, Equatable {
    public var method: String
    /// The resource path with its api-version, no host.
    public var path: String
    public var status: Int?
    /// `x-ms-request-id`: what Azure support asks for.
    public var requestId: String?
    /// `x-ms-correlation-request-id`, shared by an operation's polls.
    public var correlationId: String?
    /// `x-ms-client-request-id`: the id this client sent.
    public var clientRequestId: String
    public var attempt: Int
}

/// What ARM refused, with the ids a person quotes to Azure support; never the request's token.
public struct ARMError: Error, Sendable, CustomStringConvertible, Equatable {
    public var method: String
    public var path: String
    public var status: Int
    /// ARM's `error.code` (`ResourceNotFound`, `AuthorizationFailed`, `Conflict`, `OperationNotAllowed`, …), or for a
    /// long-running operation that ended badly its own error's code.
    public var code: String
    public var message: String
    public var requestId: String?
    public var attempts: Int

    public var description: String {
        let id = requestId.map { ", request id \($0)" } ?? ""
        let tries = attempts > 1 ? " after \(attempts) attempts" : ""
        return "Azure \(method) \(path) failed with \(code) (HTTP \(status))\(tries): \(message)\(id)"
    }
}

/// No answer from ARM within the bounds: the transport's own failure, retried, or an operation that did not end.
public struct ARMUnreachable: Error, Sendable, CustomStringConvertible, Equatable {
    public var method: String
    public var path: String
    public var problem: String
    public var attempts: Int

    public var description: String { "Azure \(method) \(path): \(problem) (\(attempts) attempt\(attempts == 1 ? "" : "s"))" }
}

/// How ARM requests are tried again: the numbers of the AWS calls' policy (`RetryPolicy.default`: 5 attempts, full
/// jitter from 100 ms to 5 s), for the answers Azure documents as worth a retry (408, 429, 500, 502, 503, 504) and
/// for no answer at all; ARM's `Retry-After` (seconds or an HTTP date) is waited instead when it says, up to
/// `retryAfterCap`.
public struct ARMRetry: Sendable {
    public var maxAttempts = 5
    public var base: TimeInterval = 0.1
    public var cap: TimeInterval = 5
    public var retryAfterCap: TimeInterval = 60
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    public static let retriedStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    public init() {}

    func backoff(attempt: Int) -> TimeInterval {
        Backoff.fullJitter(attempt: attempt, base: base, cap: cap, random: random())
    }

    /// `Retry-After` as seconds from `now`: a number of seconds, or an HTTP date.
    static func retryAfter(_ response: HTTPResponse, now: Date) -> TimeInterval? {
        guard let text = response.header("Retry-After")?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = TimeInterval(text) { return max(0, seconds) }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return format.date(from: text).map { max(0, $0.timeIntervalSince(now)) }
    }
}

/// Azure Resource Manager over the project's one transport: every request with its api-version, a bearer token from
/// `tokens` (fetched again once when ARM says it expired), a client request id, retries under `ARMRetry`, and
/// long-running operations followed to their end (`Azure-AsyncOperation`, else `Location`, each polled as its
/// `Retry-After` says). Each answer's ids go to `record`, for the audit log.
public struct ARMClient: Sendable {
    public var endpoint: URL
    let tokens: any AzureTokenSource
    let transport: HTTPTransport
    public var retry: ARMRetry
    public var timeout: TimeInterval = 30
    /// The audience of ARM's tokens.
    public static let resource = "https://management.azure.com"
    let sleep: @Sendable (TimeInterval) async throws -> Void
    let now: @Sendable () -> Date
    let record: @Sendable (ARMRequestRecord) -> Void
    let newId: @Sendable () -> String

    public init(endpoint: URL = URL(string: "https://management.azure.com")!, tokens: any AzureTokenSource, transport: HTTPTransport,
                retry: ARMRetry = ARMRetry(), sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) },
                now: @escaping @Sendable () -> Date = Date.init, record: @escaping @Sendable (ARMRequestRecord) -> Void = { _ in },
                newId: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }) {
        self.endpoint = endpoint
        self.tokens = tokens
        self.transport = transport
        self.retry = retry
        self.sleep = sleep
        self.now = now
        self.record = record
        self.newId = newId
    }

    /// The URL of a resource path (`/subscriptions/…`) at an api-version, with `query`'s items after it.
    func url(_ path: String, apiVersion: String, query: [URLQueryItem] = []) -> URL {
        guard var parts = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) else { return endpoint }
        let base = parts.percentEncodedPath.hasSuffix("/") ? String(parts.percentEncodedPath.dropLast()) : parts.percentEncodedPath
        parts.percentEncodedPath = base + (path.hasPrefix("/") ? path : "/" + path)
        parts.queryItems = [URLQueryItem(name: "api-version", value: apiVersion)] + query
        return parts.url ?? endpoint
    }

    /// The most pages `pages` follows: a collection longer than that is a runaway nextLink, not a scale set.
    public static let maxPages = 200

    /// Every page of a collection, as ARM answers it: the first at `path` (with `query`, e.g. `$expand`), then each
    /// page's `nextLink` until a page has none. A nextLink is followed as an operation URL is, on ARM's own host only;
    /// one that repeats, or more than `maxPages` pages, is an error rather than a loop.
    public func pages(_ path: String, apiVersion: String, query: [URLQueryItem] = []) async throws -> [Data] {
        var next: URL? = url(path, apiVersion: apiVersion, query: query)
        var seen = Set<String>()
        var pages: [Data] = []
        while let link = next {
            guard seen.insert(link.absoluteString).inserted, pages.count < Self.maxPages else {
                throw ARMError(method: "GET", path: path, status: 0, code: "RunawayNextLink",
                               message: "the collection's nextLink \(pages.count < Self.maxPages ? "repeated a page" : "went past \(Self.maxPages) pages"); not followed further",
                               requestId: nil, attempts: 0)
            }
            let page = try await send("GET", url: link, shown: pages.isEmpty ? path : "\(path) (page \(pages.count + 1))", body: nil)
            pages.append(page.body)
            let object = (try? JSONSerialization.jsonObject(with: page.body)) as? [String: Any]
            next = (object?["nextLink"] as? String).flatMap { $0.isEmpty ? nil : URL(string: $0) }
        }
        return pages
    }

    /// One request, retried as `retry` says; the answer of a 2xx, else `ARMError`. `body` is JSON.
    /// - Parameter retryOnSilence: whether a request that got no answer (it may have reached ARM) is sent again; by
    ///   default every method but POST: ARM's GET, PUT, PATCH and DELETE are idempotent, a POST action (restart,
    ///   delete instances, …) may not be, so one that went unanswered is reported, not run twice.
    public func send(_ method: String, _ path: String, apiVersion: String, body: Data? = nil, retryOnSilence: Bool? = nil) async throws -> HTTPResponse {
        try await send(method, url: url(path, apiVersion: apiVersion), shown: path, body: body, retryOnSilence: retryOnSilence)
    }

    func send(_ method: String, url: URL, shown: String, body: Data?, retryOnSilence: Bool? = nil) async throws -> HTTPResponse {
        let resend = retryOnSilence ?? (method.uppercased() != "POST")
        // The bearer token goes to ARM's own host only: an operation URL naming another is not followed.
        guard url.host?.lowercased() == endpoint.host?.lowercased(), url.port == endpoint.port, url.scheme == endpoint.scheme else {
            throw ARMError(method: method, path: shown, status: 0, code: "ForeignOperationURL",
                           message: "ARM named an operation URL on \(url.host ?? "no host") (not \(endpoint.host ?? "")); not followed with the token", requestId: nil, attempts: 0)
        }
        var attempt = 0
        var refreshed = false
        while true {
            attempt += 1
            let token = try await tokens.token(for: Self.resource)
            let clientId = newId()
            var headers = ["Authorization": "Bearer \(token.value)", "Accept": "application/json", "x-ms-client-request-id": clientId]
            if body != nil { headers["Content-Type"] = "application/json" }
            let request = HTTPRequest(method: method, url: url, headers: headers, body: body ?? Data())
            let response: HTTPResponse
            do {
                response = try await transport.execute(request, timeout: timeout)
            } catch let error as TransportError {
                record(ARMRequestRecord(method: method, path: shown, status: nil, requestId: nil, correlationId: nil, clientRequestId: clientId, attempt: attempt))
                guard resend else {
                    throw ARMUnreachable(method: method, path: shown, problem: "\(error); not sent again: a \(method) may have run already, so look before running it again", attempts: attempt)
                }
                guard attempt < retry.maxAttempts else {
                    throw ARMUnreachable(method: method, path: shown, problem: "\(error)", attempts: attempt)
                }
                try await sleep(retry.backoff(attempt: attempt))
                continue
            }
            record(ARMRequestRecord(method: method, path: shown, status: response.status, requestId: response.header("x-ms-request-id"),
                                    correlationId: response.header("x-ms-correlation-request-id"), clientRequestId: clientId, attempt: attempt))
            if (200..<300).contains(response.status) { return response }
            let (code, message) = Self.error(response)
            if response.status == 401, code == "ExpiredAuthenticationToken", !refreshed, let cache = tokens as? RefreshingAzureToken {
                refreshed = true
                await cache.invalidate()
                continue
            }
            if ARMRetry.retriedStatuses.contains(response.status), attempt < retry.maxAttempts {
                let wait = ARMRetry.retryAfter(response, now: now()).map { min($0, retry.retryAfterCap) } ?? retry.backoff(attempt: attempt)
                try await sleep(wait)
                continue
            }
            throw ARMError(method: method, path: shown, status: response.status, code: code, message: message,
                           requestId: response.header("x-ms-request-id"), attempts: attempt)
        }
    }

    /// ARM's error body: `{"error": {"code", "message"}}` (a few services answer the object bare).
    static func error(_ response: HTTPResponse) -> (code: String, message: String) {
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        let error = (object?["error"] as? [String: Any]) ?? object
        let code = error?["code"] as? String ?? "HTTP\(response.status)"
        var message = error?["message"] as? String ?? "no error body"
        if message.count > 400 { message = String(message.prefix(400)) + "…" }
        return (code, message)
    }

    /// A request that may start a long-running operation (PUT, PATCH, DELETE, POST), followed to its end within
    /// `deadline` seconds: `Azure-AsyncOperation` polled until its `status` is Succeeded, Failed or Canceled (then,
    /// for PUT and PATCH, the resource read again), else `Location` polled until it answers other than 202. Returns
    /// the final answer; an operation that failed or was canceled is `ARMError` with the operation's own error.
    public func sendAndWait(_ method: String, _ path: String, apiVersion: String, body: Data? = nil, deadline: TimeInterval = 30 * 60,
                            defaultPoll: TimeInterval = 5, retryOnSilence: Bool? = nil) async throws -> HTTPResponse {
        let started = now()
        let first = try await send(method, path, apiVersion: apiVersion, body: body, retryOnSilence: retryOnSilence)
        guard first.status == 201 || first.status == 202 else { return first }
        func wait(after response: HTTPResponse) async throws {
            guard now().timeIntervalSince(started) < deadline else {
                throw ARMUnreachable(method: method, path: path, problem: "the operation did not end within \(Int(deadline)) s", attempts: 1)
            }
            try await sleep(min(ARMRetry.retryAfter(response, now: now()) ?? defaultPoll, retry.retryAfterCap))
        }
        if let async = first.header("Azure-AsyncOperation").flatMap(URL.init(string:)) {
            var last = first
            while true {
                try await wait(after: last)
                last = try await send("GET", url: async, shown: "\(path) (operation)", body: nil)
                let object = (try? JSONSerialization.jsonObject(with: last.body)) as? [String: Any]
                let status = (object?["status"] as? String ?? "").lowercased()
                if status == "succeeded" {
                    if method == "PUT" || method == "PATCH" { return try await send("GET", path, apiVersion: apiVersion) }
                    if let location = first.header("Location").flatMap(URL.init(string:)) {
                        return try await send("GET", url: location, shown: "\(path) (result)", body: nil)
                    }
                    return last
                }
                if status == "failed" || status == "canceled" || status == "cancelled" {
                    let error = object?["error"] as? [String: Any]
                    throw ARMError(method: method, path: path, status: last.status, code: error?["code"] as? String ?? "Operation\(status.capitalized)",
                                   message: error?["message"] as? String ?? "the operation ended \(status)", requestId: first.header("x-ms-request-id"), attempts: 1)
                }
            }
        }
        if let location = first.header("Location").flatMap(URL.init(string:)) {
            var last = first
            while true {
                try await wait(after: last)
                last = try await send("GET", url: location, shown: "\(path) (operation)", body: nil)
                if last.status != 202 { return last }
            }
        }
        return first
    }
}
