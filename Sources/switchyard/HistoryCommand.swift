import ArgumentParser
import Foundation
import StateStore
import SwitchyardCore

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List past and present deployments, newest first.")

    @Option(help: "Only this service.") var service: String?
    @Option(help: "At most this many deployments.") var limit: Int = 20
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be a positive number (got \(limit))") }
    }

    func run() async throws {
        try await Failure.reporting {
            let deployments = try state.openIfExists()?.deployments(service: service, limit: limit, activeOnly: false) ?? []
            if output.json {
                Console.out(try JSONViews.encode(deployments.map { JSONViews.DeploymentView($0, events: nil) }))
                return .success
            }
            if deployments.isEmpty {
                Console.out("no deployments" + (service.map { " of \($0)" } ?? ""))
                return .success
            }
            Console.out(["ID", "SERVICE", "AMI", "STARTED", "DURATION", "RESULT", "ACTOR"].joined(separator: "  "))
            for d in deployments {
                let duration = Int(d.updatedAt.timeIntervalSince(d.createdAt).rounded())
                Console.out([d.id, d.service, d.ami, Console.time(d.createdAt), "\(duration)s", d.state.rawValue, d.actor].joined(separator: "  "))
            }
            return .success
        }
    }
}
