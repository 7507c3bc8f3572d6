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
            If a live process runs the deployment, the request goes to it through the state file and it picks it up \
            within a quarter of a second; this command follows it to the end. If nobody runs it, this command rolls back \
            itself. A completed release can be undone while its blue is retained (promotion.blue_retention): traffic \
            goes back to blue at once. A failed rollback is retried. Exit 0 when the deployment ends rolled back, 1 \
            when it fails, 2 when it cannot be rolled back (rolled back already is not an error), 4 when another \
            deployment of the service is active.
            """)

    @Argument(help: "The deployment id.", completion: Completions.deploymentIds) var id: String
    @Option(help: "Why: goes into the audit log.") var reason: String?
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let logger = Session.logger()
            let (store, d) = try state.deployment(id, writing: true)
            try MovedAway.refuse(d, command: "rollback")
            let actor = Session.actor
            let now = Date()
            switch d.state {
            case .rolledBack:
                Console.error("deployment \(id) is already rolled back: \(d.rollbackReason ?? "no reason recorded")")
                try Session.printFinal(id, store: store, json: output.json)
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
            let final = try await Session.follow(id, store: store, actor: actor, logger: logger, rollback: true) { d, handled in
                d.state == .rolledBack || (d.state.isTerminal && handled)
            }
            try Session.printFinal(id, store: store, json: output.json)
            switch final.state {
            case .rolledBack:
                Console.error("deployment \(id) rolled back: traffic is 100% on blue \(final.plan.blue.group)")
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
}

/// A rollback that cannot be done (exit 2).
struct RollbackRefused: Error, CustomStringConvertible {
    var description: String

    static func blueGone(_ d: Deployment, now: Date) -> RollbackRefused {
        let why: String
        if let retired = d.blueRetiredAt {
            why = "its blue \(d.plan.blue.group) was retired at \(Console.time(retired))"
        } else {
            why = "its blue retention ended at \(d.retentionDeadline.map(Console.time) ?? "promotion")"
        }
        return RollbackRefused(description: "deployment \(d.id) completed and \(why), so there is no blue to go back to. "
            + "To return to \(d.plan.blue.image), release it: `switchyard start FILE --ami \(d.plan.blue.image)`.")
    }
}
