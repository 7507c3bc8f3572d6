import CCurl
import Foundation

/// A failed curl transfer as a `TransportError`: a short phrase saying what happened, then curl's own words.
struct CurlFailure {
    var code: CURLcode
    var osError: Int32
    var elapsed: TimeInterval
    var timeout: TimeInterval
    var connectTimeout: TimeInterval
    var text: String

    func error(redacting url: URL) -> TransportError {
        if code == CURLE_OPERATION_TIMEDOUT && !connectTimedOut { return .timedOut(after: timeout) }
        let said = text.isEmpty ? String(cString: sy_easy_strerror(code)) : text
        return .connectionFailed("\(phrase) (curl: \(Self.redact(said, url)))")
    }

    /// curl reports both timeouts with one code; the connect timeout, when shorter, is the one that fired early.
    private var connectTimedOut: Bool {
        connectTimeout < timeout && elapsed < (connectTimeout + timeout) / 2
    }

    private var phrase: String {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return "no connection within \(TransportError.duration(connectTimeout))"
        case CURLE_COULDNT_RESOLVE_HOST: return "host not found"
        case CURLE_COULDNT_RESOLVE_PROXY: return "proxy host not found"
        case CURLE_COULDNT_CONNECT:
            return osError == ECONNREFUSED ? "connection refused" : "could not connect"
        case CURLE_GOT_NOTHING: return "connection closed without an answer"
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR:
            return osError == ECONNRESET ? "connection reset" : "connection lost"
        case CURLE_PARTIAL_FILE: return "connection closed during the answer"
        case CURLE_WEIRD_SERVER_REPLY: return "not an HTTP answer"
        case CURLE_PEER_FAILED_VERIFICATION: return "TLS certificate not trusted"
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE: return "TLS failed"
        default: return "request failed"
        }
    }

    /// curl's words never carry the query (it may hold a token or a signature), nor the path.
    static func redact(_ text: String, _ url: URL) -> String {
        var text = text
        if let query = url.query, !query.isEmpty { text = text.replacingOccurrences(of: query, with: "…") }
        let path = url.path
        if path.count > 1 { text = text.replacingOccurrences(of: path, with: "/…") }
        return text
    }
}
