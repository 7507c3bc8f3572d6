import Foundation

/// AWS credentials. Printing them never shows the secret or the session token.
public struct SigV4Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "credentials \(accessKeyId) (secret <redacted>\(sessionToken == nil ? "" : ", session token <redacted>"))"
    }

    public var debugDescription: String { description }
}

/// An HTTP request as the signer sees it: the raw path and query, the headers in order, the body.
public struct SigV4Request: Sendable {
    public var method: String
    /// The path as on the request line, without the query; it is normalised and encoded for signing.
    public var path: String
    /// The raw query string without `?`; may be empty.
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, query: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// AWS Signature Version 4: a pure function of the request, the credentials, the scope and the date.
public struct SigV4Signer: Sendable {
    public let credentials: SigV4Credentials
    public let region: String
    public let service: String

    public init(credentials: SigV4Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    // MARK: Stage 1: the canonical request

    public func canonicalRequest(_ r: SigV4Request, date: Date) -> String {
        let headers = canonicalHeaders(r)
        return [
            r.method.uppercased(),
            Self.canonicalPath(r.path),
            Self.canonicalQuery(r.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            headers.map(\.name).joined(separator: ";"),
            Self.sha256Hex(r.body),
        ].joined(separator: "\n")
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; repeated names joined by commas.
    func canonicalHeaders(_ r: SigV4Request) -> [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for header in r.headers {
            let name = header.name.lowercased()
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(Self.trimmed(header.value))
        }
        return order.sorted().map { ($0, values[$0, default: []].joined(separator: ",")) }
    }

    static func trimmed(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// Removes `.` and `..` segments and empty segments, keeps a trailing slash, encodes each segment.
    static func canonicalPath(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." { _ = segments.popLast(); continue }
            segments.append(segment)
        }
        let encoded = segments.map { encode(String($0)) }.joined(separator: "/")
        let trailing = (path.hasSuffix("/") && !segments.isEmpty) ? "/" : ""
        return "/" + encoded + trailing
    }

    /// Each parameter decoded, re-encoded with RFC 3986 rules, then sorted by name and value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { part -> (String, String) in
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(pieces[0]))
            let value = pieces.count > 1 ? decode(String(pieces[1])) : ""
            return (encode(name), encode(value))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    private static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }

    /// RFC 3986 percent-encoding: only A–Z, a–z, 0–9, `-`, `.`, `_`, `~` stay as they are.
    public static func encode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    // MARK: Stage 2: the string to sign

    public func stringToSign(_ r: SigV4Request, date: Date) -> String {
        let canonical = canonicalRequest(r, date: date)
        return [
            "AWS4-HMAC-SHA256",
            Self.timestamp(date),
            scope(date),
            Self.sha256Hex(Array(canonical.utf8)),
        ].joined(separator: "\n")
    }

    func scope(_ date: Date) -> String {
        "\(Self.day(date))/\(region)/\(service)/aws4_request"
    }

    // MARK: Stage 3: the signing key and the signature

    public func signingKey(date: Date) -> [UInt8] {
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [Self.day(date), region, service, "aws4_request"] {
            key = Digest.hmacSHA256(key: key, message: Array(part.utf8))
        }
        return key
    }

    public func authorization(_ r: SigV4Request, date: Date) -> String {
        let signature = Digest.hmacSHA256(key: signingKey(date: date), message: Array(stringToSign(r, date: date).utf8))
        let signed = canonicalHeaders(r).map(\.name).joined(separator: ";")
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope(date)), SignedHeaders=\(signed), Signature=\(Digest.hex(signature))"
    }

    /// The request with `X-Amz-Date`, `X-Amz-Security-Token` (when there is a session token) and `Authorization` added.
    public func sign(_ r: SigV4Request, date: Date) -> SigV4Request {
        var signed = r
        signed.headers.removeAll { ["x-amz-date", "authorization", "x-amz-security-token"].contains($0.name.lowercased()) }
        signed.headers.append((name: "X-Amz-Date", value: Self.timestamp(date)))
        if let token = credentials.sessionToken {
            signed.headers.append((name: "X-Amz-Security-Token", value: token))
        }
        signed.headers.append((name: "Authorization", value: authorization(signed, date: date)))
        return signed
    }

    // MARK: Formats

    /// The hex SHA-256 of some bytes, as AWS uses it for payload hashes.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { Digest.hex(Digest.sha256(bytes)) }

    private static func utcFormatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }

    /// `20150830T123600Z`
    public static func timestamp(_ date: Date) -> String { utcFormatter("yyyyMMdd'T'HHmmss'Z'").string(from: date) }
    static func day(_ date: Date) -> String { utcFormatter("yyyyMMdd").string(from: date) }
}
