import ArgumentParser
import Foundation
import Orchestrator
import StateStore
import SwitchyardCore

struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Let a deployment waiting at a manual gate (a `- pause` step) continue.",
        discussion: """
            The process running the deployment notices within a quarter of a second and goes on to the next step; \
            this command returns once it has. If nobody runs the deployment (it was started with \
            --detach-at-pause, or its process is gone), this command takes it over and runs it to its end or to \
            the next gate, with the exit code `start` would give. The actor is recorded in the audit trail. \
            Exit 2 if the deployment is not waiting at a gate.
            """)

    @Argument(help: "The deployment id.", completion: Completions.deploymentIds) var id: String
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let logger = Session.logger()
            let (store, d) = try state.deployment(id, writing: true)
            try MovedAway.refuse(d, command: "promote")
            guard d.state == .paused else {
                throw UsageError("deployment \(id) is \(d.state), not waiting at a manual gate; nothing to promote")
            }
            let actor = Session.actor
            try store.addRequest(deploymentId: id, kind: .promote, reason: nil, actor: actor, at: Date())
            Console.error("promotion of \(id) past the manual gate requested by \(actor)")
            let final = try await Session.follow(id, store: store, actor: actor, logger: logger) { d, handled in
                d.state.isTerminal || (handled && d.state != .paused)
            }
            try Session.printFinal(id, store: store, json: output.json)
            if final.state.isTerminal {
                Console.error(Start.summary(final))
                return Exit.forState(final.state)
            }
            Console.error("deployment \(id) goes on: \(final.state), step \(final.stepLabel)")
            return .success
        }
    }
}
