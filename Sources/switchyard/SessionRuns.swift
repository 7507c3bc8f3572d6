import Foundation
import Logging
import Orchestrator
import StateStore
import SwitchyardCore

/// Running a deployment: the reconcile loop with its lease, progress output, webhooks and the listener's tag.
extension Session {
    #if SWITCHYARD_TESTING
    /// The crash tests' kill switch, compiled into debug builds alone (the e2e suite's): a release build, the one
    /// shipped, has no way to make itself SIGKILL mid-release, and does not even hold the variable's name.
    static var crashPoint: CrashPoint? { CrashPoint(ProcessInfo.processInfo.environment["SWITCHYARD_TEST_CRASH"]) }
    #endif

    /// How long a lease lives without a heartbeat; the holder renews it every third of that.
    /// `SWITCHYARD_LEASE_TTL` (a duration from 1s to 10m) changes it; 15 s by default.
    static let leaseTTL: TimeInterval = {
        guard let text = ProcessInfo.processInfo.environment["SWITCHYARD_LEASE_TTL"], let span = TimeSpan(parsing: text),
              span.milliseconds >= 1000, span.milliseconds <= 600_000 else { return 15 }
        return span.seconds
    }()

    /// The loop that runs a deployment, printing one line per stored change. SIGINT and SIGTERM stop it at the next
    /// safe point (exit 5, resumable); a second signal exits at once.
    static func runner(store: StateStore, provider: any ReleaseProvider, actor: String, logger: Logger, holding: DeploymentRunner.Holding?,
                       detachAtPause: Bool = false, live: LiveView? = nil, facts: (any Sendable)? = nil, showing: String? = nil,
                       plain: PlainProgress? = nil) -> DeploymentRunner {
        let clock = SystemClock()
        let stop = stopOnSignals()
        let effects = HookEffects(inner: provider.performer(facts: facts, clock: clock), stop: stop)
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
    static func drive(_ d: Deployment, store: StateStore, provider: any ReleaseProvider, actor: String, logger: Logger,
                      holding: DeploymentRunner.Holding?, detachAtPause: Bool = false, facts: (any Sendable)? = nil) async throws -> Deployment {
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
        return try await runner(store: store, provider: provider, actor: actor, logger: logger, holding: holding,
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

    /// Removes the listener's switchyard:deployment:<id> tag once the deployment is over (best effort: a left-over tag of a
    /// finished deployment never blocks a start from the same state file).
    static func releaseListener(_ listener: any TrafficFence, _ d: Deployment) async {
        guard d.state.isTerminal else { return }
        do {
            try await listener.release(for: d.id)
        } catch {
            Console.error("warning: could not remove the \(listener.mark(for: d.id)) tag from \(listener.resource): \(Failure.message(for: error))")
        }
    }
}
