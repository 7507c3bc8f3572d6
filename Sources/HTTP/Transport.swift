import Foundation

/// An HTTP request, as sent (for AWS: after signing).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data
    /// How long to wait for the connection, when it should differ from the transport's default. The request's total
    /// timeout (`execute(_:timeout:)`) bounds it anyway.
    public var connectTimeout: TimeInterval?

    public init(method: String, url: URL, headers: [String: String], body: Data, connectTimeout: TimeInterval? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
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
    /// The final response (redirects are not followed), or `TransportError` when no answer came within `timeout`
    /// seconds in all, or `CancellationError` when the task was cancelled.
    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse
}

/// The request never got an HTTP answer. Retryable: the whole request can be sent again.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case timedOut(after: TimeInterval)
    case connectionFailed(String)

    public var description: String {
        switch self {
        case .timedOut(let seconds): return "no answer within \(Self.duration(seconds))"
        case .connectionFailed(let detail): return "connection failed: \(detail)"
        }
    }

    /// "20 s", or "300 ms" below a second or when not whole.
    static func duration(_ seconds: TimeInterval) -> String {
        seconds.rounded() == seconds && seconds >= 1 ? "\(Int(seconds)) s" : "\(Int((seconds * 1000).rounded())) ms"
    }
}
