import Foundation
import Logging
import SigV4
import SwitchyardCore

/// What every command needs from the process. This file: logging, who is acting, ids and the deployment file; the
/// rest by concern: SessionAWS.swift (the AWS clients and the environment's durations), SessionSignals.swift
/// (SIGINT/SIGTERM), SessionRuns.swift (running a deployment under its lease), SessionHousekeeping.swift (retiring
/// blues past their retention).
enum Session {
    private static let bootstrap: Void = {
        let level = ProcessInfo.processInfo.environment["SWITCHYARD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { _ in ConsoleLogHandler(level: level) }
    }()

    /// Warns about settings in the environment that would otherwise be ignored without a word.
    static func checkEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let level = environment["SWITCHYARD_LOG_LEVEL"], !level.isEmpty, Logger.Level(rawValue: level) == nil {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            Console.error("warning: SWITCHYARD_LOG_LEVEL=\(level) is not a level; using warning. The levels: \(names)")
        }
    }

    static func logger(_ label: String = "switchyard") -> Logger {
        _ = bootstrap
        return Logger(label: label)
    }

    /// The person acting, as user@host, for the audit log.
    static var actor: String {
        let env = ProcessInfo.processInfo.environment
        let account = getpwuid(getuid()).flatMap { $0.pointee.pw_name }.map { String(cString: $0) }
        let user = env["SWITCHYARD_ACTOR"] ?? env["USER"] ?? env["LOGNAME"] ?? account ?? "uid\(getuid())"
        if env["SWITCHYARD_ACTOR"] != nil { return user }
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        return "\(user)@\(host)"
    }

    /// `$HOME` first, as the AWS CLI expands `~`, then the user database.
    static func homeDirectory(_ environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        if let entry = getpwuid(getuid()), let directory = entry.pointee.pw_dir { return String(cString: directory) }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// Why a file the command was given could not be read, in the words `ls` would use.
    static func whyUnreadable(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "no such file" }
        return isDirectory.boolValue ? "is a directory; give a file" : "permission denied"
    }

    /// Reads and validates a deployment file; returns the spec and the SHA-256 of the file's bytes.
    static func loadSpec(path: String) throws -> (DeploymentSpec, String) {
        // Refused before reading: a multi-megabyte mistake costs neither the time nor the memory of parsing it.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > DeploymentFile.maxBytes {
            throw DeploymentFile.tooLarge(path: path, bytes: size)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read the deployment file \(path): \(whyUnreadable(path))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw UsageError("the deployment file \(path) is not UTF-8 text")
        }
        let spec = try DeploymentFile.parse(text, path: path, formats: fileFormats)
        let digest = SigV4Signer.sha256Hex(Array(data))
        return (spec, digest)
    }

    /// A new deployment id: sortable by time, with a random suffix so two starts in one second differ.
    static func newDeploymentId(now: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return formatter.string(from: now) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}

/// The command stopped on a signal before its deployment began; the description says what was changed (exit 5).
struct StoppedEarly: Error, CustomStringConvertible {
    var description: String
}

/// A mistake in how the command was called: exit code 2.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
