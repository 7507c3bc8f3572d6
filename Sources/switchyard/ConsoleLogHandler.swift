import Foundation
import Logging

/// The libraries' log lines in the CLI's one format for people on stderr: `warning: MESSAGE (key=value, …)`, the
/// prefix by level as the CLI's own messages have it (`error:`, `warning:`, `note:`, and `debug:` for the chatty
/// levels), the metadata sorted by key. swift-log's stream handler put a timestamp and the label first
/// (`2026-12-02T03:44:49+0000 warning switchyard: …`), which `grep '^warning: '` never found.
struct ConsoleLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        Console.error(Self.line(level: level, message: "\(message)", metadata: metadata.merging(explicit ?? [:]) { _, new in new }))
    }

    /// One log line as the CLI prints it.
    static func line(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let prefix: String
        switch level {
        case .critical, .error: prefix = "error"
        case .warning: prefix = "warning"
        case .notice, .info: prefix = "note"
        case .debug, .trace: prefix = "debug"
        }
        let details = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return "\(prefix): \(message)" + (details.isEmpty ? "" : " (\(details))")
    }
}
