import Foundation

/// A Packer `manifest` post-processor file: the builds of one or more runs, each with its artifacts
/// (`artifact_id` like `us-east-1:ami-0abc…,eu-west-1:ami-0def…` for the amazon-ebs builder).
public struct PackerManifest: Sendable, Hashable {
    public struct Build: Sendable, Hashable {
        public var name: String
        public var builderType: String
        public var runUUID: String?
        /// AMI id by region, from `artifact_id`.
        public var amis: [String: String]
        /// `artifact_id` as Packer wrote it: for the `azure-arm` builder, the image's resource id (a managed image,
        /// or the gallery image version when the build publishes only to a Compute Gallery).
        public var artifactId: String = ""
    }

    public var path: String
    public var builds: [Build]
    public var lastRunUUID: String?

    public static func parse(_ data: Data, path: String) throws -> PackerManifest {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw PackerManifestError("\(path) is not JSON: \(error.localizedDescription)")
        }
        guard let root = json as? [String: Any], let builds = root["builds"] as? [[String: Any]] else {
            throw PackerManifestError("\(path) is not a Packer manifest: it has no `builds` list")
        }
        var parsed: [Build] = []
        for (index, build) in builds.enumerated() {
            guard let artifact = build["artifact_id"] as? String else {
                throw PackerManifestError("\(path): builds[\(index)] has no artifact_id")
            }
            var amis: [String: String] = [:]
            for item in artifact.split(separator: ",") {
                let pair = item.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, pair[1].hasPrefix("ami-") { amis[pair[0]] = pair[1] }
            }
            parsed.append(Build(name: build["name"] as? String ?? "", builderType: build["builder_type"] as? String ?? "",
                                runUUID: build["packer_run_uuid"] as? String, amis: amis, artifactId: artifact))
        }
        return PackerManifest(path: path, builds: parsed, lastRunUUID: root["last_run_uuid"] as? String)
    }

    /// The AMI for `region`: of the named build (its newest entry), else of the one build of the last run that has an
    /// AMI for the region. The last build in the file may be of another region or architecture (a `web-arm64` beside
    /// `web`), so it is never taken just for being last: several candidates are refused, named, until `--packer-build`
    /// picks one. Without run ids (an older Packer), every build counts as the last run's.
    public func ami(region: String, build name: String?) throws -> (ami: String, build: Build) {
        guard !builds.isEmpty else { throw PackerManifestError("\(path) lists no builds") }
        if let name {
            guard let build = builds.last(where: { $0.name == name }) else {
                let names = Array(Set(builds.map(\.name))).sorted().map { "`\($0)`" }.joined(separator: ", ")
                throw PackerManifestError("\(path) has no build named `\(name)` (it has \(names))")
            }
            guard let ami = build.amis[region] else { throw noAMI(in: [build], region: region, label: "build `\(build.name)`") }
            return (ami, build)
        }
        let newest = Self.newestByName(lastRun)
        let candidates = newest.filter { $0.amis[region] != nil }
        switch candidates.count {
        case 0:
            let label = newest.count == 1 ? (newest[0].name.isEmpty ? "the last build" : "build `\(newest[0].name)`") : "no build of the last run"
            throw noAMI(in: newest, region: region, label: label)
        case 1:
            return (candidates[0].amis[region] ?? "", candidates[0])
        default:
            let named = candidates.map { "`\($0.name)` (\($0.amis[region] ?? ""))" }.joined(separator: ", ")
            throw PackerManifestError("\(path): \(candidates.count) builds of the last run have an AMI for \(region), the deployment "
                + "file's region: \(named); choose one with --packer-build NAME")
        }
    }

    /// The builds of the last run (every build, for a manifest without run ids).
    var lastRun: [Build] {
        builds.contains { $0.runUUID != nil && $0.runUUID == lastRunUUID } ? builds.filter { $0.runUUID == lastRunUUID } : builds
    }

    /// The newest entry of each name, in the file's order.
    static func newestByName(_ builds: [Build]) -> [Build] {
        var newest: [Build] = []
        for build in builds.reversed() where !newest.contains(where: { $0.name == build.name }) { newest.insert(build, at: 0) }
        return newest
    }

    /// The Azure image of the named build (its newest entry), else of the one `azure-arm` build of the last run.
    public func azureImage(build name: String?) throws -> (image: String, build: Build) {
        let azure = (name == nil ? lastRun : builds).filter { $0.builderType == "azure-arm" && $0.artifactId.hasPrefix("/subscriptions/") }
        if let name {
            guard let build = azure.last(where: { $0.name == name }) else {
                throw PackerManifestError("\(path) has no azure-arm build named `\(name)` with an image id (its builds: \(builds.map { "`\($0.name)` (\($0.builderType))" }.joined(separator: ", ")))")
            }
            return (build.artifactId, build)
        }
        let newest = Self.newestByName(azure)
        switch newest.count {
        case 0: throw PackerManifestError("\(path): no build of the last run is an azure-arm build with an image id as its artifact_id")
        case 1: return (newest[0].artifactId, newest[0])
        default:
            throw PackerManifestError("\(path): \(newest.count) azure-arm builds of the last run: \(newest.map { "`\($0.name)`" }.joined(separator: ", ")); choose one with --packer-build NAME")
        }
    }

    private func noAMI(in builds: [Build], region: String, label: String) -> PackerManifestError {
        let regions = Set(builds.flatMap(\.amis.keys)).sorted().joined(separator: ", ")
        let verb = label.hasPrefix("no build") ? "has an" : "has no"
        return PackerManifestError("\(path): \(label) \(verb) AMI for \(region), the deployment file's region"
            + (regions.isEmpty ? " (\(builds.count == 1 ? "it has" : "they have") no AMI at all)"
                : " (\(builds.count == 1 ? "it has" : "they have") AMIs for \(regions))"))
    }
}

/// A Packer manifest that cannot give the AMI (exit 2).
public struct PackerManifestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
