import Foundation
import SigV4

/// A profile's `credential_process` (Vault, 1Password, aws-vault): run without a shell, its standard output read as
/// the Version 1 JSON the AWS CLI documents.
public struct ProcessCredentials: CredentialProvider {
    public let profileName: String
    public let commandLine: String
    let environment: [String: String]

    public init(profileName: String, commandLine: String, environment: [String: String]) {
        self.profileName = profileName
        self.commandLine = commandLine
        self.environment = environment
    }

    public var source: String { "credential_process of profile \(profileName)" }

    public func credentials() async throws -> AWSCredentials {
        let arguments: [String]
        do {
            arguments = try ShellWords.split(commandLine)
        } catch {
            throw CredentialsError.failed(source: source, problem: "\(error)")
        }
        guard let command = arguments.first else { throw CredentialsError.failed(source: source, problem: "credential_process is empty") }
        guard let executable = ShellWords.locate(command, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw CredentialsError.failed(source: source, problem: "\(command) is not an executable file\(command.contains("/") ? "" : " in PATH")")
        }
        let result = try await Self.run(executable, Array(arguments.dropFirst()), environment: environment, source: source)
        guard result.status == 0 else {
            let stderr = bounded(result.stderr, limit: 500)
            throw CredentialsError.failed(source: source, problem: "\(command) exited with status \(result.status)\(stderr.isEmpty ? "" : ": \(stderr)")")
        }
        return try Self.parse(result.stdout, source: source)
    }

    /// Version 1: `AccessKeyId`, `SecretAccessKey`, optional `SessionToken` and `Expiration` (ISO 8601).
    /// The output is never quoted in errors: it holds secrets.
    static func parse(_ output: Data, source: String) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw CredentialsError.failed(source: source, problem: "the output is not a JSON object")
        }
        guard let version = object["Version"] as? Int, version == 1 else {
            throw CredentialsError.failed(source: source, problem: "unsupported Version \(object["Version"].map { "\($0)" } ?? "(none)"); only Version 1 is known")
        }
        guard let key = object["AccessKeyId"] as? String, !key.isEmpty else {
            throw CredentialsError.failed(source: source, problem: "the output has no AccessKeyId")
        }
        guard let secret = object["SecretAccessKey"] as? String, !secret.isEmpty else {
            throw CredentialsError.failed(source: source, problem: "the output has no SecretAccessKey")
        }
        var expiration: Date?
        if let text = object["Expiration"] as? String {
            guard let date = CredentialDates.parse(text) else {
                throw CredentialsError.failed(source: source, problem: "Expiration is not an ISO 8601 time (\(text))")
            }
            expiration = date
        }
        return AWSCredentials(keys: SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: object["SessionToken"] as? String),
                              expiration: expiration, source: source)
    }

    struct Outcome: Sendable {
        var status: Int32
        var stdout: Data
        var stderr: Data
    }

    /// Runs the process on a dedicated queue: `waitUntilExit` and pipe reads block, which the cooperative pool must not do.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String], source: String) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue(label: "switchyard.credential-process").async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                process.environment = environment
                let stdout = Pipe(), stderr = Pipe()
                process.standardOutput = stdout
                process.standardError = stderr
                process.standardInput = FileHandle.nullDevice
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: CredentialsError.failed(source: source, problem: "cannot start \(executable): \(error.localizedDescription)"))
                    return
                }
                // Standard error is drained beside standard output, so a chatty process cannot fill its pipe and stall.
                let group = DispatchGroup()
                nonisolated(unsafe) var errorOutput = Data()
                DispatchQueue.global().async(group: group) { errorOutput = stderr.fileHandleForReading.readDataToEndOfFile() }
                let output = stdout.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                continuation.resume(returning: Outcome(status: process.terminationStatus, stdout: output, stderr: errorOutput))
            }
        }
    }
}

/// Command-line words as Python's `shlex.split` (POSIX mode) makes them, which botocore uses for credential_process.
enum ShellWords {
    struct Unbalanced: Error, CustomStringConvertible {
        var description: String { "credential_process has an unclosed quote" }
    }

    static func split(_ line: String) throws -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var iterator = Array(line).makeIterator()
        while let c = iterator.next() {
            switch c {
            case " ", "\t", "\n", "\r":
                if inWord { words.append(word); word = ""; inWord = false }
            case "\\":
                inWord = true
                if let next = iterator.next() { word.append(next) }
            case "'":
                inWord = true
                while true {
                    guard let q = iterator.next() else { throw Unbalanced() }
                    if q == "'" { break }
                    word.append(q)
                }
            case "\"":
                inWord = true
                while true {
                    guard let q = iterator.next() else { throw Unbalanced() }
                    if q == "\"" { break }
                    if q == "\\" {
                        guard let escaped = iterator.next() else { throw Unbalanced() }
                        if escaped != "\"" && escaped != "\\" { word.append("\\") }
                        word.append(escaped)
                    } else {
                        word.append(q)
                    }
                }
            default:
                inWord = true
                word.append(c)
            }
        }
        if inWord { words.append(word) }
        return words
    }

    /// The executable a command names: itself when it has a slash, else the first match in PATH.
    static func locate(_ command: String, path: String) -> String? {
        if command.contains("/") { return FileManager.default.isExecutableFile(atPath: command) ? command : nil }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
