import Foundation
@testable import HTTP
import Testing

@Suite struct CurlTransportTests {
    func get(_ url: URL) -> HTTPRequest { HTTPRequest(method: "GET", url: url, headers: [:], body: Data()) }

    func failure(_ transport: CurlTransport, _ request: HTTPRequest, timeout: TimeInterval = 10) async -> Error? {
        do {
            let response = try await transport.execute(request, timeout: timeout)
            Issue.record("answered \(response.status)")
            return nil
        } catch {
            return error
        }
    }

    /// URLSession on Linux failed other tasks' requests when one task's timeout fired.
    @Test func aHeldAnswerTimesOutAndNeverFailsAnotherRequestOnTheSameTransport() async throws {
        let server = try LocalServer()
        defer { server.stop() }
        let transport = CurlTransport(environment: [:])
        let held = Task { await failure(transport, get(server.url("/hold")), timeout: 0.3) }
        try await server.waitForRequests(1)
        for _ in 0..<8 {
            let response = try await transport.execute(get(server.url("/fast")), timeout: 10)
            #expect(response.status == 200)
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let error = await held.value
        #expect(error as? TransportError == .timedOut(after: 0.3))
    }

    @Test func nobodyListeningIsConnectionRefused() async throws {
        let port = try refusingPort()
        let url = URL(string: "http://127.0.0.1:\(port)/path?token=secret")!
        let error = await failure(CurlTransport(environment: [:]), get(url))
        guard case .connectionFailed(let detail)? = error as? TransportError else { Issue.record("\(String(describing: error))"); return }
        #expect(detail.hasPrefix("connection refused (curl: "), Comment(rawValue: detail))
        #expect(!detail.contains("secret"))
    }

    @Test func noConnectionWithinTheConnectTimeoutIsAConnectionFailureNotATimeoutOfTheAnswer() async throws {
        let hole = try Blackhole()
        var request = get(URL(string: "http://127.0.0.1:\(hole.port)/")!)
        request.connectTimeout = 0.2
        let error = await failure(CurlTransport(environment: [:]), request, timeout: 30)
        guard case .connectionFailed(let detail)? = error as? TransportError else { Issue.record("\(String(describing: error))"); return }
        #expect(detail.hasPrefix("no connection within 200 ms"), Comment(rawValue: detail))
    }

    @Test func aConnectionClosedWithoutAnAnswerFailsAndTheNextRequestGetsANewOne() async throws {
        let server = try LocalServer()
        defer { server.stop() }
        server.drop = { $0 == 1 }
        let transport = CurlTransport(environment: [:])
        let error = await failure(transport, get(server.url("/a")))
        guard case .connectionFailed(let detail)? = error as? TransportError else { Issue.record("\(String(describing: error))"); return }
        #expect(detail.hasPrefix("connection closed without an answer"), Comment(rawValue: detail))
        #expect(try await transport.execute(get(server.url("/b")), timeout: 10).status == 200)
        #expect(server.connections == 2)
    }

    @Test func sequentialRequestsToOneHostReuseOneConnection() async throws {
        let server = try LocalServer()
        defer { server.stop() }
        let transport = CurlTransport(environment: [:])
        for path in ["/1", "/2", "/3"] {
            let response = try await transport.execute(get(server.url(path)), timeout: 10)
            #expect(String(decoding: response.body, as: UTF8.self) == "server")
        }
        #expect(server.requests.count == 3)
        #expect(server.connections == 1)
    }

    /// Over 1 MiB, curl would otherwise ask for `100 Continue` and wait a second for it.
    @Test(arguments: ["POST", "PUT"])
    func aLargeBodyArrivesWholeWithoutAskingToContinue(_ method: String) async throws {
        let server = try LocalServer()
        defer { server.stop() }
        let body = Data((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let request = HTTPRequest(method: method, url: server.url("/upload"), headers: ["Content-Type": "application/octet-stream"], body: body)
        let response = try await CurlTransport(environment: [:]).execute(request, timeout: 10)
        #expect(response.header("X-AMZN-REQUESTID") == "req-1")
        let received = try #require(server.requests.first)
        #expect(received.line == "\(method) /upload HTTP/1.1")
        #expect(received.body == body)
        #expect(received.headers["content-length"] == "1500000")
        #expect(received.headers["content-type"] == "application/octet-stream")
        #expect(received.headers["expect"] == nil)
    }

    @Test func anEmptyPostSaysContentLengthZeroAndADeleteSendsNoBody() async throws {
        let server = try LocalServer()
        defer { server.stop() }
        let transport = CurlTransport(environment: [:])
        _ = try await transport.execute(HTTPRequest(method: "POST", url: server.url("/p"), headers: [:], body: Data()), timeout: 10)
        _ = try await transport.execute(HTTPRequest(method: "DELETE", url: server.url("/d"), headers: [:], body: Data()), timeout: 10)
        let requests = server.requests
        #expect(requests.map(\.line) == ["POST /p HTTP/1.1", "DELETE /d HTTP/1.1"])
        #expect(requests.first?.headers["content-length"] == "0")
        #expect(requests.first?.headers["content-type"] == nil)
        #expect(requests.last?.headers["content-length"] == nil)
    }

    @Test func cancellingAHeldRequestThrowsCancellationWithoutWaitingForTheAnswer() async throws {
        let server = try LocalServer()
        defer { server.stop() }
        server.hold = 60
        let transport = CurlTransport(environment: [:])
        let task = Task { try await transport.execute(get(server.url("/hold")), timeout: 120) }
        try await server.waitForRequests(1)
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        // The transport still works after a cancellation.
        #expect(try await transport.execute(get(server.url("/after")), timeout: 10).status == 200)
    }
}

@Suite struct ProxyTests {
    func get(_ url: URL) -> HTTPRequest { HTTPRequest(method: "GET", url: url, headers: [:], body: Data()) }

    /// curl alone ignores upper-case HTTP_PROXY; the AWS CLI honours it, and so does the transport.
    @Test func upperCaseHTTPProxyCarriesAnHTTPRequestInAbsoluteForm() async throws {
        let proxy = try LocalServer(name: "proxy")
        let target = try LocalServer(host: "127.0.0.2", name: "target")
        defer { proxy.stop(); target.stop() }
        let transport = CurlTransport(environment: ["HTTP_PROXY": "http://127.0.0.1:\(proxy.port)"])
        let response = try await transport.execute(get(target.url("/x?y=1")), timeout: 10)
        #expect(String(decoding: response.body, as: UTF8.self) == "proxy")
        #expect(proxy.requests.map(\.line) == ["GET http://127.0.0.2:\(target.port)/x?y=1 HTTP/1.1"])
        #expect(target.requests.isEmpty)
    }

    @Test func noProxyHostsGoDirect() async throws {
        let proxy = try LocalServer(name: "proxy")
        let target = try LocalServer(host: "127.0.0.2", name: "target")
        defer { proxy.stop(); target.stop() }
        let transport = CurlTransport(environment: ["http_proxy": "http://127.0.0.1:\(proxy.port)", "NO_PROXY": "localhost,127.0.0.2"])
        let response = try await transport.execute(get(target.url("/x")), timeout: 10)
        #expect(String(decoding: response.body, as: UTF8.self) == "target")
        #expect(proxy.requests.isEmpty)
    }

    @Test func anHTTPSProxyIsNotUsedForHTTPURLs() async throws {
        let proxy = try LocalServer(name: "proxy")
        let target = try LocalServer(host: "127.0.0.2", name: "target")
        defer { proxy.stop(); target.stop() }
        let transport = CurlTransport(environment: ["HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)"])
        _ = try await transport.execute(get(target.url("/x")), timeout: 10)
        #expect(proxy.requests.isEmpty)
        #expect(target.requests.count == 1)
    }

    @Test func lowerCaseVariablesWinAndEmptyOnesCountAsUnset() {
        let settings = CurlSettings(environment: ["https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:1", "http_proxy": "",
                                                  "HTTP_PROXY": "http://upper:2", "no_proxy": "", "NO_PROXY": "example.com"],
                                    connectTimeout: 5)
        #expect(settings.proxy(for: URL(string: "https://ec2.us-east-1.amazonaws.com/")!) == "http://lower:1")
        #expect(settings.proxy(for: URL(string: "http://169.254.169.254/")!) == "http://upper:2")
        #expect(settings.noProxy == "example.com")
        #expect(CurlSettings(environment: [:], connectTimeout: 5).proxy(for: URL(string: "https://a/")!) == "")
    }
}

@Suite struct TLSSettingsTests {
    @Test func awsCABundleIsTheCABundle() async throws {
        let server = try LocalServer()
        defer { server.stop() }
        let transport = CurlTransport(environment: ["AWS_CA_BUNDLE": "/nonexistent/switchyard-ca.pem"])
        let url = URL(string: "https://127.0.0.1:\(server.port)/")!
        do {
            _ = try await transport.execute(HTTPRequest(method: "GET", url: url, headers: [:], body: Data()), timeout: 10)
            Issue.record("answered")
        } catch TransportError.connectionFailed(let detail) {
            #expect(detail.hasPrefix("TLS failed"), Comment(rawValue: detail))
            #expect(detail.contains("/nonexistent/switchyard-ca.pem"), Comment(rawValue: detail))
        }
    }
}
