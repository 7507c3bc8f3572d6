import Foundation
import Yams

/// The user config file (`$XDG_CONFIG_HOME/switchyard/config.yaml`): settings a person would otherwise repeat on every
/// command. Today one key, `state:`, the state URL a team shares.
public struct UserConfig: Sendable, Hashable {
    /// The `state:` URL, if set.
    public var state: String?
    /// The line `state:` is on, for errors about its value.
    public var stateLine: Int?

    /// The keys the file may hold; any other is an error naming it, so a typo is not silently ignored.
    public static let keys = ["state"]

    /// Parses the file's text; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws -> UserConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw UserConfigError(path: path, line: nil, problem: "not YAML: \(error)")
        }
        var config = UserConfig()
        guard let root else { return config }
        guard case .mapping(let top) = root else {
            throw UserConfigError(path: path, line: root.mark.map { $0.line }, problem: "the config file is a YAML mapping, like `state: dynamodb://TABLE?region=REGION`")
        }
        for (key, value) in top {
            let line = key.mark.map { $0.line }
            guard let name = key.string, Self.keys.contains(name) else {
                throw UserConfigError(path: path, line: line, problem: "unknown key `\(key.string ?? "?")`; the keys are \(Self.keys.joined(separator: ", "))")
            }
            guard case .scalar(let scalar) = value, !scalar.string.isEmpty else {
                throw UserConfigError(path: path, line: line, problem: "`state` is a state URL, like sqlite:///path/state.db or dynamodb://TABLE?region=REGION")
            }
            config.state = scalar.string
            config.stateLine = line
        }
        return config
    }

    public init() {}

    /// `$XDG_CONFIG_HOME/switchyard/config.yaml`, else `~/.config/switchyard/config.yaml`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty { return config + "/switchyard/config.yaml" }
        return (environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path) + "/.config/switchyard/config.yaml"
    }
}

/// A user config file that cannot be used: the file, the line, what is wrong.
public struct UserConfigError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var problem: String

    public init(path: String, line: Int?, problem: String) {
        self.path = path
        self.line = line
        self.problem = problem
    }

    public var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(problem)" }
}
