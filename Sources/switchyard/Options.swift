import ArgumentParser
import Foundation
import StateStore
import SwitchyardCore

/// Where the state file lives.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite state file (default: $SWITCHYARD_DB, else $XDG_STATE_HOME/switchyard/state.db).", valueName: "path"))
    var db: String?

    var path: String { db ?? SQLiteStateStore.defaultPath(environment: ProcessInfo.processInfo.environment) }

    /// Opens (creating if needed) the state file, for commands that write. `note` is what to say on stderr when this
    /// created a new file anywhere but the default location: a mistyped --db would otherwise start an empty history,
    /// and with it lose the one-release-per-service guard.
    func open() throws -> (store: StateStore, note: String?) {
        let defaultPath = SQLiteStateStore.defaultPath(environment: ProcessInfo.processInfo.environment.filter { $0.key != "SWITCHYARD_DB" })
        let isNew = !FileManager.default.fileExists(atPath: path) && path != defaultPath
        let store = try SQLiteStateStore(path: path)
        return (store, isNew ? "note: created a new state file at \(path): it holds no earlier deployments" : nil)
    }

    /// Opens an existing state file for reading only (a read-only file can still be read); a missing one is a usage
    /// error naming the path, rather than an empty answer that looks like "nothing happened".
    func openForReading() throws -> SQLiteStateStore {
        guard FileManager.default.fileExists(atPath: path) else { throw UsageError(Self.missing(path)) }
        return try SQLiteStateStore(path: path, readOnly: true)
    }

    /// Opens the state file only if it exists (read-only unless `writing`), so commands that may find nothing never
    /// create one.
    func openIfExists(writing: Bool = false) throws -> StateStore? {
        FileManager.default.fileExists(atPath: path) ? try SQLiteStateStore(path: path, readOnly: !writing) : nil
    }

    /// The state file and one deployment in it, or a usage error naming both (without creating a state file).
    /// `writing` opens it for writing (commands that record something).
    func deployment(_ id: String, writing: Bool = false) throws -> (StateStore, Deployment) {
        guard FileManager.default.fileExists(atPath: path) else { throw UsageError("no deployment \(id): " + Self.missing(path)) }
        let store = writing ? try SQLiteStateStore(path: path) : try SQLiteStateStore(path: path, readOnly: true)
        guard let d = try store.deployment(id: id) else { throw UsageError("no deployment \(id) in \(path)") }
        return (store, d)
    }

    static func missing(_ path: String) -> String {
        "no state file at \(path): give the one your releases use with --db PATH or SWITCHYARD_DB (docs/environment.md#switchyard_db)"
    }
}

/// `--json` for read commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON on stdout and nothing else there.")
    var json = false
}

/// A deployment file and the AMI to release: given with --ami, or read from a Packer manifest.
struct ReleaseOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The deployment file (YAML).", valueName: "file"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("The AMI to release, e.g. ami-0abc1234def567890.", valueName: "ami"))
    var ami: String?

    @Option(name: .customLong("packer-manifest"), help: ArgumentHelp(
        "Read the AMI from a Packer manifest post-processor file: the last build, for the file's region.", valueName: "path"))
    var packerManifest: String?

    @Option(name: .customLong("packer-build"), help: ArgumentHelp("With --packer-manifest: the build of this name.", valueName: "name"))
    var packerBuild: String?

    @Flag(name: .customLong("end-retention"), help: """
        Retire a group kept for rollback (tag switchyard:retain-until) that stands on green's target group before its \
        deadline; the release that kept it can then no longer be rolled back. Logged.
        """)
    var endRetention = false

    func validate() throws {
        switch (ami, packerManifest) {
        case (nil, nil): throw ValidationError("give the AMI to release: --ami ami-… or --packer-manifest PATH")
        case (.some, .some): throw ValidationError("give either --ami or --packer-manifest, not both")
        default: break
        }
        if packerBuild != nil && packerManifest == nil { throw ValidationError("--packer-build needs --packer-manifest") }
        if let ami { try Self.check(ami, from: "--ami") }
    }

    static func check(_ ami: String, from source: String) throws {
        let pattern = #"^ami-[0-9a-f]{8,17}$"#
        guard ami.range(of: pattern, options: .regularExpression) != nil else {
            throw ValidationError("\(source) must look like ami-0123456789abcdef0 (got \"\(ami)\")")
        }
    }

    /// The AMI, and where it came from in words when it came from a manifest.
    func resolveAMI(region: String) throws -> (ami: String, source: String?) {
        if let ami { return (ami, nil) }
        guard let path = packerManifest else { throw ValidationError("no AMI given") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PackerManifestError("cannot read the Packer manifest \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
        }
        let (found, build) = try PackerManifest.parse(data, path: path).ami(region: region, build: packerBuild)
        do { try Self.check(found, from: "the AMI in \(path)") } catch { throw PackerManifestError(String(describing: error)) }
        return (found, "Packer manifest \(path), build `\(build.name)`, region \(region)")
    }
}
