import ArgumentParser
import Foundation
import StateStore

/// Where the state file lives.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite state file (default: $SWITCHYARD_DB, else $XDG_STATE_HOME/switchyard/state.db).", valueName: "path"))
    var db: String?

    var path: String { db ?? StateStore.defaultPath(environment: ProcessInfo.processInfo.environment) }

    /// Opens (creating if needed) the state file.
    func open() throws -> StateStore { try StateStore(path: path) }

    /// Opens the state file only if it exists, so read-only commands never create one.
    func openIfExists() throws -> StateStore? {
        FileManager.default.fileExists(atPath: path) ? try open() : nil
    }
}

/// `--json` for read commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON on stdout and nothing else there.")
    var json = false
}

/// A deployment file and the AMI to release.
struct ReleaseOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The deployment file (YAML).", valueName: "file"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("The AMI to release, e.g. ami-0abc1234def567890.", valueName: "ami"))
    var ami: String

    func validate() throws {
        let pattern = #"^ami-[0-9a-f]{8,17}$"#
        guard ami.range(of: pattern, options: .regularExpression) != nil else {
            throw ValidationError("--ami must look like ami-0123456789abcdef0 (got \"\(ami)\")")
        }
    }
}
