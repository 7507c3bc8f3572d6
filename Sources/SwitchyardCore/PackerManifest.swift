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
                                runUUID: build["packer_run_uuid"] as? String, amis: amis))
        }
        return PackerManifest(path: path, builds: parsed, lastRunUUID: root["last_run_uuid"] as? String)
    }

    /// The AMI for `region` of the named build (its newest entry), or of the last build of the last run.
    public func ami(region: String, build name: String?) throws -> (ami: String, build: Build) {
        guard !builds.isEmpty else { throw PackerManifestError("\(path) lists no builds") }
        let build: Build
        if let name {
            guard let found = builds.last(where: { $0.name == name }) else {
                let names = Array(Set(builds.map(\.name))).sorted().map { "`\($0)`" }.joined(separator: ", ")
                throw PackerManifestError("\(path) has no build named `\(name)` (it has \(names))")
            }
            build = found
        } else {
            build = builds.last(where: { $0.runUUID != nil && $0.runUUID == lastRunUUID }) ?? builds[builds.count - 1]
        }
        guard let ami = build.amis[region] else {
            let label = build.name.isEmpty ? "the last build" : "build `\(build.name)`"
            let regions = build.amis.keys.sorted().joined(separator: ", ")
            throw PackerManifestError("\(path): \(label) has no AMI for \(region), the deployment file's region"
                + (regions.isEmpty ? " (it has no AMI at all)" : " (it has AMIs for \(regions))"))
        }
        return (ami, build)
    }
}

/// A Packer manifest that cannot give the AMI (exit 2).
public struct PackerManifestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
