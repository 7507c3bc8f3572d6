import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server over POSIX sockets for a team's dashboard: one thread per connection, at most
/// `maxConnections` at once (more are answered 503 and closed), every request read within `requestTimeout` from its
/// first byte (a slow or silent client is dropped, it never holds a thread for longer), an idle kept-alive connection
/// closed after `idleTimeout`, bounded heads and bodies, and a stop that ends streams and returns within a second.
public final class HTTPServer: @unchecked Sendable {
    public struct Limits: Sendable {
        public var headBytes = 16 * 1024
        public var bodyBytes = 64 * 1024
        /// From a request's first byte to its last; also the bound on writing one answer.
        public var requestTimeout: TimeInterval = 10
        /// How long a kept-alive connection may wait for its next request (and a new one for its first byte).
        public var idleTimeout: TimeInterval = 5
        public var maxConnections = 64
        public var maxRequestsPerConnection = 100
        public init() {}
    }

    public let address: ListenAddress
    public let limits: Limits
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private var listener: Int32 = -1
    /// Written once at stop and never read: every poll that includes it wakes.
    private var wake: (read: Int32, write: Int32) = (-1, -1)
    private let lock = NSCondition()
    private var connections = 0
    private var stopping = false
    /// The port bound (the one asked for, or the one the system chose for port 0).
    public private(set) var port: UInt16 = 0

    public init(address: ListenAddress, limits: Limits = Limits(), handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.address = address
        self.limits = limits
        self.handler = handler
    }

