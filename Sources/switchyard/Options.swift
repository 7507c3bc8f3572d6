import ArgumentParser
import Foundation
import SQLiteStateStore
import StateStore
import SwitchyardCore

/// Where the state lives: `--state URL` (sqlite:// or dynamodb://), `--db PATH` (short for sqlite://PATH), else
/// SWITCHYARD_STATE, SWITCHYARD_DB, the user config file's `state:`, else the default state file.
struct StateOptions: ParsableArguments, StateSelecting {
    @Option(name: .customLong("state"), help: ArgumentHelp(
        "Where the state lives: sqlite:///path/state.db or dynamodb://TABLE?region=REGION (default: $SWITCHYARD_STATE, else the state file).",
        valueName: "url"), completion: Completions.stateURLs)
    var stateURL: String?

    @Option(name: .long, help: ArgumentHelp("The SQLite state file (default: $SWITCHYARD_DB, else $XDG_STATE_HOME/switchyard/state.db).", valueName: "path"),
            completion: .file())
    var db: String?

    func validate() throws { try validateLocation() }
}

/// `--db` alone, for `history`, whose `--state` is also its state filter (a value with :// there is the URL).
struct DBOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite state file (default: $SWITCHYARD_DB, else $XDG_STATE_HOME/switchyard/state.db).", valueName: "path"),
            completion: .file())
    var db: String?
}

/// A state location chosen by flags that are not an option group of their own (see `DBOption`).
struct StateSelection: StateSelecting {
    var stateURL: String?
    var db: String?
}

/// Opening the store a command's flags, the environment and the config file name.
protocol StateSelecting {
    /// `--state URL`, if given.
    var stateURL: String? { get }
    /// `--db PATH`, if given.
    var db: String? { get }
}

extension StateSelecting {
    /// Refuses a bad or conflicting location before the command runs (exit 2, naming the flag or variable).
    func validateLocation() throws {
        do {
            _ = try resolvedLocation()
        } catch let error as StateLocationError {
            throw ValidationError(error.description)
        } catch let error as UserConfigError {
            throw ValidationError(error.description)
        }
    }

    /// The location the flags, the environment and the config file name.
    func resolvedLocation() throws -> StateLocation {
        let environment = ProcessInfo.processInfo.environment
        return try StateLocation.resolve(state: stateURL, db: db, environment: environment, configState: try UserConfig.state(environment: environment))
    }

    /// The location; `validate` has already refused a bad one.
    var location: StateLocation {
        (try? resolvedLocation()) ?? .sqlite(path: SQLiteStateStore.defaultPath(environment: ProcessInfo.processInfo.environment))
    }

    /// Where the state lives, for messages: the state file's path, or the DynamoDB URL.
    var path: String { location.sqlitePath ?? location.description }

    /// Opens (creating if needed) the store, for commands that write. `note` is what to say on stderr when this
    /// created a new state file anywhere but the default location: a mistyped --db would otherwise start an empty
    /// history, and with it lose the one-release-per-service guard.
    func open() throws -> (store: any StateStore, note: String?) {
        guard let path = location.sqlitePath else { return (try location.open(writing: true), nil) }
        let defaultPath = SQLiteStateStore.defaultPath(environment: ProcessInfo.processInfo.environment.filter { $0.key != "SWITCHYARD_DB" })
        let isNew = !FileManager.default.fileExists(atPath: path) && path != defaultPath
        let store = try location.open(writing: true)
        return (store, isNew ? "note: created a new state file at \(path): it holds no earlier deployments" : nil)
    }

    /// Opens an existing store for reading only (a read-only state file can still be read); a missing state file is a
    /// usage error naming the path, rather than an empty answer that looks like "nothing happened".
    func openForReading() throws -> any StateStore {
        if let path = location.sqlitePath, !FileManager.default.fileExists(atPath: path) { throw UsageError(Self.missing(path)) }
        return try location.open(writing: false)
    }

    /// Opens the store only if it exists (read-only unless `writing`), so commands that may find nothing never
    /// create a state file.
    func openIfExists(writing: Bool = false) throws -> (any StateStore)? {
        if let path = location.sqlitePath, !FileManager.default.fileExists(atPath: path) { return nil }
        return try location.open(writing: writing)
    }

    /// The store and one deployment in it, or a usage error naming both (without creating a state file).
    /// `writing` opens it for writing (commands that record something).
    func deployment(_ id: String, writing: Bool = false) throws -> (any StateStore, Deployment) {
        if let path = location.sqlitePath, !FileManager.default.fileExists(atPath: path) {
            throw UsageError("no deployment \(id): " + Self.missing(path))
        }
        let store = try location.open(writing: writing)
        guard let d = try store.deployment(id: id) else { throw UsageError("no deployment \(id) in \(self.path)") }
        return (store, d)
    }

    static func missing(_ path: String) -> String {
        "no state file at \(path): give the one your releases use with --state URL, --db PATH, SWITCHYARD_STATE or SWITCHYARD_DB (docs/environment.md#switchyard_db)"
    }
}

