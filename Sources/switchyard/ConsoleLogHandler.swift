import Foundation
import Logging

/// swift-log's records as the rest of Switchyard's stderr reads: `warning: message (key=value, …)`, the level first
/// as compilers print it, then the message, then its metadata sorted by key. Written through `Console.error`, so a
/// line logged while the live panel is up goes above the panel instead of breaking its redraw.
struct ConsoleLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(level: Logger.Level) {
        logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        Console.error(Self.line(level: event.level, message: "\(event.message)", metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
    }

    /// `warning: fleet deregistered (asg=web-blue, deployment.id=…)`; `error:` for error and critical, `note:` for
    /// notice and info, `debug:` for debug and trace.
    static func line(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let name: String
        switch level {
        case .critical, .error: name = "error"
        case .warning: name = "warning"
        case .notice, .info: name = "note"
        case .debug, .trace: name = "debug"
        }
        let pairs = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return "\(name): \(message)" + (pairs.isEmpty ? "" : " (\(pairs.joined(separator: ", ")))")
    }
}
