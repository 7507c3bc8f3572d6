import Foundation
import StateStore
import SwitchyardCore

/// Writing to the terminal: stdout for results and JSON, stderr for people.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Text for people on stderr; a `docs/…` reference in it names the docs where they are on this machine.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((DocsLocation.localize(text) + "\n").utf8))
    }

    /// ArgumentParser begins its messages with `Error:`; ours, like compilers', begin with `error:` and `warning:`.
    static func lowercasePrefix(_ message: String) -> String {
        message.hasPrefix("Error: ") ? "error: " + message.dropFirst("Error: ".count) : message
    }

    static let useColor: Bool = {
        let env = ProcessInfo.processInfo.environment
        // NO_COLOR counts when set to anything but the empty string (no-color.org).
        return (env["NO_COLOR"] ?? "").isEmpty && env["TERM"] != "dumb" && isatty(STDERR_FILENO) == 1
    }()

    static func paint(_ text: String, _ code: String) -> String {
        useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// `2026-11-24 23:50:01Z`
    static func time(_ date: Date) -> String {
        let stored = StoredDate.text(date)
        return String(stored.prefix(10)) + " " + String(stored.dropFirst(11).prefix(8)) + "Z"
    }

    /// `850ms`, `42s`, `3m12s`, `1h04m`
    static func duration(_ seconds: TimeInterval) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }

    /// One progress line for a state change: time, state, step, weights and what happened.
    static func progressLine(_ d: Deployment, _ log: LogEntry, at: Date) -> String {
        let state = d.state.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
        let weights = "blue \(pad(d.blueWeight))% green \(pad(d.greenWeight))%"
        let line = "\(time(at))  \(state) step \(d.stepLabel)  \(weights)  \(log.message)"
        switch d.state {
        case .rollingBack, .rolledBack, .failed: return paint(line, "31")
        case .completed: return paint(line, "32")
        default: return line
        }
    }

    /// `settling until 10:42:13`, `draining blue: 2 targets, until 10:42:43`: what a deployment waits for because
    /// clients see traffic changes late (times of day in UTC, as the live view's events).
    static func waiting(_ wait: TrafficWait) -> String {
        switch wait {
        case .stepSettling(let until): return "settling until \(StoredTime.clock(until)): the step's weights are confirmed, its bake starts once they are live"
        case .testRouteSettling(let until): return "settling until \(StoredTime.clock(until)): the test route counts once it is live"
        case .testRouteProving(let passes, let needed): return "test route live: \(passes) of \(needed) probes through it passed before the first weight"
        case .fleetSettling(let fleet, let until): return "settling until \(StoredTime.clock(until)): \(fleet) may still get requests, then it is deregistered"
        case .fleetDeregistering(let fleet): return "deregistering \(fleet) from its target groups"
        case .fleetDraining(let fleet, let targets, let until):
            return "draining \(fleet): \(targets) target\(targets == 1 ? "" : "s"), until \(StoredTime.clock(until))"
        case .fleetRemoving(let fleet): return "\(fleet) drained: removing it"
        }
    }

    /// A percentage right-aligned in three columns.
    static func pad(_ n: Int) -> String {
        String(repeating: " ", count: max(0, 3 - String(n).count)) + String(n)
    }
}