/// `--json` for read commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON on stdout and nothing else there.")
    var json = false
}

/// A deployment file and the AMI to release: given with --ami, or read from a Packer manifest.
struct ReleaseOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The deployment file (YAML).", valueName: "file"), completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Option(name: .long, help: ArgumentHelp("The AMI to release, e.g. ami-0abc1234def567890.", valueName: "ami"))
    var ami: String?

    @Option(name: .long, help: ArgumentHelp(
        "The image to release, in the file's cloud's words: an AMI id (AWS), or an image's resource id (Azure: a gallery image version or a managed image).",
        valueName: "id"))
    var image: String?

    @Option(name: .customLong("packer-manifest"), help: ArgumentHelp(
        "Read the AMI from a Packer manifest post-processor file: the build of the last run with an AMI for the file's region (several: name one with --packer-build).", valueName: "path"),
        completion: .file(extensions: ["json"]))
    var packerManifest: String?

    @Option(name: .customLong("packer-build"), help: ArgumentHelp("With --packer-manifest: the build of this name.", valueName: "name"))
    var packerBuild: String?

    @Flag(name: .customLong("end-retention"), help: """
        Retire a group kept for rollback (tag switchyard:retain-until) that stands on green's target group before its \
        deadline; the release that kept it can then no longer be rolled back. Logged.
        """)
    var endRetention = false

    func validate() throws {
        let given = [ami.map { _ in "--ami" }, image.map { _ in "--image" }, packerManifest.map { _ in "--packer-manifest" }].compactMap { $0 }
        if given.isEmpty { throw ValidationError("give the image to release: --ami ami-…, --image ID or --packer-manifest PATH") }
        if given.count > 1 { throw ValidationError("give one of \(given.joined(separator: ", ")), not \(given.count == 2 ? "both" : "all three")") }
        if packerBuild != nil && packerManifest == nil { throw ValidationError("--packer-build needs --packer-manifest") }
        if let ami { try Self.check(ami, from: "--ami") }
        if let image, image.range(of: Self.amiPattern, options: .regularExpression) == nil, !Session.isAzureImage(image) {
            throw ValidationError("--image must be an AMI id (ami-0123456789abcdef0) or an Azure image's resource id "
                + "(/subscriptions/…/providers/Microsoft.Compute/galleries/G/images/I/versions/V or …/Microsoft.Compute/images/NAME; got \"\(image)\")")
        }
    }

    static let amiPattern = #"^ami-[0-9a-f]{8,17}$"#

    static func check(_ ami: String, from source: String) throws {
        guard ami.range(of: amiPattern, options: .regularExpression) != nil else {
            throw ValidationError("\(source) must look like ami-0123456789abcdef0 (got \"\(ami)\")")
        }
    }

    /// The AMI, and where it came from in words when it came from a manifest.
    /// The image for the file's cloud: an AMI for AWS; for Azure an image's resource id, given with --image or read
    /// from a Packer manifest's azure-arm build. --ami with an Azure file is a usage error.
    func resolveImage(_ spec: DeploymentSpec) throws -> (ami: String, source: String?) {
        guard spec.provider == "azure" else { return try resolveAMI(region: spec.region) }
        if ami != nil { throw ValidationError("--ami gives an AMI; an Azure file's image is an image's resource id: give it with --image ID") }
        if let image {
            guard Session.isAzureImage(image) else {
                throw ValidationError("--image must be an Azure image's resource id for an Azure file (/subscriptions/…/providers/Microsoft.Compute/galleries/G/images/I/versions/V "
                    + "or …/Microsoft.Compute/images/NAME; got \"\(image)\")")
            }
            return (image, nil)
        }
        guard let path = packerManifest else { throw ValidationError("no image given") }
        let (found, build) = try Self.manifest(at: path).azureImage(build: packerBuild)
        guard Session.isAzureImage(found) else {
            throw PackerManifestError("\(path): build `\(build.name)`'s artifact_id \(found) is not a managed image's or a gallery image version's id")
        }
        return (found, "Packer manifest \(path), build `\(build.name)`")
    }

    /// The Packer manifest at `path`, or why it cannot be read.
    static func manifest(at path: String) throws -> PackerManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PackerManifestError("cannot read the Packer manifest \(path): \(Session.whyUnreadable(path))")
        }
        return try PackerManifest.parse(data, path: path)
    }

    func resolveAMI(region: String) throws -> (ami: String, source: String?) {
        if let ami { return (ami, nil) }
        // An AWS file's image is an AMI, whichever option gave it.
        if let image { try Self.check(image, from: "--image (an AWS file's image is an AMI)"); return (image, nil) }
        guard let path = packerManifest else { throw ValidationError("no AMI given") }
        let (found, build) = try Self.manifest(at: path).ami(region: region, build: packerBuild)
        do { try Self.check(found, from: "the AMI in \(path)") } catch { throw PackerManifestError(String(describing: error)) }
        return (found, "Packer manifest \(path), build `\(build.name)`, region \(region)")
    }
}
