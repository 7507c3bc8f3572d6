import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchyardCore

/// The HTTP probe of `checks.http`: one GET per tick through URLSession (libcurl on Linux).
public struct HTTPProbe: Sendable {
    public let spec: DeploymentSpec.HTTPProbe
    private let session: URLSession

    public init(spec: DeploymentSpec.HTTPProbe) {
        self.spec = spec
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = spec.timeout.seconds
        configuration.timeoutIntervalForResource = spec.timeout.seconds
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpShouldSetCookies = false
        self.session = URLSession(configuration: configuration)
    }

    /// Probes once. A status outside `expect_status`, a timeout or a connection error fails the check.
    public func check() async -> CheckResult {
        let name = "http"
        guard let url = URL(string: spec.url) else {
            return CheckResult(name: name, passed: false, evidence: "invalid URL \(spec.url)", threshold: spec.failureThreshold)
        }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: spec.timeout.seconds)
        request.httpMethod = "GET"
        request.setValue("switchyard-probe", forHTTPHeaderField: "User-Agent")
        let started = Date()
        do {
            let (_, response) = try await session.data(for: request)
            let ms = Int(Date().timeIntervalSince(started) * 1000)
            guard let http = response as? HTTPURLResponse else {
                return CheckResult(name: name, passed: false, evidence: "GET \(Self.redacted(url)): no HTTP response", threshold: spec.failureThreshold)
            }
            let ok = spec.expectStatus.contains(http.statusCode)
            let expected = spec.expectStatus.map(String.init).joined(separator: "/")
            return CheckResult(name: name, passed: ok,
                               evidence: "GET \(Self.redacted(url)) answered \(http.statusCode) in \(ms) ms" + (ok ? "" : " (expected \(expected))"),
                               threshold: spec.failureThreshold)
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
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return url.absoluteString }
        if components.query != nil { components.query = "…" }
        components.user = nil
        components.password = nil
        return components.string ?? url.absoluteString
    }
}
