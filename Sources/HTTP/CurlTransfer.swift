import CCurl
import Foundation

/// One request as a curl easy handle, with everything curl points into kept alive here until the transfer ends.
/// Created on the caller's thread; after `CurlLoop.submit`, touched on the loop's thread only (except
/// `cancelRequested`, which is guarded by the loop's lock).
final class CurlTransfer: @unchecked Sendable {
    private(set) var easy: UnsafeMutableRawPointer?
    var continuation: CheckedContinuation<HTTPResponse, Error>?
    var cancelRequested = false
    private let url: URL
    private let timeout: TimeInterval
    private let connectTimeout: TimeInterval
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(sy_error_size))
    fileprivate var body = Data()
    fileprivate var headers = ResponseHeaders()

    init(request: HTTPRequest, timeout: TimeInterval, settings: CurlSettings) throws {
        url = request.url
        self.timeout = timeout
        connectTimeout = min(request.connectTimeout ?? settings.connectTimeout, timeout)
        errorBuffer.initialize(repeating: 0, count: Int(sy_error_size))
        guard let scheme = request.url.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
            throw TransportError.connectionFailed("not an http or https URL")
        }
        guard curlReady, let easy = sy_easy_init() else { throw TransportError.connectionFailed(curlReady ? "libcurl could not make a handle" : curlUnavailable) }
        self.easy = easy
        configure(easy, request, settings)
    }

    deinit {
        release()
        errorBuffer.deallocate()
    }

    private func configure(_ easy: UnsafeMutableRawPointer, _ request: HTTPRequest, _ settings: CurlSettings) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sy_easy_setopt_ptr(easy, CURLOPT_URL, request.url.absoluteString)
        sy_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        // Signals would hit other threads of the process; curl then never uses alarm() for DNS timeouts.
        sy_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        sy_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, sy_http_version_1_1)
        sy_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout))
        sy_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout))
        sy_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        sy_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        sy_easy_setopt_ptr(easy, CURLOPT_PROXY, settings.proxy(for: request.url))
        sy_easy_setopt_ptr(easy, CURLOPT_NOPROXY, settings.noProxy ?? "")
        if let bundle = settings.caBundle { sy_easy_setopt_ptr(easy, CURLOPT_CAINFO, bundle) }
        sy_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        sy_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, receiveBody)
        sy_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, context)
        sy_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, receiveHeader)
        sy_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, context)
        setMethodAndBody(easy, request)
        setHeaders(easy, request)
    }

    /// POST and PUT always send a body (maybe empty, with `Content-Length: 0`); GET and DELETE only when they have one.
    /// curl copies the body (COPYPOSTFIELDS), so it can send it again whole on a fresh connection.
    private func setMethodAndBody(_ easy: UnsafeMutableRawPointer, _ request: HTTPRequest) {
        let method = request.method.uppercased()
        if method == "HEAD" {
            sy_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
            return
        }
        if request.body.isEmpty && method != "POST" && method != "PUT" {
            sy_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else {
            sy_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            if request.body.isEmpty {
                sy_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, "")
            } else {
                request.body.withUnsafeBytes { bytes in _ = sy_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, bytes.baseAddress) }
            }
        }
        if method != "GET" && method != "POST" { sy_easy_setopt_ptr(easy, CURLOPT_CUSTOMREQUEST, method) }
    }

    private func setHeaders(_ easy: UnsafeMutableRawPointer, _ request: HTTPRequest) {
        var lines: [String] = []
        for (name, value) in request.headers {
            let name = name.filter { !$0.isNewline && $0 != ":" }
            let value = value.filter { !$0.isNewline }
            // "Name:" would make curl drop the header; "Name;" sends it empty.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        let given = Set(request.headers.keys.map { $0.lowercased() })
        // curl would ask for `100 Continue` before larger bodies and wait up to a second for it.
        if !given.contains("expect") { lines.append("Expect:") }
        // curl would label every body application/x-www-form-urlencoded.
        if !given.contains("content-type") { lines.append("Content-Type:") }
        for line in lines { headerList = sy_slist_append(headerList, line) }
        sy_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList)
    }

    /// Resumes the caller once, and lets go of curl's handle (the loop has removed it from the multi handle).
    func finish(_ result: Result<HTTPResponse, Error>) {
        release()
        let waiting = continuation
        continuation = nil
        waiting?.resume(with: result)
    }

    private func release() {
        if let easy { sy_easy_cleanup(easy) }
        easy = nil
        sy_slist_free_all(headerList)
        headerList = nil
    }

    /// The response, or what went wrong, for curl's result code.
    func outcome(_ code: CURLcode) -> Result<HTTPResponse, Error> {
        guard let easy else { return .failure(CancellationError()) }
        if code == CURLE_OK {
            var status = 0
            sy_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPResponse(status: status, headers: headers.all, body: body))
        }
        var elapsed: curl_off_t = 0
        sy_easy_getinfo_off(easy, CURLINFO_TOTAL_TIME_T, &elapsed)
        var osError = 0
        sy_easy_getinfo_long(easy, CURLINFO_OS_ERRNO, &osError)
        let failure = CurlFailure(code: code, osError: Int32(osError), elapsed: TimeInterval(elapsed) / 1_000_000,
                                  timeout: timeout, connectTimeout: connectTimeout, text: String(cString: errorBuffer))
        return .failure(failure.error(redacting: url))
    }

    static func milliseconds(_ seconds: TimeInterval) -> Int {
        guard seconds.isFinite else { return 0 }
        return max(1, Int((seconds * 1000).rounded()))
    }
}

/// The final response's headers (a `100 Continue` or a proxy's answer to CONNECT come first and are dropped), with
/// names that differ only in case taken as one header.
struct ResponseHeaders {
    private var names: [String: String] = [:]
    private(set) var all: [String: String] = [:]

    mutating func take(line: String) {
        let line = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            self = ResponseHeaders()
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return }
        if let existing = names[name.lowercased()], let previous = all[existing] {
            all[existing] = previous + ", " + value
        } else {
            names[name.lowercased()] = name
            all[name] = value
        }
    }
}

private let receiveBody: sy_data_callback = { data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if let data, length > 0 { transfer.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length) }
    return length
}

private let receiveHeader: sy_data_callback = { data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if let data, length > 0 {
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        transfer.headers.take(line: String(decoding: bytes, as: UTF8.self))
    }
    return length
}
