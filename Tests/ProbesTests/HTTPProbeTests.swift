import Foundation
@testable import Probes
import SwitchyardCore
import Testing

/// A one-thread HTTP server on 127.0.0.1 that answers every request with the status it is told, after a delay.
final class TinyServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var _status = 200
    private var _delay: TimeInterval = 0
    private var _requests: [String] = []
    private var _connections = 0

    var status: Int { get { lock.withLock { _status } } set { lock.withLock { _status = newValue } } }
    var delay: TimeInterval { get { lock.withLock { _delay } } set { lock.withLock { _delay = newValue } } }
    var requests: [String] { lock.withLock { _requests } }
    /// Accepted connections so far.
    var connections: Int { lock.withLock { _connections } }

    init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, length) } }
        guard bound == 0, listen(sock, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &length) } }
        fd = sock
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in serve() }
    }

    var url: String { "http://127.0.0.1:\(port)/healthz?token=secret" }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            lock.withLock { _connections += 1 }
            Thread.detachNewThread { [self] in handle(client) }
        }
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            let text = String(decoding: buffer[..<n], as: UTF8.self)
            lock.withLock { _requests.append(text.components(separatedBy: "\r\n").first ?? "") }
            let (status, delay) = lock.withLock { (_status, _delay) }
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            let response = "HTTP/1.1 \(status) X\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
            _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
    }

    deinit { close(fd) }
}

@Suite struct HTTPProbeTests {
    func probe(_ url: String, expect: [Int] = [200], timeout: TimeSpan = TimeSpan(milliseconds: 500)) -> HTTPProbe {
        HTTPProbe(spec: DeploymentSpec.HTTPProbe(url: url, expectStatus: expect, timeout: timeout, failureThreshold: 2))
    }

    @Test func anExpectedStatusPassesAndAnotherFailsNamingBoth() async throws {
        let server = try TinyServer()
        let p = probe(server.url, expect: [200, 204])
        let ok = await p.check()
        #expect(ok.passed && ok.name == "http" && ok.threshold == 2, Comment(rawValue: ok.evidence))
        server.status = 503
        let bad = await p.check()
        #expect(!bad.passed)
        #expect(bad.evidence.hasPrefix("GET http://127.0.0.1:\(server.port)/healthz?… answered 503 in "))
        #expect(bad.evidence.hasSuffix("(expected 200/204)"))
        #expect(!bad.evidence.contains("secret"))
        #expect(server.requests.allSatisfy { $0 == "GET /healthz?token=secret HTTP/1.1" })
    }

    @Test func aSlowAnswerIsATimeout() async throws {
        let server = try TinyServer()
        server.delay = 1
        let result = await probe(server.url, timeout: TimeSpan(milliseconds: 200)).check()
        #expect(!result.passed)
        #expect(result.evidence.hasSuffix("failed: timed out after 200ms"), Comment(rawValue: result.evidence))
    }

    @Test func nobodyListeningIsAConnectionError() async throws {
        // Port 1 is privileged and nothing here listens on it.
        let result = await probe("http://127.0.0.1:1/").check()
        #expect(!result.passed)
        #expect(result.evidence.hasPrefix("GET http://127.0.0.1:1/ failed: connection refused"), Comment(rawValue: result.evidence))
    }

    /// swift-corelibs-foundation's own timeouts failed an unrelated request at once while another probe timed out.
    @Test func aProbeTimingOutNeverFailsAnotherProbe() async throws {
        let slow = try TinyServer()
        slow.delay = 0.3
        let fast = try TinyServer()
        let slowProbe = probe(slow.url, timeout: TimeSpan(milliseconds: 50))
        let fastProbe = probe(fast.url)
        let background = Task { for _ in 0..<5 { _ = await slowProbe.check() } }
        for _ in 0..<10 {
            let result = await fastProbe.check()
            #expect(result.passed, Comment(rawValue: result.evidence))
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        await background.value
    }

    @Test func everyTickOfOneProbeReusesItsConnection() async throws {
        let server = try TinyServer()
        let p = probe(server.url)
        for _ in 0..<5 { #expect(await p.check().passed) }
        #expect(server.requests.count == 5)
        #expect(server.connections == 1)
    }
}
