import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchyardCore

/// The HTTP probe of `checks.http`: one GET per tick through URLSession (libcurl on Linux), on one session so the
/// connection is reused from tick to tick, each bounded by the probe's own timeout (see `TimedHTTP`).
public final class HTTPProbe: Sendable {
    public let spec: DeploymentSpec.HTTPProbe
    private let session = TimedHTTP.session()

    public init(spec: DeploymentSpec.HTTPProbe) {
        self.spec = spec
    }

    deinit { session.finishTasksAndInvalidate() }

    /// Probes once. A status outside `expect_status`, a timeout or a connection error fails the check.
    public func check() async -> CheckResult {
        let name = "http"
        guard let url = URL(string: spec.url) else {
            return CheckResult(name: name, passed: false, evidence: "invalid URL \(spec.url)", threshold: spec.failureThreshold)
        }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 300)
        request.httpMethod = "GET"
        request.setValue("switchyard-probe", forHTTPHeaderField: "User-Agent")
        // Through the test route's rule, the request reaches green whichever target group green is this time.
        if let route = spec.testRoute { request.setValue(DeploymentSpec.TestRoute.value, forHTTPHeaderField: route.header) }
        let started = Date()
        do {
            let response = try await TimedHTTP.response(to: request, in: session, within: spec.timeout.seconds)
            let ms = Int(Date().timeIntervalSince(started) * 1000)
            guard let http = response as? HTTPURLResponse else {
                return CheckResult(name: name, passed: false, evidence: "GET \(Self.redacted(url)): no HTTP response", threshold: spec.failureThreshold)
            }
            let ok = spec.expectStatus.contains(http.statusCode)
            let expected = spec.expectStatus.map(String.init).joined(separator: "/")
            return CheckResult(name: name, passed: ok,
                               evidence: "GET \(Self.redacted(url)) answered \(http.statusCode) in \(ms) ms" + (ok ? "" : " (expected \(expected))"),
                               threshold: spec.failureThreshold)
        } catch is TimedHTTP.TimedOut {
            return CheckResult(name: name, passed: false, evidence: "GET \(Self.redacted(url)) failed: timed out after \(spec.timeout)", threshold: spec.failureThreshold)
        } catch {
            let text = (error as? URLError).map(Self.describe) ?? String(describing: error)
            return CheckResult(name: name, passed: false, evidence: "GET \(Self.redacted(url)) failed: \(text)", threshold: spec.failureThreshold)
        }
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: return "timed out"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost: return "host not found"
        case .networkConnectionLost: return "connection lost"
        default: return error.localizedDescription
        }
    }

    /// The URL without its query, which may carry a token.
    static func redacted(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "(an unparsable URL)" }
        let hadQuery = components.query != nil
        components.query = nil
        components.fragment = nil
        components.user = nil
        components.password = nil
        return (components.string ?? "(an unparsable URL)") + (hadQuery ? "?…" : "")
    }
}
