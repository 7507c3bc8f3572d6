import Foundation
import HTTP
import SwitchyardCore

/// The HTTP probe of `checks.http`: one GET per tick through the process's libcurl transport, which keeps the
/// connection alive from tick to tick; the probe's own timeout is the request's total timeout.
public final class HTTPProbe: Sendable {
    public let spec: DeploymentSpec.HTTPProbe
    /// The `Host` header to send instead of the URL's host: the service's own name when the URL was pointed at green's
    /// load balancer (Route 53 stacks), so host-based listener rules still match.
    public let hostHeader: String?
    private let transport: HTTPTransport

    public init(spec: DeploymentSpec.HTTPProbe, hostHeader: String? = nil, transport: HTTPTransport = CurlTransport.shared) {
        self.spec = spec
        self.hostHeader = hostHeader
        self.transport = transport
    }

    /// Probes once. A status outside `expect_status`, a timeout or a connection error fails the check.
    public func check() async -> CheckResult {
        guard let url = URL(string: spec.url) else {
            return result(passed: false, "invalid URL \(spec.url)")
        }
        var headers = ["User-Agent": "switchyard-probe"]
        // Through the test route's rule, the request reaches green whichever target group green is this time.
        if let route = spec.testRoute { headers[route.header] = DeploymentSpec.TestRoute.value }
        if let hostHeader { headers["Host"] = hostHeader }
        let request = HTTPRequest(method: "GET", url: url, headers: headers, body: Data())
        let target = "GET \(Self.redacted(url))"
        let started = Date()
        do {
            let response = try await transport.execute(request, timeout: spec.timeout.seconds)
            let ms = Int(Date().timeIntervalSince(started) * 1000)
            let ok = spec.expectStatus.contains(response.status)
            let expected = spec.expectStatus.map(String.init).joined(separator: "/")
            return result(passed: ok, "\(target) answered \(response.status) in \(ms) ms" + (ok ? "" : " (expected \(expected))"))
        } catch TransportError.timedOut {
            return result(passed: false, "\(target) failed: timed out after \(spec.timeout)")
        } catch TransportError.connectionFailed(let detail) {
            return result(passed: false, "\(target) failed: \(detail)")
        } catch {
            return result(passed: false, "\(target) failed: \(error)")
        }
    }

    private func result(passed: Bool, _ evidence: String) -> CheckResult {
        CheckResult(name: "http", passed: passed, evidence: evidence, threshold: spec.failureThreshold)
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
