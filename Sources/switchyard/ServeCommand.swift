import ArgumentParser
import Dashboard
import Foundation
import StateStore
import SwitchyardCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a live dashboard, Prometheus metrics and a JSON API over the state store.",
        discussion: """
            Read-only by default: the list of releases (filterable as `history` is), each release with its traffic \
            chart, its checks' verdicts and the next command to run, live updates while a release runs, /metrics \
            and /api (the JSON of `history --json` and `show --json`). Binds 127.0.0.1 unless --listen says \
            otherwise. --allow-actions with --token-file adds promote and rollback, run as the `promote` and \
            `rollback` commands with the person's name in the audit log. Stops on SIGINT or SIGTERM (exit 0). \
            Exit 1 when the address cannot be bound, 2 on bad flags or an unreadable token file. The reference is \
            in \(DocsLocation.path("http-api.md")).
            """)

    @Option(help: ArgumentHelp("Where to listen: HOST:PORT (0.0.0.0:8470 for every interface; port 0 picks a free one).", valueName: "host:port"))
    var listen = "127.0.0.1:8470"
    @OptionGroup var state: StateOptions
    @Flag(name: .customLong("allow-actions"), help: "Offer promote and rollback (POST, with the bearer token of --token-file).")
    var allowActions = false
    @Option(name: .customLong("token-file"), help: ArgumentHelp("The file whose first line is the bearer token actions need (16+ characters).", valueName: "path"),
            completion: .file())
    var tokenFile: String?
    @Option(help: ArgumentHelp("How often to read the state store for changes.", valueName: "duration")) var poll = "1s"
    @Option(help: ArgumentHelp("How often an idle live-update stream sends a heartbeat.", valueName: "duration")) var heartbeat = "15s"
    @Option(name: .customLong("client-timeout"), help: ArgumentHelp("How long a client may take to send a request (and an idle connection stays open: half of it).", valueName: "duration"))
    var clientTimeout = "10s"

    func validate() throws {
        do { _ = try ListenAddress.parse(listen) } catch { throw ValidationError(String(describing: error)) }
        if allowActions && tokenFile == nil { throw ValidationError("--allow-actions needs --token-file PATH: actions take a bearer token") }
        if tokenFile != nil && !allowActions { throw ValidationError("--token-file is only read with --allow-actions") }
        _ = try Self.span(poll, "--poll", 50, 60_000)
        _ = try Self.span(heartbeat, "--heartbeat", 100, 600_000)
        _ = try Self.span(clientTimeout, "--client-timeout", 100, 600_000)
    }

    static func span(_ text: String, _ flag: String, _ low: Int64, _ high: Int64) throws -> TimeInterval {
        guard let span = TimeSpan(parsing: text), span.milliseconds >= low, span.milliseconds <= high else {
            throw ValidationError("\(flag) must be a duration from \(TimeSpan(milliseconds: low)) to \(TimeSpan(milliseconds: high)), such as 1s (got \"\(text)\")")
        }
        return span.seconds
    }

    func run() async throws {
        try await Failure.reporting {
            let address = try ListenAddress.parse(listen)
            let token = try tokenFile.map(Self.readToken)
            let store = try state.openForReading()
            let board = ReleaseBoard()
            let started = Date()
            try board.refresh(store)
            var settings = Dashboard.Settings()
            settings.loopbackOnly = address.isLoopback
            settings.heartbeat = try Self.span(heartbeat, "--heartbeat", 100, 600_000)
            let actions = allowActions ? ActionRunner(stateArguments: ["--state", state.location.description], serverActor: Session.actor) : nil
            let dashboard = Dashboard(store: store, board: board, views: CLIViews(), actions: actions, token: token, settings: settings)
            var limits = HTTPServer.Limits()
            limits.requestTimeout = try Self.span(clientTimeout, "--client-timeout", 100, 600_000)
            limits.idleTimeout = limits.requestTimeout / 2
            let server = HTTPServer(address: address, limits: limits, handler: dashboard.handle)
            try server.bind()
            let snapshot = board.snapshot()
            let deployments = snapshot.services.reduce(0) { $0 + $1.deployments }
            Console.error("read \(Spelling.count(deployments, "deployment")) of \(Spelling.count(snapshot.services.count, "service")) from \(state.path) "
                + "in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
            Console.error("serving \(address.url(port: server.port)) "
                + (address.isLoopback ? "on loopback only: other machines cannot reach it (--listen 0.0.0.0:\(server.port) opens it to the network)"
                   : "on \(address.host): anyone who can reach this machine can read it")
                + (allowActions ? "; actions on, with the bearer token of \(tokenFile ?? "")" : "; read-only (actions off)"))
            let stop = StopFlag()
            let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    Console.error("\(number == SIGINT ? "SIGINT" : "SIGTERM"): stopping")
                    stop.set()
                    server.stop()
                }
                source.resume()
                return source
            }
            dashboard.refreshing(every: try Self.span(poll, "--poll", 50, 60_000), stop: { stop.isSet }) { error in
                Console.error("warning: could not read the state for changes (the page shows the last reading): \(Failure.message(for: error))")
            }
            server.run()
            withExtendedLifetime(sources) {}
            Console.error("stopped")
            return .success
        }
    }

    /// The token of `--token-file`; the error names the file, never its contents.
    static func readToken(_ path: String) throws -> ActionToken {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw UsageError("cannot read the token file \(path): \(Session.whyUnreadable(path))")
        }
        do {
            return try ActionToken(fileContents: text, path: path)
        } catch {
            throw UsageError(String(describing: error))
        }
    }
}

/// A flag one thread sets and others read.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// The API's JSON is the CLI's: `history --json` and `show --json`, byte for byte.
struct CLIViews: DashboardViews {
    func list(_ deployments: [Deployment]) throws -> String {
        try JSONViews.encode(deployments.map { JSONViews.DeploymentView($0, events: nil) })
    }

    func deployment(_ d: Deployment, events: [StoredEvent]) throws -> String {
        try JSONViews.encode(JSONViews.DeploymentView(d, events: events))
    }
}
