import Foundation

/// One HTTP/1.1 request as the server read it: the head parsed, the body whole (bounded by the server's limits).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path, percent-decoded, without the query.
    public var path: String
    /// The query's parameters in order, percent-decoded (`+` is a space); a name may repeat (`status=a&status=b`).
    public var query: [(name: String, value: String)]
    public var version: String
    /// Header names in lower case; a repeated header keeps its first value.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, query: [(name: String, value: String)] = [], version: String = "HTTP/1.1",
                headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The values of a query parameter, in order.
    public func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }

    /// The first value of a query parameter.
    public func value(_ name: String) -> String? { values(name).first }

    /// Whether the client wants the connection kept open after this request (HTTP/1.1 unless it says close).
    public var keepAlive: Bool {
        let connection = headers["connection"]?.lowercased() ?? ""
        return version == "HTTP/1.1" ? !connection.contains("close") : connection.contains("keep-alive")
    }
}

/// What the server answers. A `stream` body (Server-Sent Events) is written as it comes and ends the connection.
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(@Sendable (StreamWriter) -> Void)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A text response of this type, UTF-8.
    public static func text(_ status: Int, _ text: String, type: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", type)], body: .bytes(Array(text.utf8)))
    }

    /// A JSON error body `{"error": "..."}`: what the API answers for every refusal.
    public static func error(_ status: Int, _ message: String) -> HTTPResponse {
        let body = (try? JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys])) ?? Data()
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: .bytes(Array(body) + [0x0A]))
    }

    /// The value of a header this response sets (first match, case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    static let reasons: [Int: String] = [
        200: "OK", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
        404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 411: "Length Required",
        413: "Content Too Large", 415: "Unsupported Media Type", 421: "Misdirected Request", 431: "Request Header Fields Too Large",
        500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout",
    ]

    /// The status line and headers, with Content-Length for a whole body (none for a stream, which ends the connection).
    /// `head` says the request was HEAD: the length is the body's, and no body follows.
    public func serializedHead(keepAlive: Bool) -> [UInt8] {
        var lines = ["HTTP/1.1 \(status) \(Self.reasons[status] ?? "Status")"]
        for (name, value) in headers { lines.append("\(name): \(value)") }
        switch body {
        case .bytes(let bytes):
            lines.append("Content-Length: \(bytes.count)")
            lines.append("Connection: \(keepAlive ? "keep-alive" : "close")")
        case .stream:
            lines.append("Connection: close")
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }
}

/// Where a streamed body goes: `write` is false once the client is gone or the server stops.
public protocol StreamWriter: Sendable {
    func write(_ text: String) -> Bool
    /// Waits up to `seconds`; false when the client hung up or the server is stopping (the stream should end).
    func pause(_ seconds: TimeInterval) -> Bool
}

/// Why a request head could not be read: the status to answer and the reason in words.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var description: String
    public init(status: Int, description: String) {
        self.status = status
        self.description = description
    }
}

/// Parses request heads (pure: bytes in, a request or a refusal out).
public enum HTTPParser {
    /// The head of a request: the bytes before the blank line. Refuses what a small server should not guess at.
    public static func parseHead(_ head: [UInt8]) throws -> HTTPRequest {
        guard let text = String(bytes: head, encoding: .utf8) else { throw HTTPParseError(status: 400, description: "the request head is not UTF-8") }
        var lines = text.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3 else { throw HTTPParseError(status: 400, description: "the request line is not METHOD TARGET VERSION") }
        let method = String(requestLine[0]), target = String(requestLine[1]), version = String(requestLine[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            throw HTTPParseError(status: 400, description: "HTTP version \(version) is not served; HTTP/1.1 is")
        }
        guard !method.isEmpty, method.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw HTTPParseError(status: 400, description: "the method \(method) is not a method")
        }
        guard target.hasPrefix("/") else { throw HTTPParseError(status: 400, description: "the request target must be a path starting with /") }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw HTTPParseError(status: 400, description: "a header line has no name: \(line.prefix(40))")
            }
            let name = line[..<colon].lowercased()
            guard !name.contains(" "), !name.contains("\t") else { throw HTTPParseError(status: 400, description: "a header name has white space") }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if headers[name] == nil { headers[name] = value }
        }
        if headers["transfer-encoding"] != nil {
            throw HTTPParseError(status: 501, description: "Transfer-Encoding is not accepted; send a Content-Length")
        }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let path = decode(String(parts[0]), plusIsSpace: false) else {
            throw HTTPParseError(status: 400, description: "the path has a bad percent escape")
        }
        let query = try parts.count == 2 ? parseQuery(String(parts[1])) : []
        return HTTPRequest(method: method, path: path, query: query, version: version, headers: headers)
    }

    /// `a=1&b=two+words&c=%2F`: names and values decoded; an empty pair is skipped.
    public static func parseQuery(_ text: String) throws -> [(name: String, value: String)] {
        try text.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(String(kv[0]), plusIsSpace: true), let value = decode(kv.count == 2 ? String(kv[1]) : "", plusIsSpace: true) else {
                throw HTTPParseError(status: 400, description: "the query has a bad percent escape near \(pair.prefix(40))")
            }
            return (name, value)
        }
    }

    static func decode(_ text: String, plusIsSpace: Bool) -> String? {
        let spaced = plusIsSpace ? text.replacingOccurrences(of: "+", with: " ") : text
        return spaced.removingPercentEncoding ?? (spaced.contains("%") ? nil : spaced)
    }

    /// The Content-Length of a request: 0 when absent; a bad or too large value is refused.
    public static func contentLength(_ request: HTTPRequest, limit: Int) throws -> Int {
        guard let text = request.headers["content-length"] else { return 0 }
        guard let length = Int(text), length >= 0 else { throw HTTPParseError(status: 400, description: "Content-Length \(text) is not a length") }
        guard length <= limit else { throw HTTPParseError(status: 413, description: "the body has \(length) bytes; at most \(limit) are read") }
        return length
    }
}
