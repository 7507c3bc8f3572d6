import Foundation
import StateStore
import SwitchyardCore

/// The JSON of `history --json` and `show --json`, from the CLI, so the API answers in exactly those shapes.
public protocol DashboardViews: Sendable {
    /// What `history --json` prints for these deployments.
    func list(_ deployments: [Deployment]) throws -> String
    /// What `show ID --json` prints.
    func deployment(_ d: Deployment, events: [StoredEvent]) throws -> String
}

/// A promote or rollback asked for through the API.
public struct ActionRequest: Sendable, Equatable {
    public enum Kind: String, Sendable { case promote, rollback }
    public var kind: Kind
    public var deploymentId: String
    public var reason: String?
    /// The person, as the request names them; the audit log records it with the server's own actor.
    public var actor: String
}

/// What an action did: the HTTP status and the JSON body's fields.
public struct ActionOutcome: Sendable, Equatable {
    public var status: Int
    public var message: String
    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }
}

/// Runs actions the way the commands do (the CLI gives the implementation: the `promote` and `rollback` commands).
public protocol DashboardActions: Sendable {
    func perform(_ request: ActionRequest) -> ActionOutcome
}

/// The routes of `switchyard serve`: pages, the JSON API, the event stream, metrics, and the two actions.
public final class Dashboard: Sendable {
    public struct Settings: Sendable {
        /// Refuse requests whose Host is not this machine's loopback name (a DNS-rebinding page cannot read it).
        public var loopbackOnly = true
        /// How often an idle event stream sends a comment, so proxies and browsers keep it open.
        public var heartbeat: TimeInterval = 15
        /// How often an event stream looks for a change on the board.
        public var streamTick: TimeInterval = 0.25
        public init() {}
    }

    let store: StateStore
    let board: ReleaseBoard
    let views: DashboardViews
    let actions: DashboardActions?
    let token: ActionToken?
    let settings: Settings
    let requests = RequestCounter()
    let metricsCache = TextCache()
    let clock: @Sendable () -> Date

