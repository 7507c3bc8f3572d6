import Foundation
import Logging
import StateStore
import SwitchyardCore

/// A release as an input of the reconcile loop: `Machine.decide` until a terminal state, operator requests from other
/// terminals before each decision, effects whose failures become events, a stop that is stored and resumable.
/// `start`, `resume` and `rollback` run it; the stored record alone says where to go on.
public struct DeploymentRunner: Sendable {
    /// The lease this process holds on the deployment's service, renewed while the loop runs.
    public typealias Holding = ReconcileLoop.Holding

    public let store: StateStore
    public let effects: EffectPerformer
    public let clock: DeploymentClock
    public let actor: String
    public let logger: Logger
    public let holding: Holding?
    /// The longest the loop sleeps before it looks for operator requests again.
    public let requestPoll: TimeInterval
    /// Set by a signal handler: the loop stops at the next safe point, between two effects.
    public let stop: StopRequest?
    #if SWITCHYARD_TESTING
    /// Test-only crash points around effects (see `CrashPoint`); absent from release builds.
    public var crash: CrashPoint?
    #endif
    /// Stop (resumably) instead of waiting at a manual gate: for CI jobs that promote later.
    public let detachAtPause: Bool
    /// Called after every stored change that has an audit-log entry, for progress output.
    public let onChange: @Sendable (Deployment, LogEntry, Date) -> Void
    /// Called after every stored change, logged or not (check results, observations), for a live view.
    public let onUpdate: @Sendable (Deployment) -> Void

    public init(store: StateStore, effects: EffectPerformer, clock: DeploymentClock, actor: String, logger: Logger,
                holding: Holding? = nil, requestPoll: TimeInterval = 0.25, stop: StopRequest? = nil,
                detachAtPause: Bool = false, onChange: @escaping @Sendable (Deployment, LogEntry, Date) -> Void = { _, _, _ in },
                onUpdate: @escaping @Sendable (Deployment) -> Void = { _ in }) {
        self.onUpdate = onUpdate
        self.store = store
        self.effects = effects
        self.clock = clock
        self.actor = actor
        self.logger = logger
        self.holding = holding
        self.requestPoll = requestPoll
        self.stop = stop
        self.detachAtPause = detachAtPause
        self.onChange = onChange
    }

    /// Runs the deployment until it is terminal. Every state change is stored before the next AWS call.
    public func run(_ start: Deployment) async throws -> Deployment {
        let loop = ReconcileLoop(store: store, clock: clock, actor: actor, holding: holding, stop: stop, onChange: onChange, onUpdate: onUpdate)
        return try await loop.run(start, self).deployment
    }
}

extension DeploymentRunner: ReconcileInput {
    public func decide(_ d: Deployment, now: Date) -> Decision? { Machine.decide(d, now: now) }

    public func stoppable(_ d: Deployment, now: Date) -> Bool { !d.state.isTerminal }

    /// The stop is stored in the trail, and the release ends resumable.
    public func stopped(_ d: Deployment, by signal: String, in loop: ReconcileLoop) throws -> String {
        let log = LogEntry(from: d.state, to: d.state, message: "interrupted by \(signal): stopped at a safe point; continue with `switchyard resume \(d.id)`",
                           details: ["signal": signal])
        throw Interrupted(deployment: try loop.persist(Transition(deployment: d, log: log), self), signal: signal)
    }

    /// Applies rollback and promote requests written by other terminals, oldest first.
    public func refresh(_ d: Deployment, in loop: ReconcileLoop) throws -> Deployment {
        var d = d
        for request in try store.pendingRequests(deploymentId: d.id) {
            let event: Event
            switch request.kind {
            case .rollback: event = .rollbackRequested(reason: request.reason ?? "no reason given", actor: request.actor)
            case .promote where request.reason == OperatorRequest.acceptCurrent: event = .acceptCurrentRequested(actor: request.actor)
            case .promote: event = .promoteRequested
            }
            d = try loop.persist(Machine.apply(d, event, now: clock.now()), self, actor: request.actor)
            try store.markHandled(request, at: clock.now())
        }
        return d
    }

