import ArgumentParser
import Foundation
import Logging
import Orchestrator
import StateStore
import SwitchyardCore

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll a deployment back: all traffic to blue in one listener change, then green torn down.",
        discussion: """
            If a live process runs the deployment, the request goes to it through the state file and it rolls back \
            within one check interval; this command follows it to the end. If nobody runs it, this command rolls back \
            itself. A completed release can be undone while its blue is retained (promotion.blue_retention): traffic \
            goes back to blue at once. A failed rollback is retried. Exit 0 when the deployment ends rolled back, 1 \
            when it fails, 2 when it cannot be rolled back (rolled back already is not an error), 4 when another \
            deployment of the service is active.
            """)

    @Argument(help: "The deployment id.") var id: String
    @Option(help: "Why: goes into the audit log.") var reason: String?
    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Failure.reporting {
            let logger = Session.logger()
            guard let store = try state.openIfExists(), let d = try store.deployment(id: id) else {
                throw UsageError("no deployment \(id) in \(state.path)")
            }
            let actor = Session.actor
            let now = Date()
            switch d.state {
            case .rolledBack:
                Console.error("deployment \(id) is already rolled back: \(d.rollbackReason ?? "no reason recorded")")
                return .success
            case .completed:
                guard d.blueRetained(at: now) else { throw RollbackRefused.blueGone(d, now: now) }
                if let other = try store.deployments(service: d.service, limit: 1, activeOnly: true).first {
                    throw StateStoreError.activeDeploymentExists(id: other.id, state: other.state, since: other.createdAt)
                }
            default:
                break
            }
            try store.addRequest(deploymentId: id, kind: .rollback, reason: reason ?? "no reason given", actor: actor, at: now)
            Console.error("rollback of \(id) requested by \(actor)")
            let final = try await follow(d, store: store, actor: actor, logger: logger)
            switch final.state {
            case .rolledBack:
                Console.error("deployment \(id) rolled back: traffic is 100% on blue \(final.plan.blue.autoScalingGroup)")
                return .success
            case .failed:
                Console.error("deployment \(id) failed: \(final.failureReason ?? "no reason recorded")")
                return .failed
            default:
                Console.error("deployment \(id) is \(final.state); continue with `switchyard rollback \(id)`")
                return .failed
            }
        }
    }

    /// Waits while a live process runs the deployment, echoing its events; runs it here when nobody does (or stops).
    private func follow(_ start: Deployment, store: StateStore, actor: String, logger: Logger) async throws -> Deployment {
        let holder = LeaseHolder(actor: actor)
        var seen = try store.events(deploymentId: id).last?.id ?? 0
        while true {
            guard let d = try store.deployment(id: id) else { throw StateStoreError.unknownDeployment(id) }
            for event in try store.events(deploymentId: id) where event.id > seen {
                seen = event.id
                Console.error(Console.progressLine(d, LogEntry(from: event.from, to: event.to, message: event.message), at: event.at))
            }
            let handled = try store.pendingRequests(deploymentId: id).isEmpty
            if d.state == .rolledBack || (d.state.isTerminal && handled) {
                return d
            }
            let now = Date()
            let lease = try store.lease(service: d.service)
            if let lease, lease.isLive(at: now) {
                if lease.deploymentId != id {
                    throw LeaseError.held(lease, at: now)
                }
                try await Task.sleep(nanoseconds: 100_000_000)
                continue
            }
            // Nobody runs it: take the lease and roll back here.
            let holding = DeploymentRunner.Holding(holder: holder, ttl: Session.leaseTTL)
            do {
                if let stale = try store.acquireLease(deploymentId: id, service: d.service, holder: holder, at: now, ttl: holding.ttl) {
                    Console.error("taking over from \(stale.describe(at: now)), which no longer runs it")
                }
            } catch LeaseError.held {
                continue
            }
            defer { try? store.releaseLease(service: d.service, holder: holder) }
            let (aws, _) = try Session.aws(region: d.plan.spec.region, logger: logger)
            let final = try await Session.runner(store: store, aws: aws, actor: actor, logger: logger, holding: holding).run(d)
            await Session.releaseListener(ListenerGuard(aws: aws, spec: d.plan.spec), final)
            return final
        }
    }
}

/// A rollback that cannot be done (exit 2).
struct RollbackRefused: Error, CustomStringConvertible {
    var description: String

    static func blueGone(_ d: Deployment, now: Date) -> RollbackRefused {
        let why: String
        if let retired = d.blueRetiredAt {
            why = "its blue \(d.plan.blue.autoScalingGroup) was retired at \(Console.time(retired))"
        } else {
            why = "its blue retention ended at \(d.retentionDeadline.map(Console.time) ?? "promotion")"
        }
        return RollbackRefused(description: "deployment \(d.id) completed and \(why), so there is no blue to go back to. "
            + "To return to \(d.plan.blue.imageId), release it: `switchyard start FILE --ami \(d.plan.blue.imageId)`.")
    }
}
