import ArgumentParser
import Foundation
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
            carries traffic is never touched. Exit 1 if any due group was left alone.
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
            let (due, clean) = await Session.housekeeping(store: store, service: service, logger: logger)
            if due == 0 { Console.error("nothing to retire" + (service.map { " for \($0)" } ?? "")) }
            return clean ? .success : .failed
        }
    }
}