    public func willWait(_ d: Deployment, in loop: ReconcileLoop) throws {
        guard detachAtPause && d.state == .paused && !d.promoteRequested else { return }
        let log = LogEntry(from: .paused, to: .paused, message: "detached at the manual gate; continue with `switchyard promote \(d.id)`")
        throw DetachedAtGate(deployment: try loop.persist(Transition(deployment: d, log: log), self))
    }

    public var poll: TimeInterval? { requestPoll > 0 ? requestPoll : nil }

    public func entry(_ log: LogEntry, for d: Deployment) -> LogEntry { log.stamped(with: d) }

    /// The effect's event, or `effectFailed` (`effectUnreachable` when AWS could not be reached); a cancelled task
    /// stops the loop with the record as it was. A signal abandons the effect at once (a hook stops on its own):
    /// whatever it did or returned is left out of the record, which says where it stopped, and `resume` runs it
    /// again, as after a crash.
    public func perform(_ effect: Effect, for d: Deployment, in loop: ReconcileLoop) async throws -> Event {
        #if SWITCHYARD_TESTING
        crash?.reached(.before, effect)
        #endif
        let event = try await outcome(of: effect, d, in: loop)
        #if SWITCHYARD_TESTING
        crash?.reached(.afterCall, effect)
        #endif
        return event
    }

    private func outcome(of effect: Effect, _ d: Deployment, in loop: ReconcileLoop) async throws -> Event {
        do {
            if case .runHook = effect { return try await effects.perform(effect, for: d) }
            guard let stop else { return try await effects.perform(effect, for: d) }
            return try await stop.abandoning { try await effects.perform(effect, for: d) }
        } catch let stopped as StoppedBySignal {
            let log = LogEntry(from: d.state, to: d.state, message: "interrupted by \(stopped.signal) during \(effect.title): its \(d.plan.spec.cloud.name) request was "
                                   + "abandoned (\(d.plan.spec.cloud.name) may or may not have done it; `switchyard resume \(d.id)` looks before it acts again)",
                               details: ["signal": stopped.signal, "effect": effect.title])
            throw Interrupted(deployment: try loop.persist(Transition(deployment: d, log: log), self), signal: stopped.signal)
        } catch is CancellationError {
            throw CancellationError()
        } catch let fenced as FencedOut {
            // Another process owns the listener now: this one must not act (not even roll back) nor write the record.
            throw fenced
        } catch {
            logger.warning("effect failed", metadata: ["deployment.id": "\(d.id)", "effect": "\(effect.title)", "error": "\(error)"])
            if effects.isUnreachable(error) { return .effectUnreachable(effect, message: String(describing: error)) }
            return .effectFailed(effect, message: String(describing: error))
        }
    }

    /// A group this deployment retired from green's target group may be an earlier release's retained blue: that
    /// release's audit trail says its retention ended early, and why.
    public func stored(_ event: Event, of effect: Effect, _ d: Deployment, in loop: ReconcileLoop) throws -> String? {
        #if SWITCHYARD_TESTING
        crash?.reached(.afterSave, effect)
        #endif
        guard case .fleetRetired(let group) = event else { return nil }
        for earlier in try store.retainedBlues(service: d.service) where earlier.id != d.id && earlier.plan.blue.group == group {
            _ = try loop.persist(Machine.apply(earlier, .blueRetired(by: d.id), now: clock.now()), self)
        }
        return nil
    }
}

/// The listener no longer carries this deployment's tag: another process (another state file, or `--force-unlock`)
/// owns it now, so this one stops without changing AWS or its record.
public struct FencedOut: Error, Sendable, CustomStringConvertible {
    public var deploymentId: String
    public var resource: String
    public var owner: String?
    /// The mark on the resource that says who holds it, for the message: "its switchyard:deployment:ID tag".
    public var mark: String
    /// What this deployment had made that stays (its record's state, green), so the message is true.
    public var standing: String?

    /// The cloud the resource is in ("AWS").
    public var cloud: String

    public init(deploymentId: String, resource: String, owner: String?, mark: String, standing: String? = nil, cloud: String = "the cloud") {
        self.cloud = cloud
        self.deploymentId = deploymentId
        self.mark = mark
        self.resource = resource
        self.owner = owner
        self.standing = standing
    }

