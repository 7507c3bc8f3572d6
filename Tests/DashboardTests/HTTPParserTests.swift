import Dashboard
import Testing

@Suite struct HTTPParserTests {
    func head(_ text: String) -> [UInt8] { Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    @Test func readsMethodPathQueryAndHeaders() throws {
        let r = try HTTPParser.parseHead(head("GET /d/a%20b?status=failed&status=rolled_back&service=web+api HTTP/1.1\nHost: 127.0.0.1:8470\nX-Two: 1\nx-two: 2"))
        #expect(r.method == "GET")
        #expect(r.path == "/d/a b")
        #expect(r.values("status") == ["failed", "rolled_back"])
        #expect(r.value("service") == "web api")
        #expect(r.headers["host"] == "127.0.0.1:8470")
        #expect(r.headers["x-two"] == "1")
        #expect(r.keepAlive)
    }

    @Test func connectionCloseAndHTTP10EndTheConnection() throws {
        #expect(try !HTTPParser.parseHead(head("GET / HTTP/1.1\nConnection: close")).keepAlive)
        #expect(try !HTTPParser.parseHead(head("GET / HTTP/1.0")).keepAlive)
        #expect(try HTTPParser.parseHead(head("GET / HTTP/1.0\nConnection: keep-alive")).keepAlive)
    }

    @Test func refusesWhatItShouldNotGuessAt() {
        for (text, status) in [("GET / HTTP/2.0", 400), ("GET /", 400), ("get / HTTP/1.1", 400), ("GET http://x/ HTTP/1.1", 400),
                               ("POST / HTTP/1.1\nTransfer-Encoding: chunked", 501), ("GET / HTTP/1.1\nno colon", 400),
                               ("GET /?a=%zz HTTP/1.1", 400)] {
            #expect(throws: HTTPParseError.self, "\(text)") { try HTTPParser.parseHead(head(text)) }
            do { _ = try HTTPParser.parseHead(head(text)) } catch let e as HTTPParseError { #expect(e.status == status, "\(text)") } catch {}
        }
    }

    @Test func contentLengthIsBounded() throws {
        let ok = try HTTPParser.parseHead(head("POST / HTTP/1.1\nContent-Length: 10"))
        #expect(try HTTPParser.contentLength(ok, limit: 10) == 10)
        #expect(throws: HTTPParseError(status: 413, description: "the body has 10 bytes; at most 9 are read")) { try HTTPParser.contentLength(ok, limit: 9) }
        let bad = try HTTPParser.parseHead(head("POST / HTTP/1.1\nContent-Length: -1"))
        #expect(throws: HTTPParseError.self) { try HTTPParser.contentLength(bad, limit: 10) }
    }

    @Test func responsesCarryTheirLength() {
        let r = HTTPResponse.text(200, "héllo")
        let headText = String(decoding: r.serializedHead(keepAlive: true), as: UTF8.self)
        #expect(headText.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(headText.contains("Content-Length: 6\r\n"))
        #expect(headText.contains("Connection: keep-alive\r\n"))
        #expect(headText.hasSuffix("\r\n\r\n"))
    }

    @Test func listenAddresses() throws {
        #expect(try ListenAddress.parse("127.0.0.1:8470") == ListenAddress(host: "127.0.0.1", port: 8470))
        #expect(try ListenAddress.parse(":0") == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(try ListenAddress.parse("[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(try ListenAddress.parse("0.0.0.0:8470").isLoopback == false)
        #expect(try ListenAddress.parse("localhost:1").isLoopback)
        #expect(try ListenAddress.parse("127.0.0.2:1").isLoopback)
        #expect(try !ListenAddress.parse("127.0.0.1.example.com:1").isLoopback)
        for bad in ["8470", "host:", "host:99999", "::1:80", "[::1]80"] {
            #expect(throws: ServeError.self, "\(bad)") { try ListenAddress.parse(bad) }
        }
    }
}
