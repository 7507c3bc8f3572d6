import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.x for the transport's tests, on its own threads (blocking POSIX sockets).
///
/// It answers `200` with its `name` as the body and keeps connections alive; paths starting with `/hold` are answered
/// only after `hold` seconds (or when the server stops); requests for which `drop` says so are read, then their
/// connection is closed without an answer. Every request is recorded, with its request line as sent (a forward
/// proxy sees the absolute form `GET http://host:port/path HTTP/1.1`).
final class LocalServer: @unchecked Sendable {
    struct Request: Sendable {
        var line: String
        /// Lower-cased names.
        var headers: [String: String]
        var body: Data
        /// 1-based number of the connection it came on.
        var connection: Int
    }

    let host: String
    let port: UInt16
    let name: String
    private let fd: Int32
    private let lock = NSCondition()
    private var _connections = 0
    private var _requests: [Request] = []
    private var _drop: @Sendable (Int) -> Bool = { _ in false }
    private var _hold: TimeInterval = 30
    private var stopped = false

    /// Accepted connections so far.
    var connections: Int { lock.withLock { _connections } }
    var requests: [Request] { lock.withLock { _requests } }
    /// Given a request's number (1-based, over all connections), whether to close its connection without answering.
    var drop: @Sendable (Int) -> Bool { get { lock.withLock { _drop } } set { lock.withLock { _drop = newValue } } }
    var hold: TimeInterval { get { lock.withLock { _hold } } set { lock.withLock { _hold = newValue } } }

    init(host: String = "127.0.0.1", name: String = "server") throws {
        self.host = host
        self.name = name
        (fd, port) = try Self.listening(on: host, backlog: 64)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func url(_ path: String) -> URL {
        URL(string: "http://\(host):\(port)\(path)")!
    }

    func stop() {
        lock.withLock {
            stopped = true
            lock.broadcast()
        }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// Waits (polling, a few seconds at most) until `count` requests have come in.
    func waitForRequests(_ count: Int) async throws {
        for _ in 0..<500 where requests.count < count { try await Task.sleep(nanoseconds: 10_000_000) }
    }

    static func listening(on host: String, backlog: Int32) throws -> (Int32, UInt16) {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, length) } }
        guard bound == 0, listen(sock, backlog) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &length) } }
        return (sock, UInt16(bigEndian: address.sin_port))
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            let number = lock.withLock {
                _connections += 1
                return _connections
            }
            Thread.detachNewThread { [self] in serve(client, connection: number) }
        }
    }

    private func serve(_ client: Int32, connection: Int) {
        defer { close(client) }
        var buffer = Data()
        while let request = Self.readRequest(client, connection: connection, buffer: &buffer) {
            let (dropIt, hold) = lock.withLock {
                _requests.append(request)
                return (_drop(_requests.count), _hold)
            }
            if dropIt { return }
            if request.line.split(separator: " ").dropFirst().first.map({ $0.contains("/hold") }) == true {
                lock.withLock {
                    let until = Date().addingTimeInterval(hold)
                    while !stopped && lock.wait(until: until) {}
                }
            }
            let response = "HTTP/1.1 200 OK\r\nContent-Length: \(name.utf8.count)\r\nx-amzn-RequestId: req-\(connection)\r\n" +
                "Content-Type: text/plain\r\n\r\n\(name)"
            let sent = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            if sent < 0 { return }
        }
    }

    /// One request from the connection (head and `Content-Length` body), or nil once the peer closed.
    static func readRequest(_ client: Int32, connection: Int, buffer: inout Data) -> Request? {
        let separator = Data("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while buffer.range(of: separator) == nil {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
        guard let end = buffer.range(of: separator) else { return nil }
        let head = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        buffer = Data(buffer[end.upperBound...])
        let length = headers["content-length"].flatMap(Int.init) ?? 0
        while buffer.count < length {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
        let body = Data(buffer.prefix(length))
        buffer = Data(buffer.dropFirst(length))
        return Request(line: head.first ?? "", headers: headers, body: body, connection: connection)
    }
}

/// A listening socket whose accept queue is full and never drained: Linux then drops new SYNs, so a connect to it
/// hangs until the client's connect timeout, all on 127.0.0.1.
final class Blackhole {
    let port: UInt16
    private let fd: Int32
    private var fillers: [Int32] = []

    init() throws {
        (fd, port) = try LocalServer.listening(on: "127.0.0.1", backlog: 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        for _ in 0..<3 {
            let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            fillers.append(sock)
        }
        usleep(50_000)
    }

    deinit {
        fillers.forEach { close($0) }
        close(fd)
    }
}

/// A port on 127.0.0.1 that nobody listens on (bound once, then closed): connecting is refused at once.
func refusingPort() throws -> UInt16 {
    let (fd, port) = try LocalServer.listening(on: "127.0.0.1", backlog: 1)
    close(fd)
    return port
}