    public var description: String {
        let who = owner.map { "is tagged for deployment \($0)" } ?? "no longer carries its \(mark) tag"
        guard let standing else {
            return "\(resource) \(who), so deployment \(deploymentId) stopped here without changing \(cloud) or its record"
        }
        return "\(resource) \(who), so deployment \(deploymentId) stopped here, changing nothing more in \(cloud) or in its record: \(standing). "
            + "Once its owner is done, `switchyard resume \(deploymentId)` goes on or `switchyard rollback \(deploymentId)` undoes it"
    }
}

/// The loop stopped at a safe point because a signal asked it to; the deployment is resumable.
public struct Interrupted: Error, Sendable {
    public var deployment: Deployment
    public var signal: String
}

/// The loop stopped at a manual gate because it was asked to detach there; `promote` or `resume` carries on.
public struct DetachedAtGate: Error, Sendable {
    public var deployment: Deployment
}

/// A stop asked for by SIGINT or SIGTERM: seen by the loop between two effects, and ending at once the work run
/// through `abandoning` (an AWS request in flight, a wait).
public final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var _signal: String?
    private var _at: Date?
    private var handlers: [Int: @Sendable () -> Void] = [:]
    private var nextHandler = 0

    public init() {}

    /// The first signal's name, once one arrived.
    public var signal: String? { lock.withLock { _signal } }

    /// Records a signal; returns the time of the earlier one if this is a second.
    @discardableResult
    public func request(_ signal: String, at now: Date = Date()) -> Date? {
        let (earlier, toCall): (Date?, [@Sendable () -> Void]) = lock.withLock {
            if let earlier = _at { return (earlier, []) }
            _signal = signal
            _at = now
            return (nil, Array(handlers.values))
        }
        toCall.forEach { $0() }
        return earlier
    }

    /// Runs `body` until it ends or a signal arrives, whichever comes first: then `body`'s task is cancelled (curl
    /// drops its request, sleeps end) and `StoppedBySignal` is thrown, whatever `body` would have returned.
    public func abandoning<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let id: Int? = lock.withLock {
            guard _signal == nil else { return nil }
            nextHandler += 1
            handlers[nextHandler] = { task.cancel() }
            return nextHandler
        }
        defer { if let id { lock.withLock { _ = handlers.removeValue(forKey: id) } } }
        if id == nil { task.cancel() }
        let result = await task.result
        if let signal { throw StoppedBySignal(signal: signal) }
        return try result.get()
    }
}

/// Work abandoned because a signal asked the process to stop.
public struct StoppedBySignal: Error, Sendable, CustomStringConvertible {
    public var signal: String
    public var description: String { "stopped by \(signal)" }
}

#if SWITCHYARD_TESTING
/// A test-only crash point: the process kills itself (SIGKILL) at a chosen moment around a chosen effect, so the
/// end-to-end tests can prove that `resume` ends a release as an uninterrupted run would. Set from
/// `SWITCHYARD_TEST_CRASH=<moment>:<effect>[:<n>]`, moment one of `before`, `after-call`, `after-save`; effect an
/// effect's kind (`ensureGreenFleet`, `setSplit`, `restoreBlue`, …); n the occurrence (default 1).
public final class CrashPoint: @unchecked Sendable {
    public enum Moment: String, Sendable { case before, afterCall = "after-call", afterSave = "after-save" }

    private let moment: Moment
    private let effect: String
    private let occurrence: Int
    private let lock = NSLock()
    private var seen = 0
    private let die: @Sendable () -> Void

    public init?(_ text: String?, die: @escaping @Sendable () -> Void = { kill(getpid(), SIGKILL) }) {
        guard let parts = text?.split(separator: ":").map(String.init), parts.count >= 2,
              let moment = Moment(rawValue: parts[0]) else { return nil }
        self.moment = moment
        self.effect = parts[1]
        self.occurrence = parts.count > 2 ? Int(parts[2]) ?? 1 : 1
        self.die = die
    }

    func reached(_ moment: Moment, _ effect: Effect) {
        guard moment == self.moment, effect.kind == self.effect else { return }
        let hit = lock.withLock { () -> Bool in
            seen += 1
            return seen == occurrence
        }
        if hit { die() }
    }
}
#endif
