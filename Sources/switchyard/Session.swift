import AWS
import Crypto
import Foundation
import Logging
import Orchestrator
import SQLiteStateStore
import StateStore
import SwitchyardCore

/// What every command needs from the process: logging, who is acting, the AWS clients, the deployment file.
enum Session {
    private static let bootstrap: Void = {
        let level = ProcessInfo.processInfo.environment["SWITCHYARD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { _ in ConsoleLogHandler(level: level) }
    }()

    /// The crash tests' kill switch, read only by debug builds (the e2e suite's): a release build, the one shipped, has
    /// no way to make itself SIGKILL mid-release, and does not even hold the variable's name.
    #if SWITCHYARD_TESTING
    static var crashPoint: CrashPoint? { CrashPoint(ProcessInfo.processInfo.environment["SWITCHYARD_TEST_CRASH"]) }
    #endif

    /// Warns about settings in the environment that would otherwise be ignored without a word.
    static func checkEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let level = environment["SWITCHYARD_LOG_LEVEL"], !level.isEmpty, Logger.Level(rawValue: level) == nil {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            Console.error("warning: SWITCHYARD_LOG_LEVEL=\(level) is not a level; using warning. The levels: \(names)")
        }
    }

    static func logger(_ label: String = "switchyard") -> Logger {
        _ = bootstrap
        return Logger(label: label)
    }

    /// The person acting, as user@host, for the audit log.
    static var actor: String {
        let env = ProcessInfo.processInfo.environment
        let account = getpwuid(getuid()).flatMap { $0.pointee.pw_name }.map { String(cString: $0) }
        let user = env["SWITCHYARD_ACTOR"] ?? env["USER"] ?? env["LOGNAME"] ?? account ?? "uid\(getuid())"
        if env["SWITCHYARD_ACTOR"] != nil { return user }
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        return "\(user)@\(host)"
    }

    /// The AWS clients for a region, with credentials and endpoints resolved as the AWS SDKs do. Credentials are
    /// first fetched at the first call, which is a read in every command, so a bad setup changes nothing.
    static func aws(region: String, logger: Logger) throws -> (AWSClients, AWSClient) {
        let environment = ProcessInfo.processInfo.environment
        let transport = CurlTransport.shared
        let configuration = try AWSConfiguration.resolve(
            environment: environment, region: region, homeDirectory: homeDirectory(environment), transport: transport)
        let client = try configured(AWSClient(configuration: configuration, transport: transport, logger: logger))
        return (AWSClients(client: client), client)
    }

    /// A client with the environment's timeout and deadline, saying each wait and clock correction on stderr.
    static func configured(_ client: AWSClient) throws -> AWSClient {
        try checkDurations()
        var client = client
        client.timeout = try awsTimeout()
        client.deadline = try duration("SWITCHYARD_AWS_DEADLINE", default: 60, from: 1000, to: 3_600_000, example: "2m")
        client.notice = { Console.error("warning: \($0)") }
        return client
    }

    /// The per-request timeout of AWS calls: `SWITCHYARD_AWS_TIMEOUT` (a duration such as `5s`), default 20 s.
    static func awsTimeout() throws -> TimeInterval {
        try duration("SWITCHYARD_AWS_TIMEOUT", default: 20, from: 100, to: 600_000, example: "5s")
    }

    /// A duration from the environment, within bounds given in milliseconds; anything else is a usage error (exit 2).
    static func duration(_ name: String, default value: TimeInterval, from low: Int64, to high: Int64, example: String) throws -> TimeInterval {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return value }
        guard let span = TimeSpan(parsing: text), span.milliseconds >= low, span.milliseconds <= high else {
            let bound = { (ms: Int64) in ms % 60_000 == 0 ? "\(ms / 60_000)m" : ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms" }
            throw UsageError("\(name) must be a duration between \(bound(low)) and \(bound(high)), such as \(example) (got \"\(text)\")")
        }
        return span.seconds
    }

    /// Checks the environment's durations before anything is read or changed (exit 2 on a bad one).
    static func checkDurations() throws {
        _ = try awsTimeout()
        _ = try duration("SWITCHYARD_AWS_DEADLINE", default: 60, from: 1000, to: 3_600_000, example: "2m")
        _ = try duration("SWITCHYARD_TAG_SETTLE", default: 2, from: 0, to: 60_000, example: "2s")
        _ = try duration("SWITCHYARD_READ_SETTLE", default: ReadConsistency.defaultWindow, from: 0, to: 60_000, example: "5s")
    }

