import ArgumentParser
import Foundation
import Logging
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
            over. A finished deployment has nothing to resume (exit 0). With --accept-current, a release paused because \
            someone changed its traffic by hand adopts that traffic as its record's and goes on (the process \
            running it notices within a quarter of a second; with none, this command takes it over).
            """)

    @Argument(help: "The deployment id.", completion: Completions.deploymentIds) var id: String
    @OptionGroup var state: StateOptions
    @Flag(name: .customLong("detach-at-pause"), help: "At a manual gate, stop (exit 5) instead of waiting; `switchyard promote ID` carries on.")
    var detachAtPause = false
    @Flag(name: .customLong("accept-current"), help: "Paused by a change of traffic by hand: adopt the traffic as it is now as the record's and go on.")
    var acceptCurrent = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            _ = Session.stopOnSignals()
            let logger = Session.logger()
            let (store, d) = try state.deployment(id, writing: true)
            try MovedAway.refuse(d, command: "resume")
            if acceptCurrent { return try await accept(d, store: store, logger: logger) }
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
            let provider = try Session.provider(for: d.plan.spec, logger: logger)
            let final = try await Session.printingWhenStopped(id, store: store, json: output.json) {
                try await Session.takeOver(d, store: store, provider: provider, actor: actor, logger: logger, holding: holding,
                                           detachAtPause: detachAtPause)
            }
            Console.error(Start.summary(final))
            try Session.printFinal(id, store: store, json: output.json)
            return Exit.forState(final.state)
        }
    }

    /// `--accept-current`: a request the running process (or this one, taking it over) applies, as `promote` does.
    private func accept(_ d: Deployment, store: StateStore, logger: Logger) async throws -> Exit {
        guard d.state == .paused, let change = d.handChange else {
            throw UsageError("deployment \(id) is \(d.state), not paused by a change of traffic by hand; there is nothing to accept")
        }
        let actor = Session.actor
        try store.addRequest(deploymentId: id, kind: .promote, reason: OperatorRequest.acceptCurrent, actor: actor, at: Date())
        Console.error("accepting the traffic set by hand on \(change.resource) for \(id), requested by \(actor)")
        let final = try await Session.follow(id, store: store, actor: actor, logger: logger) { d, handled in
            d.state.isTerminal || (handled && d.handChange == nil)
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
