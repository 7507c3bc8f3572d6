import ArgumentParser
import Foundation
import Orchestrator
import StateStore
import SwitchyardCore

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue an interrupted deployment from its stored state, after checking it against AWS.",
        discussion: """
            Reads the listener and both Auto Scaling groups first, records what it found in the audit trail, then \
            goes on from where the state file says: nothing is created twice, a bake goes on with what was left of \
            it. If AWS contradicts the state in a way that is not safe to continue from (blue's group gone, the \
            listener forwarding to a third target group), it stops without touching anything (exit 1). A deployment \
            still run by a live process is refused (exit 4); one whose process stopped renewing its lease is taken \
            over. A finished deployment has nothing to resume (exit 0).
            """)

    @Argument(help: "The deployment id.", completion: Completions.deploymentIds) var id: String
    @OptionGroup var state: StateOptions
    @Flag(name: .customLong("detach-at-pause"), help: "At a manual gate, stop (exit 5) instead of waiting; `switchyard promote ID` carries on.")
    var detachAtPause = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            _ = Session.stopOnSignals()
            let logger = Session.logger()
            let (store, d) = try state.deployment(id, writing: true)
            try MovedAway.refuse(d, command: "resume")
            if d.state.isTerminal {
                Console.error("deployment \(id) is already \(d.state): nothing to resume")
                try Session.printFinal(id, store: store, json: output.json)
                return .success
            }
            let actor = Session.actor
            let holding = DeploymentRunner.Holding(holder: LeaseHolder(actor: actor), ttl: Session.leaseTTL)
            let now = Date()
            if let stale = try store.acquireLease(deploymentId: id, service: d.service, holder: holding.holder, at: now, ttl: holding.ttl) {
                Console.error("taking over from \(stale.describe(at: now)), which no longer runs it")
            }
            defer { try? store.releaseLease(service: d.service, holder: holding.holder) }
            let (aws, _) = try Session.aws(region: d.plan.spec.region, logger: logger)
            let final = try await Session.printingWhenStopped(id, store: store, json: output.json) {
                try await Session.takeOver(d, store: store, aws: aws, actor: actor, logger: logger, holding: holding,
                                           detachAtPause: detachAtPause)
            }
            Console.error(Start.summary(final))
            try Session.printFinal(id, store: store, json: output.json)
            return Exit.forState(final.state)
        }
    }
}
