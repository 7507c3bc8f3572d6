import Foundation
import Logging
import Orchestrator
import StateStore
import SwitchyardCore

extension Session {
    /// After an operator request was written: waits while a live process runs the deployment, echoing its events, until
    /// `done(deployment, requestsHandled)`; when nobody runs it (or its process stops), takes the lease and runs it here.
    /// `rollback` says whether the request is a rollback: a takeover then refuses with exit 2 what is unsafe.
    static func follow(_ id: String, store: StateStore, actor: String, logger: Logger, rollback: Bool = false,
                       done: (Deployment, Bool) -> Bool) async throws -> Deployment {
        let holder = LeaseHolder(actor: actor)
        var seen = try store.events(deploymentId: id).last?.id ?? 0
        while true {
            guard let d = try store.deployment(id: id) else { throw StateStoreError.unknownDeployment(id) }
            for event in try store.events(deploymentId: id) where event.id > seen {
                seen = event.id
                Console.error(Console.progressLine(d, event: event))
            }
            let handled = try store.pendingRequests(deploymentId: id).isEmpty
            if done(d, handled) { return d }
            let now = Date()
            if let lease = try store.lease(service: d.service), lease.isLive(at: now) {
                if lease.deploymentId != id { throw LeaseError.held(lease, at: now) }
                try await Task.sleep(nanoseconds: 100_000_000)
                continue
            }
            // Nobody runs it: take the lease and run it here.
            let holding = DeploymentRunner.Holding(holder: holder, ttl: leaseTTL)
            do {
                if let stale = try store.acquireLease(deploymentId: id, service: d.service, holder: holder, at: now, ttl: holding.ttl) {
                    Console.error("taking over from \(stale.describe(at: now)), which no longer runs it")
                }
            } catch LeaseError.held {
                continue
            }
            defer { try? store.releaseLease(service: d.service, holder: holder) }
            // The record read above may predate the last save of the process that just let the lease go (its final
            // state, saved before it released the lease): read it again now that no one else can write it.
            guard let current = try store.deployment(id: id) else { throw StateStoreError.unknownDeployment(id) }
            for event in try store.events(deploymentId: id) where event.id > seen {
                seen = event.id
                Console.error(Console.progressLine(current, event: event))
            }
            if done(current, try store.pendingRequests(deploymentId: id).isEmpty) { return current }
            let provider = try Session.provider(for: current.plan.spec, logger: logger)
            return try await takeOver(current, store: store, provider: provider, actor: actor, logger: logger, holding: holding, rollback: rollback)
        }
    }

    /// Runs a stored deployment that this process now holds the lease of: the one path of `resume`, `promote` and
    /// `rollback` when they take a deployment over. Reads the listener and both groups, reconciles the record with what
    /// AWS shows (stored, with the audit entry), refuses what is unsafe before touching anything, claims the listener,
    /// then runs the loop. For a `rollback`, a refusal is exit 2 and also covers undoing a completed release onto a
    /// blue that is gone or smaller than the green serving the traffic; for the others it is exit 1.
    static func takeOver(_ d: Deployment, store: StateStore, provider: any ReleaseProvider, actor: String, logger: Logger,
                         holding: DeploymentRunner.Holding, detachAtPause: Bool = false, rollback: Bool = false) async throws -> Deployment {
        let stop = stopOnSignals()
        // A rollback never gives up while AWS is merely out of reach, not even before it runs: the reads and the claim
        // that precede it are tried again the same way, the lease renewed meanwhile.
        let patient = rollback || d.state == .rollingBack
        let renew: @Sendable () throws -> Void = {
            try store.renewLease(service: d.service, deploymentId: d.id, holder: holding.holder, at: Date(), ttl: holding.ttl)
        }
        // What the cloud shows that its plan does not explain (the listener gone) is a failure, exit 1: the
        // provider says so (`ObservationRefused`).
        let observed = try await beforeAnyChange(stop, "reading what deployment \(d.id) runs on",
                                                 unchanged: "nothing was changed in AWS, and deployment \(d.id)'s record is as it was") {
            try await untilReached("reading what deployment \(d.id) runs on", patient: patient, provider: provider, ttl: holding.ttl, renew: renew) {
                try await provider.observe(d)
            }
        }
        let reconciled = Machine.reconcile(d, observed: observed, actor: actor, now: Date())
        let current = try store.save(reconciled.deployment, log: reconciled.log, actor: actor, at: Date(), holder: holding.holder)
        Console.error(Console.progressLine(current, reconciled.log, at: Date()))
        let refusal = reconciled.unsafe ?? (rollback ? Machine.undoRefusal(d, observed: observed) : nil)
        if let refusal {
            guard rollback else { throw UnexpectedFailure(description: "not going on with deployment \(d.id): \(refusal)") }
            if reconciled.unsafe == nil {
                let log = LogEntry(from: d.state, to: d.state, message: "rollback refused: \(refusal)", details: ["actor": actor])
                try store.save(current, log: log, actor: actor, at: Date())
            }
            for request in try store.pendingRequests(deploymentId: d.id) { try store.markHandled(request, at: Date()) }
            throw RollbackRefused(description: "deployment \(d.id) was not rolled back: \(refusal)")
        }
        let listener = provider.fence(d.plan.spec)
        do {
            try await stop.abandoning {
                try await untilReached("tagging \(listener.resource) for deployment \(d.id)", patient: patient, provider: provider, ttl: holding.ttl, renew: renew) {
                    try await listener.claim(for: d.id) { owner in ((try? store.deployment(id: owner))??.state.isTerminal ?? false) }
                }
            }
        } catch let stopped as StoppedBySignal {
            throw StoppedEarly(description: "\(stopped.signal) while tagging \(listener.resource) for deployment \(d.id): its record is as "
                + "it was; the tag may stand, naming this deployment, and `switchyard resume \(d.id)` takes it again")
        }
        let final = try await drive(current, store: store, provider: provider, actor: actor, logger: logger, holding: holding,
                                    detachAtPause: detachAtPause)
        await releaseListener(listener, final)
        return final
    }

    /// Runs `body`; when `patient` and it failed only because AWS could not be reached (no answer within the call's
    /// deadline, throttled or busy past its retries), says so and runs it again after 1 s, doubling to 30 s, as a
    /// rollback's effects are (`EffectRetry.delay`), until it goes through or the task is cancelled (a signal).
    /// `renew` keeps this process's lease alive in the waits, every third of `ttl`.
    static func untilReached<T: Sendable>(_ what: String, patient: Bool, provider: any ReleaseProvider, ttl: TimeInterval, renew: @escaping @Sendable () throws -> Void,
                                          _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch where patient && provider.isUnreachable(error) && !Task.isCancelled {
                attempt += 1
                let delay = EffectRetry.delay(after: attempt)
                Console.error("warning: \(what) could not reach AWS (attempt \(attempt)): \(Failure.message(for: error)); trying again in \(Int(delay)) s "
                    + "(a rollback does not give up while AWS is out of reach: Ctrl-C stops it)")
                let until = Date().addingTimeInterval(delay)
                while Date() < until {
                    try renew()
                    try await Task.sleep(nanoseconds: UInt64(min(until.timeIntervalSinceNow, ttl / 3) * 1_000_000_000))
                }
                try renew()
            }
        }
    }
}