    /// Binds and listens; throws a readable error (the address in use, not an address of this machine).
    public func bind() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ServeError("cannot make a pipe: \(String(cString: strerror(errno)))") }
        wake = (fds[0], fds[1])
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &result)
        guard status == 0, let info = result else {
            throw ServeError("--listen \(address): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw ServeError("cannot open a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let why = errno == EADDRINUSE ? "the address is in use (another serve?)" : String(cString: strerror(errno))
            close(fd)
            throw ServeError("cannot listen on \(address): \(why)")
        }
        guard listen(fd, 128) == 0 else {
            close(fd)
            throw ServeError("cannot listen on \(address): \(String(cString: strerror(errno)))")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        port = storage.ss_family == sa_family_t(AF_INET6)
            ? withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
            : withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        listener = fd
    }

    /// Accepts connections until `stop`; then waits up to a second for the connections under way, and returns.
    public func run() {
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 && errno == EINTR { continue }
            if isStopping || fds[1].revents != 0 { break }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            lock.lock()
            let admitted = connections < limits.maxConnections
            if admitted { connections += 1 }
            lock.unlock()
            guard admitted else {
                let busy = HTTPResponse.error(503, "too many connections; try again")
                _ = send(client, busy.serializedHead(keepAlive: false), Date().addingTimeInterval(1))
                if case .bytes(let bytes) = busy.body { _ = send(client, bytes, Date().addingTimeInterval(1)) }
                close(client)
                continue
            }
            let thread = Thread { [self] in
                serve(client)
                close(client)
                lock.lock()
                connections -= 1
                lock.broadcast()
                lock.unlock()
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
        close(listener)
        lock.lock()
        let deadline = Date().addingTimeInterval(1)
        while connections > 0, lock.wait(until: deadline) {}
        lock.unlock()
    }

    /// Ends `run`: no new connection is accepted, streams end at their next write or pause.
    public func stop() {
        lock.lock()
        let first = !stopping
        stopping = true
        lock.unlock()
        if first { _ = Glibc.write(wake.write, "x", 1) }
    }

    var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Connections open now (for tests and the server's metrics).
    public var openConnections: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections
    }

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        for _ in 0..<limits.maxRequestsPerConnection {
            guard let request = readRequest(fd, &buffer) else { return }
            let response: HTTPResponse
            switch request {
            case .failure(let error):
                // The rest of the stream cannot be trusted: answer and close.
                let answer = HTTPResponse.error(error.status, error.description)
                writeResponse(fd, answer, head: false, keepAlive: false)
                return
            case .success(let r):
                response = handler(r)
                let keepAlive = r.keepAlive && !isStopping
                if case .stream(let body) = response.body {
                    guard send(fd, response.serializedHead(keepAlive: false), Date().addingTimeInterval(limits.requestTimeout)) else { return }
                    body(SocketStream(server: self, fd: fd))
                    return
                }
                guard writeResponse(fd, response, head: r.method == "HEAD", keepAlive: keepAlive), keepAlive else { return }
            }
        }
    }

    @discardableResult
    private func writeResponse(_ fd: Int32, _ response: HTTPResponse, head: Bool, keepAlive: Bool) -> Bool {
        guard case .bytes(let bytes) = response.body else { return false }
        let deadline = Date().addingTimeInterval(limits.requestTimeout)
        return send(fd, response.serializedHead(keepAlive: keepAlive) + (head ? [] : bytes), deadline)
    }

    /// The next request on the connection; nil when the client closed it, went silent, or the server stops.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> Result<HTTPRequest, HTTPParseError>? {
        // The first byte may take the idle timeout; from then on the whole request has the request timeout.
        if buffer.isEmpty {
            guard let chunk = receive(fd, until: Date().addingTimeInterval(limits.idleTimeout)) else { return nil }
            buffer += chunk
        }
        let deadline = Date().addingTimeInterval(limits.requestTimeout)
        var headEnd: Int?
        while true {
            headEnd = Self.endOfHead(buffer)
            if headEnd != nil { break }
            if buffer.count > limits.headBytes {
                return .failure(HTTPParseError(status: 431, description: "the request head is over \(limits.headBytes) bytes"))
            }
            guard let chunk = receive(fd, until: deadline) else {
                return Date() >= deadline ? .failure(HTTPParseError(status: 408, description: "the request took over \(Int(limits.requestTimeout)) s to arrive")) : nil
            }
            buffer += chunk
        }
        guard let end = headEnd, end <= limits.headBytes else {
            return .failure(HTTPParseError(status: 431, description: "the request head is over \(limits.headBytes) bytes"))
        }
        do {
            var request = try HTTPParser.parseHead(Array(buffer[..<end]))
            let length = try HTTPParser.contentLength(request, limit: limits.bodyBytes)
            buffer.removeFirst(end + 4)
            while buffer.count < length {
                guard let chunk = receive(fd, until: deadline) else {
                    return .failure(HTTPParseError(status: 408, description: "the request body took over \(Int(limits.requestTimeout)) s to arrive"))
                }
                buffer += chunk
            }
            request.body = Array(buffer[..<length])
            buffer.removeFirst(length)
            return .success(request)
        } catch let error as HTTPParseError {
            return .failure(error)
        } catch {
            return .failure(HTTPParseError(status: 400, description: "\(error)"))
        }
    }

    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Bytes that arrive before the deadline; nil on close, error, timeout or stop.
    func receive(_ fd: Int32, until deadline: Date) -> [UInt8]? {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, Int32(min(remaining * 1000, 60_000)) + 1)
            if ready < 0 { if errno == EINTR { continue }; return nil }
            if fds[1].revents != 0 { return nil }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 8192)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { return nil }
            return Array(chunk[..<n])
        }
    }

    /// Writes all bytes before the deadline (a client that stops reading is dropped); false when it could not.
    func send(_ fd: Int32, _ bytes: [UInt8], _ deadline: Date) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return false }
            var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
            let ready = poll(&fds, 1, Int32(min(remaining * 1000, 60_000)) + 1)
            if ready < 0 { if errno == EINTR { continue }; return false }
            if ready == 0 { continue }
            if fds[0].revents & Int16(POLLERR | POLLHUP) != 0 { return false }
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Waits up to `seconds`: false when the client hung up (or sent something: an event stream takes no input) or the
    /// server stops.
    func pause(_ fd: Int32, _ seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return !isStopping }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, Int32(remaining * 1000) + 1)
            if ready < 0 { if errno == EINTR { continue }; return false }
            if ready > 0 { return false }
        }
    }
}

/// The writer of a streamed answer on one connection.
struct SocketStream: StreamWriter {
    let server: HTTPServer
    let fd: Int32

    func write(_ text: String) -> Bool {
        !server.isStopping && server.send(fd, Array(text.utf8), Date().addingTimeInterval(server.limits.requestTimeout))
    }

    func pause(_ seconds: TimeInterval) -> Bool { server.pause(fd, seconds) }
}

/// Where the server listens: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` (loopback).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `--listen`; the error names the flag and what it wants.
    public static func parse(_ text: String) throws -> ListenAddress {
        func bad(_ why: String) -> ServeError { ServeError("--listen \(text): \(why); give HOST:PORT, such as 127.0.0.1:8470 or [::1]:8470") }
        let host: String, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw bad("no port after the IPv6 address") }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw bad("no port") }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw bad("an IPv6 address goes in brackets") }
        }
        guard let port = UInt16(portText) else { throw bad("the port `\(portText)` is not a number from 0 to 65535") }
        return ListenAddress(host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }

    /// Whether only this machine can reach it.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || Self.isLoopbackIPv4(host)
    }

    /// `127.x.y.z` written as four numbers (not a name that merely starts with 127.).
    static func isLoopbackIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL a person opens, with the port actually bound.
    public func url(port bound: UInt16) -> String {
        "http://" + (host.contains(":") ? "[\(host)]" : host) + ":\(bound)/"
    }
}

/// A problem starting or running the server, in words.
public struct ServeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
