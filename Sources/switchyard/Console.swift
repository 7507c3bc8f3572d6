import Foundation
import Synchronization
import StateStore
import SwitchyardCore

/// Writing to the terminal: stdout for results and JSON, stderr for people.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Text for people on stderr; a `docs/…` reference in it names the docs where they are on this machine.
    static func error(_ text: String) {
        let text = DocsLocation.localize(text)
        if let live = live.withLock({ $0 }) {
            live.printAbove(text)
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// The live panel while it is drawn: a line for stderr then goes above it, and the panel is drawn again below.
    static let live = Mutex<LiveView?>(nil)

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
        let stored = StoredTime.text(date)
        return String(stored.prefix(10)) + " " + String(stored.dropFirst(11).prefix(8)) + "Z"
    }

    /// `, 14 min ago`, `, 3 s ago`: how old a fact shown beside it is; empty when it is not known.
    static func age(_ at: Date?, now: Date) -> String {
        guard let at else { return "" }
        let seconds = max(0, Int(now.timeIntervalSince(at)))
        if seconds < 60 { return ", \(seconds) s ago" }
        if seconds < 3600 { return ", \(seconds / 60) min ago" }
        if seconds < 86400 { return ", \(seconds / 3600) h \(seconds % 3600 / 60) min ago" }
        return ", \(seconds / 86400) d ago"
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
        progressLine(state: d.state, step: d.stepLabel, blue: d.blueWeight, green: d.greenWeight, message: log.message, at: at)
    }

    /// An event read back from the store, with its own state, step and weights (stamped when it was saved; an older
    /// event without them shows those of `d`).
    static func progressLine(_ d: Deployment, event: StoredEvent) -> String {
        let weights = event.details["at_weights"]?.split(separator: "/").compactMap { Int($0) }
        let (blue, green) = weights?.count == 2 ? (weights![0], weights![1]) : (d.blueWeight, d.greenWeight)
        return progressLine(state: event.to, step: event.details["at_step"] ?? d.stepLabel, blue: blue, green: green, message: event.message, at: event.at)
    }

    static func progressLine(state current: DeploymentState, step: String, blue: Int, green: Int, message: String, at: Date) -> String {
        let state = current.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
        let weights = "blue \(pad(blue))% green \(pad(green))%"
        let line = "\(time(at))  \(state) step \(step)  \(weights)  \(message)"
        switch current {
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
        case .testRouteProving(let passes, let needed): return "test route live: \(passes) of \(Spelling.count(needed, "probe")) through it passed before the first weight"
        case .fleetSettling(let fleet, let until): return "settling until \(StoredTime.clock(until)): \(fleet) may still get requests, then it is deregistered"
        case .fleetDeregistering(let fleet): return "deregistering \(fleet) from the load balancer"
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
