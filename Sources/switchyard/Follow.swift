import Foundation
import Logging
import Orchestrator
import StateStore
import SwitchyardCore

extension Session {
    /// After an operator request was written: waits while a live process runs the deployment, echoing its events, until
    /// `done(deployment, requestsHandled)`; when nobody runs it (or its process stops), takes the lease and runs it here.
    static func follow(_ id: String, store: StateStore, actor: String, logger: Logger,
                       done: (Deployment, Bool) -> Bool) async throws -> Deployment {
        let holder = LeaseHolder(actor: actor)
        var seen = try store.events(deploymentId: id).last?.id ?? 0
        while true {
            guard let d = try store.deployment(id: id) else { throw StateStoreError.unknownDeployment(id) }
            for event in try store.events(deploymentId: id) where event.id > seen {
                seen = event.id
                Console.error(Console.progressLine(d, LogEntry(from: event.from, to: event.to, message: event.message), at: event.at))
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
            let (aws, _) = try Session.aws(region: d.plan.spec.region, logger: logger)
            let final = try await drive(d, store: store, aws: aws, actor: actor, logger: logger, holding: holding)
            await releaseListener(ListenerGuard(aws: aws, spec: d.plan.spec), final)
            return final
        }
    }
}
