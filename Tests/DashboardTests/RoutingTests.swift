@testable import Dashboard
import Foundation
import SQLiteStateStore
import StateStore
import SwitchyardCore
import Testing

final class FakeActions: DashboardActions, @unchecked Sendable {
    var seen: [ActionRequest] = []
    func perform(_ request: ActionRequest) -> ActionOutcome {
        seen.append(request)
        return ActionOutcome(status: 202, message: "requested")
    }
}

struct FakeViews: DashboardViews {
    func list(_ deployments: [Deployment]) throws -> String { "[" + deployments.map { "\"\($0.id)\"" }.joined(separator: ",") + "]" }
    func deployment(_ d: Deployment, events: [StoredEvent]) throws -> String { "{\"id\":\"\(d.id)\",\"events\":\(events.count)}" }
}

@Suite struct RoutingTests {
    let token = "0123456789abcdef-token"

    func dashboard(actions: FakeActions? = nil) throws -> (Dashboard, SQLiteStateStore) {
        let store = try SQLiteStateStore(path: temporaryPath())
        try store.insert(sample(), log: LogEntry(from: .pending, to: .pending, message: "created"), actor: "alice", at: t0)
        let board = ReleaseBoard()
        try board.refresh(store)
        let t = try actions.map { _ in try ActionToken(fileContents: token, path: "/t") }
        return (Dashboard(store: store, board: board, views: FakeViews(), actions: actions, token: t), store)
    }

    func request(_ target: String) throws -> HTTPRequest { try request("GET", target) }

    func request(_ method: String, _ target: String, headers: [String: String] = [:], body: String = "") throws -> HTTPRequest {
        let lines = ["\(method) \(target) HTTP/1.1", "Host: 127.0.0.1:8470"] + headers.map { "\($0.key): \($0.value)" }
        var r = try HTTPParser.parseHead(Array(lines.joined(separator: "\r\n").utf8))
        r.body = Array(body.utf8)
        return r
    }

    func text(_ r: HTTPResponse) -> String {
        guard case .bytes(let b) = r.body else { return "" }
        return String(decoding: b, as: UTF8.self)
    }

    @Test func pagesApiAndMetricsAnswer() throws {
        let (d, _) = try dashboard()
        let list = d.handle(try request("/"))
        #expect(list.status == 200)
        #expect(list.header("Content-Type") == "text/html; charset=utf-8")
        #expect(list.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
        #expect(text(list).contains(#"<tr data-id="20270115-080000-0001""#))
        #expect(d.handle(try request("/d/20270115-080000-0001")).status == 200)
        #expect(text(d.handle(try request("/api/deployments"))) == "[\"20270115-080000-0001\"]\n")
        #expect(text(d.handle(try request("/api/deployments/20270115-080000-0001"))) == "{\"id\":\"20270115-080000-0001\",\"events\":1}\n")
        #expect(d.handle(try request("/api/deployments/nope")).status == 404)
        #expect(d.handle(try request("/d/nope")).status == 404)
        #expect(d.handle(try request("/static/app.js")).header("Content-Type") == "text/javascript; charset=utf-8")
        #expect(d.handle(try request("/static/other.js")).status == 404)
        let metrics = d.handle(try request("/metrics"))
        #expect(metrics.header("Content-Type") == MetricsText.contentType)
        #expect(text(metrics).contains(#"switchyard_serve_requests_total{route="api_deployment",code="404"} 1"#))
        #expect(text(metrics).contains(#"switchyard_release_info{service="web""#))
        if case .stream = d.handle(try request("/api/stream")).body {} else { Issue.record("the stream is not a stream") }
    }

    @Test func wrongMethodsPathsAndFiltersAreRefusedByName() throws {
        let (d, _) = try dashboard()
        let post = d.handle(try request("POST", "/"))
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
        #expect(d.handle(try request("/no/such/page/here/at/all")).status == 404)
        let bad = d.handle(try request("/api/deployments?status=rolledback"))
        #expect(bad.status == 400)
        #expect(text(bad).contains("status=rolledback is not a state; did you mean rolled_back?"))
        #expect(text(d.handle(try request("/?colour=blue"))).contains("unknown parameter `colour`"))
        #expect(d.handle(try request("/?since=yesterday")).status == 400)
        #expect(d.handle(try request("/?limit=0")).status == 400)
        #expect(d.handle(try request("/?service=web&status=pending&since=7d")).status == 200)
    }

    @Test func onLoopbackOnlyLocalHostNamesAreServed() throws {
        let (d, _) = try dashboard()
        for (host, status) in [("127.0.0.1:8470", 200), ("localhost:8470", 200), ("[::1]:8470", 200), ("evil.example:8470", 421),
                               ("127.0.0.1.evil.example", 421), ("[::2]:1", 421)] {
            var r = try request("/")
            r.headers["host"] = host
            #expect(d.handle(r).status == status, "\(host)")
        }
        var r = try request("/")
        r.headers["host"] = nil
        #expect(d.handle(r).status == 421)
    }

    @Test func actionsAreOffUnlessAllowed() throws {
        let (d, _) = try dashboard()
        let r = d.handle(try request("POST", "/api/deployments/20270115-080000-0001/promote", headers: ["Authorization": "Bearer \(token)"]))
        #expect(r.status == 403)
        #expect(text(r).contains("--allow-actions"))
    }

    @Test func anActionNeedsTheTokenJSONAndThisPagesOrigin() throws {
        let actions = FakeActions()
        let (d, _) = try dashboard(actions: actions)
        let path = "/api/deployments/20270115-080000-0001/rollback"
        let json = ["Content-Type": "application/json"]
        let body = #"{"actor": "alice", "reason": "p99 doubled"}"#
        #expect(d.handle(try request(path)).status == 405)
        let none = d.handle(try request("POST", path, headers: json, body: body))
        #expect(none.status == 401)
        #expect(none.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(!text(none).contains(token))
        #expect(d.handle(try request("POST", path, headers: json.merging(["Authorization": "Bearer wrong-token-0123456"]) { $1 }, body: body)).status == 401)
        let auth = ["Authorization": "Bearer \(token)"]
        #expect(d.handle(try request("POST", path, headers: auth, body: body)).status == 415, "a form post from another site has no JSON type")
        let all = auth.merging(json) { $1 }
        #expect(d.handle(try request("POST", path, headers: all.merging(["Origin": "http://evil.example"]) { $1 }, body: body)).status == 403)
        #expect(d.handle(try request("POST", path, headers: all, body: "{}")).status == 400)
        #expect(d.handle(try request("POST", path, headers: all, body: #"{"actor": "a", "colour": 1}"#)).status == 400)
        #expect(d.handle(try request("POST", "/api/deployments/nope/rollback", headers: all, body: body)).status == 404)
        #expect(actions.seen.isEmpty, "nothing ran before every check passed")
        let ok = d.handle(try request("POST", path, headers: all.merging(["Origin": "http://127.0.0.1:8470"]) { $1 }, body: body))
        #expect(ok.status == 202)
        #expect(actions.seen == [ActionRequest(kind: .rollback, deploymentId: "20270115-080000-0001", reason: "p99 doubled", actor: "alice")])
        #expect(d.handle(try request("POST", "/api/deployments/20270115-080000-0001/promote", headers: all, body: #"{"actor": "a", "reason": "x"}"#)).status == 400)
    }
}
