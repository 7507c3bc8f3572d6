import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP with timeouts that hold, for the probe and the webhooks.
///
/// On Linux, swift-corelibs-foundation's own request timeouts misfire (a timeout of one task can fail another task's
/// request at once, seen with two probes in one process). So the session's timeouts are set far out, and each request
/// is raced against its own timer instead.
public enum TimedHTTP {
    public struct TimedOut: Error, Sendable {}

    /// An ephemeral session (no cache, no cookies) whose own timeouts are out of the way.
    public static func session() -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 300
        configuration.timeoutIntervalForResource = 300
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpShouldSetCookies = false
        return URLSession(configuration: configuration)
    }

    /// The response to `request`, or `TimedOut` once `timeout` has passed (the request is then cancelled).
    public static func response(to request: URLRequest, in session: URLSession, within timeout: TimeInterval) async throws -> URLResponse {
        try await withThrowingTaskGroup(of: URLResponse.self) { group in
            group.addTask { try await session.data(for: request).1 }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                throw TimedOut()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw TimedOut() }
            return first
        }
    }
}