    public init(store: StateStore, board: ReleaseBoard, views: DashboardViews, actions: DashboardActions?, token: ActionToken?,
                settings: Settings = Settings(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.board = board
        self.views = views
        self.actions = actions
        self.token = token
        self.settings = settings
        self.clock = clock
    }

    /// Answers one request and counts it by route and status.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let (route, response) = answer(request)
        requests.count(route: route, code: response.status)
        var secured = response
        secured.headers += [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY")]
        if secured.header("Cache-Control") == nil { secured.headers.append(("Cache-Control", "no-store")) }
        return secured
    }

    /// The route's name (for the request counts) and the answer.
    func answer(_ r: HTTPRequest) -> (String, HTTPResponse) {
        if settings.loopbackOnly, !Self.isLoopbackHost(r.headers["host"]) {
            return ("refused", .error(421, "this server listens on loopback and answers only to localhost, 127.0.0.1 or [::1] in Host"))
        }
        let parts = r.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let isRead = r.method == "GET" || r.method == "HEAD"
        func onlyGet(_ route: String, _ body: () -> HTTPResponse) -> (String, HTTPResponse) {
            guard isRead else { return (route, HTTPResponse(status: 405, headers: [("Allow", "GET, HEAD"), ("Content-Type", "application/json")],
                                                            body: HTTPResponse.error(405, "\(r.method) is not allowed here; GET is").body)) }
            return (route, body())
        }
        switch parts.count {
        case 0: return onlyGet("list") { listPage(r) }
        case 1 where parts[0] == "metrics": return onlyGet("metrics") { metrics() }
        case 1 where parts[0] == "healthz": return onlyGet("healthz") { .text(200, "ok\n") }
        case 2 where parts[0] == "static": return onlyGet("static") { Assets.response(parts[1]) ?? .error(404, "no such file") }
        case 2 where parts[0] == "d": return onlyGet("deployment") { deploymentPage(parts[1]) }
        case 2 where parts == ["api", "deployments"]: return onlyGet("api_list") { apiList(r) }
        case 2 where parts == ["api", "stream"]: return onlyGet("stream") { stream(r) }
        case 3 where parts[0] == "api" && parts[1] == "deployments": return onlyGet("api_deployment") { apiDeployment(parts[2]) }
        case 4 where parts[0] == "api" && parts[1] == "deployments":
            guard let kind = ActionRequest.Kind(rawValue: parts[3]) else { break }
            guard r.method == "POST" else {
                return ("action", HTTPResponse(status: 405, headers: [("Allow", "POST"), ("Content-Type", "application/json")],
                                               body: HTTPResponse.error(405, "\(kind.rawValue) is a POST").body))
            }
            return ("action", action(kind, id: parts[2], r))
        default: break
        }
        return ("other", .error(404, "no such page: \(r.path)"))
    }

    static func isLoopbackHost(_ host: String?) -> Bool {
        guard let host = host?.lowercased() else { return false }
        let name: Substring
        if host.hasPrefix("[") {
            name = host.split(separator: "]").first.map { $0.dropFirst() } ?? ""
            return name == "::1"
        }
        name = host.split(separator: ":", maxSplits: 1).first ?? ""
        return name == "localhost" || ListenAddress.isLoopbackIPv4(String(name))
    }

    func failure(_ error: Error) -> HTTPResponse {
        if let e = error as? HTTPParseError { return .error(e.status, e.description) }
        return .error(500, "could not read the state in \(store.location): \(error)")
    }

    func html(_ text: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
        ], body: .bytes(Array(text.utf8)))
    }

    func json(_ text: String) -> HTTPResponse {
        .text(200, text.hasSuffix("\n") ? text : text + "\n", type: "application/json")
    }

    func listPage(_ r: HTTPRequest) -> HTTPResponse {
        do {
            let now = clock()
            let filter = try ListFilter(r, now: now)
            let (page, total) = try store.history(filter.query)
            return html(Pages.list(board: board.snapshot(), page: page, total: total, filter: filter, actions: actions != nil, now: now))
        } catch {
            return failure(error)
        }
    }

    func deploymentPage(_ id: String) -> HTTPResponse {
        do {
            let generation = board.currentGeneration
            guard let d = try store.deployment(id: id) else { return .error(404, "no deployment \(id) in \(store.location)") }
            let events = try store.events(deploymentId: id)
            let lease = d.state.isTerminal ? nil : try store.lease(deploymentId: id)
            return html(Pages.deployment(d, events: events, lease: lease, generation: generation, actions: actions != nil, now: clock()))
        } catch {
            return failure(error)
        }
    }

    func apiList(_ r: HTTPRequest) -> HTTPResponse {
        do {
            let filter = try ListFilter(r, now: clock(), defaultLimit: 20)
            return json(try views.list(store.historyPage(filter.query)))
        } catch {
            return failure(error)
        }
    }

    func apiDeployment(_ id: String) -> HTTPResponse {
        do {
            guard let d = try store.deployment(id: id) else { return .error(404, "no deployment \(id) in \(store.location)") }
            return json(try views.deployment(d, events: store.events(deploymentId: id)))
        } catch {
            return failure(error)
        }
    }

    func metrics() -> HTTPResponse {
        let snapshot = board.snapshot()
        let releases = metricsCache.text(for: snapshot.generation) { MetricsText.releases(snapshot) }
        return .text(200, releases + MetricsText.server(snapshot, requests: requests.all, now: clock()), type: MetricsText.contentType)
    }

    /// Server-Sent Events: `change` when the board saw the list (or `deployment`) change, a comment as heartbeat.
    func stream(_ r: HTTPRequest) -> HTTPResponse {
        let deployment = r.value("deployment")
        let board = self.board, settings = self.settings
        let start = board.currentGeneration
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")],
                            body: .stream { out in
            var seen = start
            var lastWrite = Date()
            guard out.write("retry: 2000\nevent: hello\ndata: {\"generation\":\(seen)}\n\n") else { return }
            while out.pause(settings.streamTick) {
                if let now = board.changed(after: seen, deployment: deployment) {
                    seen = now
                    guard out.write("event: change\ndata: {\"generation\":\(now)}\n\n") else { return }
                    lastWrite = Date()
                } else if Date().timeIntervalSince(lastWrite) >= settings.heartbeat {
                    guard out.write(": heartbeat\n\n") else { return }
                    lastWrite = Date()
                }
            }
        })
    }

    /// POST /api/deployments/ID/promote|rollback, JSON `{"actor": "NAME", "reason": "WHY"}`, with the bearer token.
    func action(_ kind: ActionRequest.Kind, id: String, _ r: HTTPRequest) -> HTTPResponse {
        guard let actions, let token else {
            return .error(403, "actions are off: this server was started without --allow-actions; run `switchyard \(kind.rawValue) \(id)` instead")
        }
        guard token.accepts(authorization: r.headers["authorization"]) else {
            var refused = HTTPResponse.error(401, "give the serve token as `Authorization: Bearer TOKEN`")
            refused.headers.append(("WWW-Authenticate", "Bearer realm=\"switchyard\""))
            return refused
        }
        // A page on another site cannot send this without a CORS preflight, which this server never grants.
        guard r.headers["content-type"]?.lowercased().hasPrefix("application/json") == true else {
            return .error(415, "send the body as application/json: {\"actor\": \"NAME\", \"reason\": \"WHY\"}")
        }
        if let origin = r.headers["origin"], let host = r.headers["host"], origin != "http://\(host)" {
            return .error(403, "a request from \(origin) is not this page's own")
        }
        do {
            let request = try Self.actionRequest(kind, id: id, body: r.body)
            guard try store.deployment(id: id) != nil else { return .error(404, "no deployment \(id) in \(store.location)") }
            let outcome = actions.perform(request)
            let body = (try? JSONSerialization.data(withJSONObject: ["message": outcome.message, "deployment": id, "action": kind.rawValue], options: [.sortedKeys])) ?? Data()
            return HTTPResponse(status: outcome.status, headers: [("Content-Type", "application/json")], body: .bytes(Array(body) + [0x0A]))
        } catch {
            return failure(error)
        }
    }

    /// The action's body, checked: a name for the audit log (1-64 printable characters), an optional reason (≤ 500).
    static func actionRequest(_ kind: ActionRequest.Kind, id: String, body: [UInt8]) throws -> ActionRequest {
        func bad(_ text: String) -> HTTPParseError { HTTPParseError(status: 400, description: text) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw bad("the body is not a JSON object: send {\"actor\": \"NAME\", \"reason\": \"WHY\"}")
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "actor" && $0 != "reason" }) {
            throw bad("unknown key `\(unknown)` in the body; it takes actor and reason")
        }
        guard let actor = object["actor"] as? String, !actor.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw bad("name who acts: {\"actor\": \"NAME\"} (it goes into the audit log)")
        }
        guard actor.count <= 64, actor.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw bad("actor must be at most 64 printable characters")
        }
        let reason = object["reason"] as? String
        if object["reason"] != nil && reason == nil { throw bad("reason must be a string") }
        if let reason, reason.count > 500 || reason.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw bad("reason must be at most 500 printable characters on one line")
        }
        if kind == .promote, reason != nil { throw bad("promote takes no reason") }
        return ActionRequest(kind: kind, deploymentId: id, reason: reason?.isEmpty == true ? nil : reason,
                             actor: actor.trimmingCharacters(in: .whitespaces))
    }

    /// Reads the store's changes every `interval` on a thread of its own until `stop` says so; `report` hears each
    /// failed read (the board keeps its last reading).
    public func refreshing(every interval: TimeInterval, stop: @escaping @Sendable () -> Bool, report: @escaping @Sendable (Error) -> Void) {
        let store = self.store, board = self.board
        let thread = Thread {
            var failing = false
            while !stop() {
                do {
                    try board.refresh(store)
                    failing = false
                } catch {
                    if !failing { report(error) }
                    failing = true
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.start()
    }
}

/// One rendered text kept for the board generation it was made from.
final class TextCache: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: (generation: Int, text: String)?

    func text(for generation: Int, _ make: () -> String) -> String {
        lock.lock()
        if let kept, kept.generation == generation {
            lock.unlock()
            return kept.text
        }
        lock.unlock()
        let text = make()
        lock.lock()
        kept = (generation, text)
        lock.unlock()
        return text
    }
}
