import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
