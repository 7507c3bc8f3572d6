import Foundation
import SwitchyardCore

/// Where a team's state is kept, as given by `--state URL`, `--db PATH`, `SWITCHYARD_STATE`, `SWITCHYARD_DB`, the
/// user config file's `state:` key, or the default state file. Parsed here, in one place, for every command.
///
/// - `sqlite://PATH`: a SQLite state file. Everything after `sqlite://` is the path: `sqlite:///var/lib/s.db` is
///   absolute, `sqlite://state.db` and `sqlite://./x/state.db` are relative to the working directory. No query part.
/// - `dynamodb://TABLE` or `dynamodb://TABLE?region=REGION`: one DynamoDB table (name per DynamoDB's rules: 3-255 of
///   `A-Z a-z 0-9 _ - .`); without `region`, the usual AWS region chain decides (AWS_REGION, AWS_DEFAULT_REGION, the
///   profile's region).
public enum StateLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case dynamoDB(table: String, region: String?)

    /// The URL form, as a person would give it back to `--state`.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite://" + path
        case .dynamoDB(let table, let region): return "dynamodb://\(table)" + (region.map { "?region=\($0)" } ?? "")
        }
    }

    /// The file path of a SQLite location, nil for DynamoDB.
    public var sqlitePath: String? {
        if case .sqlite(let path) = self { return path }
        return nil
    }

    /// Parses a state URL; `source` names where it came from (`--state`, `SWITCHYARD_STATE`, a config file) for errors.
    public static func parse(_ text: String, source: String) throws -> StateLocation {
        func bad(_ problem: String) -> StateLocationError { StateLocationError(source: source, value: text, problem: problem) }
        guard let schemeEnd = text.range(of: "://") else {
            throw bad("it is not a state URL; give sqlite:///absolute/path.db, sqlite://relative/path.db or dynamodb://TABLE?region=REGION")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        let rest = String(text[schemeEnd.upperBound...])
        switch scheme {
        case "sqlite":
            guard !rest.isEmpty else { throw bad("no path after sqlite://") }
            if rest.contains("?") || rest.contains("#") { throw bad("a sqlite URL takes no query or fragment (? or #)") }
            return .sqlite(path: rest)
        case "dynamodb":
            let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let table = String(parts[0])
            if let problem = tableNameProblem(table) { throw bad(problem) }
            var region: String?
            if parts.count == 2 {
                for pair in parts[1].split(separator: "&", omittingEmptySubsequences: true) {
                    let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let key = String(keyValue[0]), value = keyValue.count == 2 ? String(keyValue[1]) : ""
                    guard key == "region" else { throw bad("unknown parameter `\(key)`; the one parameter is region=REGION") }
                    guard value.range(of: #"^[a-z]{2}(-[a-z]+)+-[0-9]+$"#, options: .regularExpression) != nil else {
                        throw bad("region `\(value)` is not an AWS region name like us-east-1")
                    }
                    region = value
                }
            }
            return .dynamoDB(table: table, region: region)
        default:
            throw bad("unknown scheme `\(scheme)://`; the backends are sqlite:// and dynamodb://")
        }
    }

    /// What is wrong with a DynamoDB table name, or nil: 3 to 255 characters of A-Z, a-z, 0-9, `_`, `-` and `.`.
    public static func tableNameProblem(_ table: String) -> String? {
        if table.isEmpty { return "no table name after dynamodb://" }
        if table.contains("/") { return "the table name `\(table)` contains `/`; give dynamodb://TABLE?region=REGION" }
        guard (3...255).contains(table.utf8.count) else {
            return "the table name `\(table)` has \(Spelling.count(table.utf8.count, "character")); DynamoDB table names have 3 to 255"
        }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.".utf8)
        if let odd = table.unicodeScalars.first(where: { !$0.isASCII || !allowed.contains(UInt8($0.value)) }) {
            return "the table name `\(table)` contains `\(odd)`; DynamoDB table names use only A-Z, a-z, 0-9, _, - and ."
        }
        return nil
    }

    /// The location a command uses. Flags beat the environment, the environment beats the config file, which beats
    /// the default state file. `--state` with `--db`, or `SWITCHYARD_STATE` with a different `SWITCHYARD_DB`, is an
    /// error naming both. `configState` is the config file's `state:` value and where it was read (for errors).
    public static func resolve(state: String?, db: String?, environment: [String: String],
                               configState: (value: String, source: String)? = nil) throws -> StateLocation {
        if let state, let db {
            throw StateLocationError(source: "--state", value: state, problem: "--db \(db) is given too; give one of them (--db PATH is short for --state sqlite://PATH)")
        }
        if let state { return try parse(state, source: "--state") }
        if let db { return .sqlite(path: db) }
        let fromEnvironment = environment["SWITCHYARD_STATE"].flatMap { $0.isEmpty ? nil : $0 }
        let dbFromEnvironment = environment["SWITCHYARD_DB"].flatMap { $0.isEmpty ? nil : $0 }
        if let fromEnvironment {
            let location = try parse(fromEnvironment, source: "SWITCHYARD_STATE")
            if let dbFromEnvironment, location != .sqlite(path: dbFromEnvironment) {
                throw StateLocationError(source: "SWITCHYARD_STATE", value: fromEnvironment,
                                         problem: "SWITCHYARD_DB=\(dbFromEnvironment) is set too and names another place; unset one of them")
            }
            return location
        }
        if let dbFromEnvironment { return .sqlite(path: dbFromEnvironment) }
        if let configState { return try parse(configState.value, source: configState.source) }
        return .sqlite(path: defaultSQLitePath(environment: environment))
    }

    /// The default state file: `SWITCHYARD_DB`, else `$XDG_STATE_HOME/switchyard/state.db`, else
    /// `~/.local/state/switchyard/state.db`.
    public static func defaultSQLitePath(environment: [String: String]) -> String {
        if let path = environment["SWITCHYARD_DB"], !path.isEmpty { return path }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/switchyard/state.db" }
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return home + "/.local/state/switchyard/state.db"
    }
}

/// A state URL that cannot be used: where it came from, what it was, what is wrong.
public struct StateLocationError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var value: String
    public var problem: String

    public var description: String { "\(source) `\(value)`: \(problem)" }
}
