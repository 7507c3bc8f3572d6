import ArgumentParser
import Foundation
import Logging
import Orchestrator
import StateStore
import SwitchyardCore

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Retire the blue groups of completed releases whose retention is over.",
        discussion: """
            After promotion, blue keeps its capacity for promotion.blue_retention so `switchyard rollback` can undo \
            the release at once. Once that window is over, blue is scaled to 0 and deleted by the next `start` of the \
            service or by this command, each holding the service's lease while it does. A group whose target group \
            carries traffic is never touched. Exit 1 if any due group was left alone. Also deletes the launch template \
            versions Switchyard created for releases that are over and whose group is gone (a version that cannot be \
            deleted is a warning, tried again by the next gc).
            """)

    @Option(help: "Only this service.") var service: String?
    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Failure.reporting {
            let logger = Session.logger()
            guard let store = try state.openIfExists(writing: true) else {
                Console.error("nothing to retire: no state file at \(state.path)")
                return .success
            }
            let (due, clean, _) = await Session.housekeeping(store: store, service: service, logger: logger)
            if due == 0 { Console.error("nothing to retire" + (service.map { " for \($0)" } ?? "")) }
            await deleteVersions(store: store, logger: logger)
            return clean ? .success : .failed
        }
    }

    /// Green versions of releases that are over; a failure is a warning, not a failed gc: nothing depends on it.
    private func deleteVersions(store: StateStore, logger: Logger) async {
        let clock = SystemClock()
        let janitor = TemplateJanitor(store: store, clock: clock, actor: Session.actor) { spec in
            try Session.provider(for: spec, logger: logger).performer(facts: nil, clock: clock)
        }
        do {
            for outcome in await janitor.collect(try janitor.due(service: service)) {
                let d = outcome.deployment
                if let problem = outcome.problem {
                    Console.error("warning: launch template \(d.plan.blue.templateName) version \(outcome.version) of deployment \(d.id) was left: \(problem)")
                } else {
                    Console.error("deleted launch template \(d.plan.blue.templateName) version \(outcome.version) of deployment \(d.id) (\(d.service))")
                }
            }
        } catch {
            Console.error("warning: could not delete old launch template versions: \(Failure.message(for: error))")
        }
    }
}
