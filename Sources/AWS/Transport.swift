import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP request after signing.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data

    public init(method: String, url: URL, headers: [String: String], body: Data) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An HTTP response as received.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A header by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// Sends one HTTP request. Signing, retries and error decoding stay out of it, so tests can swap it.
public protocol HTTPTransport: Sendable {
    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse
}

/// The request never got an HTTP answer.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case timedOut(after: TimeInterval)
    case connectionFailed(String)

    public var description: String {
        switch self {
        case .timedOut(let seconds): return "no answer within \(Int(seconds)) s"
        case .connectionFailed(let detail): return "connection failed: \(detail)"
        }
    }
}

/// URLSession (libcurl on Linux) with one shared session, so connections are reused across calls.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    /// The process-wide transport.
    public static let shared = URLSessionTransport()
    private let session: URLSession

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpMaximumConnectionsPerHost = 8
        session = URLSession(configuration: configuration)
    }

    public func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        urlRequest.httpBody = request.body
        // libcurl asks for `100 Continue` before bodies over 1 KiB and waits up to a second for it; AWS calls are small.
        urlRequest.setValue("", forHTTPHeaderField: "Expect")
        do {
            let (data, response) = try await session.data(for: urlRequest)
            guard let http = response as? HTTPURLResponse else { throw TransportError.connectionFailed("not an HTTP response") }
            var headers: [String: String] = [:]
            for (key, value) in http.allHeaderFields {
                if let key = key as? String, let value = value as? String { headers[key] = value }
            }
            return HTTPResponse(status: http.statusCode, headers: headers, body: data)
        } catch let error as URLError {
            if error.code == .cancelled { throw CancellationError() }
            if error.code == .timedOut { throw TransportError.timedOut(after: timeout) }
            throw TransportError.connectionFailed(error.localizedDescription)
        }
    }
}
