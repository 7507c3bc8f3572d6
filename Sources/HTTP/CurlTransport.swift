import CCurl
import Foundation

/// The product's one HTTP transport: libcurl, used directly, for AWS calls, probes, webhooks and metadata endpoints.
///
/// One dedicated thread runs a `curl_multi` loop for all requests of a transport, so no blocking call ever runs on
/// Swift's cooperative pool, and connections are kept alive and reused per host through the multi handle's cache.
/// Every request has its own total timeout and connect timeout, which curl keeps per transfer (URLSession on Linux
/// let one task's timeout fail another's request). A connection reset or closed without an answer fails the request
/// with `TransportError.connectionFailed` at once; callers send the whole request again under their retry policy.
/// Bodies are copied into curl before sending, so a re-sent request always carries all of its body. Redirects are not
/// followed. TLS peers are verified against the system's CA bundle, or against `AWS_CA_BUNDLE` when it is set.
///
/// Proxies, read from `environment` once, as the AWS CLI reads them:
/// - `https://` URLs go through `https_proxy`, else `HTTPS_PROXY`;
/// - `http://` URLs go through `http_proxy`, else `HTTP_PROXY` (curl alone ignores the upper-case one, the AWS CLI
///   does not);
/// - hosts matching `no_proxy`, else `NO_PROXY`, go direct, matched as curl matches them (`*`, host names with their
///   subdomains, IP addresses, CIDR ranges);
/// - an empty variable counts as unset, `ALL_PROXY` is not used, and with none set every request goes direct, whatever
///   the process's own environment says.
public final class CurlTransport: HTTPTransport, Sendable {
    /// The process-wide transport (proxies and CA bundle from the process environment).
    public static let shared = CurlTransport()

    private let loop: CurlLoop
    private let settings: CurlSettings

    /// - Parameters:
    ///   - environment: where the proxy variables and `AWS_CA_BUNDLE` are read from.
    ///   - connectTimeout: how long a request waits for its connection unless it says otherwise.
    ///   - caBundleVariables: the variables naming a CA bundle to trust instead of the system's, the first set one
    ///     used: `AWS_CA_BUNDLE` for AWS (as the AWS SDKs read it), `REQUESTS_CA_BUNDLE` for Azure (as the Azure CLI
    ///     and SDK for Python read it).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, connectTimeout: TimeInterval = 5,
                caBundleVariables: [String] = ["AWS_CA_BUNDLE"]) {
        settings = CurlSettings(environment: environment, connectTimeout: connectTimeout, caBundleVariables: caBundleVariables)
        loop = CurlLoop()
    }

    deinit { loop.stop() }

    public func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        try Task.checkCancellation()
        let transfer = try CurlTransfer(request: request, timeout: timeout, settings: settings)
        let loop = self.loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
    }
}

/// What every request of one transport shares: proxies, CA bundle, default connect timeout.
struct CurlSettings: Sendable {
    var httpsProxy: String?
    var httpProxy: String?
    var noProxy: String?
    var caBundle: String?
    var connectTimeout: TimeInterval

    init(environment: [String: String], connectTimeout: TimeInterval, caBundleVariables: [String] = ["AWS_CA_BUNDLE"]) {
        func first(_ names: String...) -> String? { names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty } }
        httpsProxy = first("https_proxy", "HTTPS_PROXY")
        httpProxy = first("http_proxy", "HTTP_PROXY")
        noProxy = first("no_proxy", "NO_PROXY")
        caBundle = caBundleVariables.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        self.connectTimeout = connectTimeout
    }

    /// The proxy for `url`, "" for none (which also keeps curl from reading proxy variables itself).
    func proxy(for url: URL) -> String {
        switch url.scheme?.lowercased() {
        case "https": return httpsProxy ?? ""
        case "http": return httpProxy ?? ""
        default: return ""
        }
    }
}
