import ArgumentParser
import Foundation
import SQLiteStateStore
import StateStore

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "Blue/green releases of EC2 Auto Scaling groups behind an Application Load Balancer.",
        discussion: """
            Switchyard creates a green Auto Scaling group from a new AMI beside the live blue one, proves it \
            healthy, moves the ALB listener's weight to it step by step while checks run, and promotes green \
            or rolls back to blue on its own. Every step is stored in a SQLite state file (--db), so a release \
            can be resumed and audited.

            Exit codes: 0 success, 1 failed or unexpected error, 2 bad usage or invalid file (nothing changed), \
            3 rolled back, 4 conflict with another deployment, 5 interrupted or waiting at a manual gate.

            The reference is in \(DocsLocation.folder): deployment-file.md (every key), commands.md (every command, \
            flag, output and exit code), states.md, environment.md, iam.md and iam-policy.json (the IAM policy to \
            paste).
            """,
        version: SwitchyardVersion.text,
        subcommands: [Plan.self, Start.self, Resume.self, Rollback.self, Promote.self, Status.self, Show.self, History.self, Export.self, GC.self, State.self, Serve.self])

    /// Parses and runs the command; usage mistakes exit 2 as the product contract says (not 64).
    static func main() async {
        Session.checkEnvironment()
        Session.registerProviders()
        // Every way out of the process goes through here (a normal end, an exit code, an error): the state files'
        // WAL is folded into them first, so the file alone holds every record (a CI job copies just `state.db`).
        defer { SQLiteStateStore.checkpointAll() }
        if let problem = CommandLineChecks.problem(Array(CommandLine.arguments.dropFirst()), root: Switchyard.self) {
            Console.error("error: \(problem)")
            Foundation.exit(Exit.usage.rawValue)
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            SQLiteStateStore.checkpointAll()
            if exitCode(for: error) == .validationFailure {
                Console.error(Console.lowercasePrefix(fullMessage(for: error)))
                Foundation.exit(Exit.usage.rawValue)
            }
            if exitCode(for: error) != .success, !(error is ExitCode) {
                Console.error(Console.lowercasePrefix(fullMessage(for: error)))
                Foundation.exit(exitCode(for: error).rawValue)
            }
            exit(withError: error)
        }
    }
}

enum SwitchyardVersion {
    static let number = "0.1.0"
    /// Where this version's docs are published, for a binary with no docs beside it (docs/package.md). The project
    /// has no public home yet: `example.com/switchyard` is the placeholder docs/ci.md uses for the releases too, and
    /// whoever publishes Switchyard sets it here, the one place it is written.
    static let docsHome = "https://example.com/switchyard/docs/"
    /// `https://example.com/switchyard/docs/0.1.0/`
    static var docsURL: String { "\(docsHome)\(number)/" }
    /// `0.1.0 (git 1a2b3c4d5e6f)`
    static var text: String { "\(number) (git \(GitRevision.text))" }
}