    /// Runs work that changes nothing in AWS (planning, reading): a signal ends it at once, with nothing changed.
    static func beforeAnyChange<T: Sendable>(_ stop: StopRequest, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await stop.abandoning(body)
        } catch let stopped as StoppedBySignal {
            throw StoppedEarly(description: "\(stopped.signal) while \(what): nothing was changed in AWS, and no deployment was recorded")
        }
    }

    /// Housekeeping at `start`: a signal stops it between two steps and ends the command (exit 5).
    /// Returns how many blues were due (0: nothing was done, and a read made just before still holds).
    static func housekeepingBeforeStart(_ stop: StopRequest, store: StateStore, service: String, logger: Logger) async throws -> Int {
        // A retirement stops between two steps (its settle and drain deadlines stored), never mid-request: a fleet
        // half-deregistered is not left without a record of it.
        let swept = await housekeeping(store: store, service: service, logger: logger, stop: stop)
        if let signal = stop.signal {
            throw StoppedEarly(description: "\(signal) while retiring blues past their retention: "
                + (swept.due > 0 ? "the retirement stopped between two steps, its deadlines stored (the next `start` or `switchyard gc` goes on); " : "")
                + "nothing else was changed")
        }
        return swept.due
    }

    /// `$HOME` first, as the AWS CLI expands `~`, then the user database.
    static func homeDirectory(_ environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        if let entry = getpwuid(getuid()), let directory = entry.pointee.pw_dir { return String(cString: directory) }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// How long a lease lives without a heartbeat; the holder renews it every third of that.
    /// `SWITCHYARD_LEASE_TTL` (a duration from 1s to 10m) changes it; 15 s by default.
    static let leaseTTL: TimeInterval = {
        guard let text = ProcessInfo.processInfo.environment["SWITCHYARD_LEASE_TTL"], let span = TimeSpan(parsing: text),
              span.milliseconds >= 1000, span.milliseconds <= 600_000 else { return 15 }
        return span.seconds
    }()

    /// The loop that runs a deployment, printing one line per stored change. SIGINT and SIGTERM stop it at the next
    /// safe point (exit 5, resumable); a second signal exits at once.
    static func runner(store: StateStore, aws: AWSClients, actor: String, logger: Logger, holding: DeploymentRunner.Holding?,
                       detachAtPause: Bool = false, live: LiveView? = nil, facts: PlanFacts? = nil, showing: String? = nil,
                       plain: PlainProgress? = nil) -> DeploymentRunner {
        let clock = SystemClock()
        let stop = stopOnSignals()
        let effects = HookEffects(inner: AWSEffects(aws: aws, logger: logger, clock: clock, facts: facts), stop: stop)
        var runner = DeploymentRunner(
            store: store, effects: effects, clock: clock, actor: actor, logger: logger,
            holding: holding, stop: stop, detachAtPause: detachAtPause,
            onChange: { d, log, at in
                // An earlier deployment's event (its retention ended by this release) is stored and notified, but this
                // release's output shows only its own; the retirement is said once, in its own words.
                if let live {
                    live.event(d, log, at: at)
                } else if showing == nil || showing == d.id {
                    Console.error(Console.progressLine(d, log, at: at))
                    plain?.printed(d)
                }
                notifier.notify(d, log, at: at)
            },
            onUpdate: { d in
                live?.update(d)
                plain?.update(d)
            })
        #if SWITCHYARD_TESTING
        runner.crash = crashPoint
        #endif
        return runner
    }

    /// Runs a deployment with the live view on a terminal (one plain line per event elsewhere).
    /// `facts` are the planner's answers when this process created the deployment.
    static func drive(_ d: Deployment, store: StateStore, aws: AWSClients, actor: String, logger: Logger,
                      holding: DeploymentRunner.Holding?, detachAtPause: Bool = false, facts: PlanFacts? = nil) async throws -> Deployment {
        let live = LiveView.wanted ? LiveView(deploymentId: d.id) : nil
        let plain = live == nil ? PlainProgress(deploymentId: d.id) : nil
        live?.update(d)
        live?.start()
        plain?.printed(d)
        plain?.start()
        defer {
            live?.stop()
            plain?.stop()
        }
        return try await runner(store: store, aws: aws, actor: actor, logger: logger, holding: holding,
                                detachAtPause: detachAtPause, live: live, facts: facts, showing: d.id, plain: plain).run(d)
    }

    /// With `--json`, prints the deployment as stored now, as `show ID --json` does (with its events), on stdout:
    /// CI reads the id, the state and the reason without parsing stderr.
    static func printFinal(_ id: String, store: StateStore, json: Bool) throws {
        guard json, let d = try store.deployment(id: id) else { return }
        Console.out(try JSONViews.encode(JSONViews.DeploymentView(d, events: try store.events(deploymentId: id))))
    }

    /// Runs a release and, with `--json`, prints the deployment also when it stops short of its end (detached at a
    /// manual gate, interrupted by a signal), as docs/commands.md promises: CI reads the id and `paused` from stdout.
    static func printingWhenStopped<T>(_ id: String, store: StateStore, json: Bool, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error where error is DetachedAtGate || error is Interrupted {
            try printFinal(id, store: store, json: json)
            throw error
        }
    }

    /// The webhooks of `notify:`, for every command that runs a deployment; flushed before the process exits.
    static let notifier = Notifier(logger: logger("switchyard.notify"))

    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []
    private static let stopRequest: StopRequest = {
        let stop = StopRequest()
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.request(name) != nil {
                    Console.error("second signal: exiting now; the state file still allows `switchyard resume`")
                    SQLiteStateStore.checkpointAll()
                    exit(Exit.interrupted.rawValue)
                }
                Console.error("\(name): stopping at the next safe point (again to exit at once)")
            }
            source.resume()
            signalSources.append(source)
        }
        return stop
    }()

    /// Removes the listener's switchyard:deployment tag once the deployment is over (best effort: a left-over tag of a
    /// finished deployment never blocks a start from the same state file).
    static func releaseListener(_ listener: ListenerGuard, _ d: Deployment) async {
        guard d.state.isTerminal else { return }
        do {
            try await listener.release(for: d.id)
        } catch {
            Console.error("warning: could not remove the \(ListenerGuard.tagKey) tag from \(listener.resourceArn): \(Failure.message(for: error))")
        }
    }

    /// Installs the SIGINT/SIGTERM handlers once and returns the stop request they set.
    static func stopOnSignals() -> StopRequest { stopRequest }

    /// Retires the blue of completed releases whose retention is over (of one service, or all), saying so on stderr
    /// (with each step of the retirement: its settle, its deregistration, its drain). Best effort: a problem is
    /// reported and left for the next command, which goes on from where the record says the retirement got to.
    /// Returns how many blues were due, whether every one of them was retired, and the groups retired.
    @discardableResult
    static func housekeeping(store: StateStore, service: String?, logger: Logger, stop: StopRequest? = nil) async -> (due: Int, clean: Bool, retired: Set<String>) {
        let keeper = Housekeeper(store: store, clock: SystemClock(), actor: actor, effects: { spec in
            AWSEffects(aws: try aws(region: spec.region, logger: logger).0, logger: logger)
        }, onChange: { d, log, at in
            Console.error(Console.progressLine(d, log, at: at))
            notifier.notify(d, log, at: at)
        }, stop: stop)
        do {
            let due = try keeper.due(service: service)
            guard !due.isEmpty else { return (0, true, []) }
            var clean = true
            var retired: Set<String> = []
            for outcome in await keeper.collect(due) {
                let d = outcome.deployment
                if d.state == .failed {
                    Console.error(outcome.problem.map { "warning: the test route of deployment \(d.id) could not be removed: \($0)" }
                        ?? "removed the test route left by deployment \(d.id) (\(d.service))")
                    clean = clean && outcome.problem == nil
                } else if let problem = outcome.problem {
                    clean = false
                    Console.error("warning: blue \(d.plan.blue.autoScalingGroup) of deployment \(d.id) is past its retention but was left alone: \(problem)")
                } else {
                    retired.insert(d.plan.blue.autoScalingGroup)
                    Console.error("retired blue \(d.plan.blue.autoScalingGroup) of deployment \(d.id) (\(d.service)): its retention ended \(d.retentionDeadline.map(Console.time) ?? "")")
                }
            }
            return (due.count, clean, retired)
        } catch {
            Console.error("warning: could not retire expired blue groups: \(Failure.message(for: error))")
            return (1, false, [])
        }
    }

    /// Why a file the command was given could not be read, in the words `ls` would use.
    static func whyUnreadable(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "no such file" }
        return isDirectory.boolValue ? "is a directory; give a file" : "permission denied"
    }

    /// Reads and validates a deployment file; returns the spec and the SHA-256 of the file's bytes.
    static func loadSpec(path: String) throws -> (DeploymentSpec, String) {
        // Refused before reading: a multi-megabyte mistake costs neither the time nor the memory of parsing it.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > DeploymentFile.maxBytes {
            throw DeploymentFile.tooLarge(path: path, bytes: size)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read the deployment file \(path): \(whyUnreadable(path))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw UsageError("the deployment file \(path) is not UTF-8 text")
        }
        let spec = try DeploymentFile.parse(text, path: path)
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        return (spec, digest)
    }

    /// A new deployment id: sortable by time, with a random suffix so two starts in one second differ.
    static func newDeploymentId(now: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return formatter.string(from: now) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}

/// The command stopped on a signal before its deployment began; the description says what was changed (exit 5).
struct StoppedEarly: Error, CustomStringConvertible {
    var description: String
}

/// A mistake in how the command was called: exit code 2.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
