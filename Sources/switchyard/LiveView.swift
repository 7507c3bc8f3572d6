import Foundation
import StateStore
import SwitchyardCore

/// The panel a person watching a release on a terminal sees on stderr, redrawn in place: service, deployment, AMI,
/// state, step k of n with its bake countdown, a bar of blue/green weights, green's capacity, each check's last result
/// and the last few events. Only on a terminal (and not with TERM=dumb); elsewhere one plain line per event is printed.
///
/// Every line is cut to the terminal's width (read with TIOCGWINSZ, again on SIGWINCH) less one column, so no line
/// wraps: the redraw moves the cursor up one row per line it drew, and a wrapped line would leave rows it cannot erase.
final class LiveView: @unchecked Sendable {
    static var wanted: Bool {
        ProcessInfo.processInfo.environment["TERM"] != "dumb" && isatty(STDERR_FILENO) == 1
    }

    private let lock = NSLock()
    private let id: String
    private var deployment: Deployment?
    private var events: [(Date, LogEntry)] = []
    private var drawnLines = 0
    private var ticker: Task<Void, Never>?
    private var resize: DispatchSourceSignal?
    private var columns = LiveView.terminalColumns()
    private var stopped = false

    init(deploymentId: String) {
        id = deploymentId
    }

    /// Starts redrawing every quarter second, for the countdown.
    func start() {
        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        source.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.withLock { self.columns = Self.terminalColumns() }
            self.redraw()
        }
        source.resume()
        resize = source
        Console.live.withLock { $0 = self }
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 250_000_000)
                self?.redraw()
            }
        }
    }

    /// Draws a last time and leaves the panel on screen; output after it goes below.
    func stop() {
        Console.live.withLock { $0 = nil }
        ticker?.cancel()
        resize?.cancel()
        redraw()
        // A tick or a resize already under way draws nothing more: a panel drawn after this one would stand below it.
        lock.withLock {
            drawnLines = 0
            stopped = true
        }
    }

    func update(_ d: Deployment) {
        guard d.id == id else { return }
        lock.withLock { deployment = d }
        redraw()
    }

    func event(_ d: Deployment, _ log: LogEntry, at: Date) {
        guard d.id == id else { return }
        lock.withLock {
            deployment = d
            events.append((at, log))
            if events.count > 5 { events.removeFirst(events.count - 5) }
        }
        redraw()
    }

    private func redraw() {
        // Written under the lock, as printAbove does: the ticker and the runner's updates redraw from two threads, and
        // a frame counts the rows of the frame before it. Written after the lock, the second frame could reach the
        // terminal first — moving up over rows the panel never drew — and the first then land below it: two panels
        // on screen (seen once in a fresh-clone CI run, e2e/test_terminal.py at 60 columns).
        lock.withLock {
            guard !stopped, let d = deployment else { return }
            let lines = Self.panel(d, events: events, now: Date(), columns: columns)
            // Up to the panel's first row, everything below it erased (a shorter panel, or rows a resize rewrapped).
            var out = drawnLines > 0 ? "\u{1B}[\(drawnLines)F\u{1B}[J" : ""
            for line in lines { out += line + "\n" }
            drawnLines = lines.count
            FileHandle.standardError.write(Data(out.utf8))
        }
    }

    /// Writes `text` where the panel is, then the panel below it: the text scrolls up with the rest and the redraws
    /// never count its rows.
    func printAbove(_ text: String) {
        lock.withLock {
            let erase = drawnLines > 0 ? "\u{1B}[\(drawnLines)F\u{1B}[J" : ""
            FileHandle.standardError.write(Data((erase + text + "\n").utf8))
            drawnLines = 0
        }
        redraw()
    }

    /// The terminal's width in columns (stderr's, then stdout's); COLUMNS when neither answers; else 80.
    static func terminalColumns() -> Int {
        var size = winsize()
        for fd in [STDERR_FILENO, STDOUT_FILENO] where ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 {
            return Int(size.ws_col)
        }
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(text), n > 0 { return n }
        return 80
    }

    /// `line` cut to `limit` columns of the terminal (escape sequences kept, not counted; wide characters count two,
    /// DisplayWidth), with "…" where it was cut and the colours reset after it. Tabs and other control characters
    /// (a hook's output, a check's evidence) become spaces: a tab moves the cursor to a column the count cannot know.
    static func fit(_ line: String, _ limit: Int) -> String {
        var text = ""
        var escape = false
        var total = 0
        for c in line {
            if escape {
                if c.isLetter { escape = false }
            } else if c == "\u{1B}" {
                escape = true
            } else if c.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control }) {
                text.append(" ")
                total += 1
                continue
            } else {
                total += DisplayWidth.of(c)
            }
            text.append(c)
        }
        guard total > limit else { return text }
        var out = ""
        var visible = 0
        escape = false
        for c in text {
            if escape {
                out.append(c)
                if c.isLetter { escape = false }
                continue
            }
            if c == "\u{1B}" {
                escape = true
                out.append(c)
                continue
            }
            let columns = DisplayWidth.of(c)
            if visible + columns > max(limit - 1, 0) { break }
            out.append(c)
            visible += columns
        }
        return out + (limit > 0 ? "…" : "") + (line.contains("\u{1B}") ? "\u{1B}[0m" : "")
    }

    /// The panel's lines for a terminal `columns` wide: none reaches the last column.
    static func panel(_ d: Deployment, events: [(Date, LogEntry)], now: Date, columns: Int = 80) -> [String] {
        let usable = max(columns - 1, 20)
        // "traffic  blue 100% " + the bar + " 100% green" on one line.
        let width = max(5, min(30, usable - 30))
        return lines(d, events: events, now: now, width: width).map { fit($0, usable) }
    }

    private static func lines(_ d: Deployment, events: [(Date, LogEntry)], now: Date, width: Int) -> [String] {
        let paint = Console.paint
        let pad = Console.pad
        let weights = d.plan.weights
        var step = "step \(d.stepLabel)"
        if let current = d.currentStep, case .weight(let weight, let bake) = current {
            step += " → \(weight)%"
            if let begun = d.bakeStartedAt, d.greenWeight == weight, begun > now {
                // The weights are confirmed but not live yet (traffic.settle, or the records' TTL): the bake starts then.
                step += ", settling until \(StoredTime.clock(begun)), then a bake of \(bake)"
            } else if let begun = d.bakeStartedAt, d.greenWeight == weight {
                let left = max(0, begun.adding(bake).timeIntervalSince(now))
                step += ", bake \(Console.duration(left)) of \(bake) left"
            }
        } else if d.state == .paused {
            step += ", waiting for `switchyard promote \(d.id)`"
        }
        let greenCells = Int((Double(d.greenWeight) / 100 * Double(width)).rounded())
        // Two glyphs, not only two colours, so the bar reads the same with NO_COLOR.
        let bar = paint(String(repeating: "░", count: width - greenCells), "34") + paint(String(repeating: "█", count: greenCells), "32")
        let stateColor: String
        switch d.state {
        case .rollingBack, .rolledBack, .failed: stateColor = "31;1"
        case .completed: stateColor = "32;1"
        case .paused: stateColor = "33;1"
        default: stateColor = "1"
        }
        var lines = [
            "\(paint("switchyard", "1"))  \(d.service)  \(d.id)  \(d.image)",
            "state    \(paint(d.state.rawValue, stateColor))  \(step)  (steps \(weights.map { "\($0)%" }.joined(separator: " → ")))",
            "traffic  blue \(pad(d.blueWeight))% \(bar) \(pad(d.greenWeight))% green",
            "green    \(d.plan.greenGroup)  " + (d.greenCapacity.map { "\($0.inService)/\($0.desired) InService" } ?? "capacity not read yet"),
        ]
        if let wait = d.trafficWait(at: now) {
            lines.append("clients  \(Console.waiting(wait))")
        }
        let checks = d.lastChecks ?? []
        if checks.isEmpty {
            lines.append("checks   none yet")
        } else {
            for (index, check) in checks.enumerated() {
                let failures = d.consecutiveFailures[check.name] ?? 0
                let mark = check.passed ? paint("ok  ", "32") : paint("FAIL", "31;1")
                let count = check.passed ? "" : " (\(failures)/\(check.threshold) in a row)"
                lines.append("\(index == 0 ? "checks  " : "        ") \(mark) \(check.name): \(truncate(check.evidence, 90))\(count)")
            }
        }
        for (index, (at, log)) in events.suffix(5).enumerated() {
            let time = String(Console.time(at).dropFirst(11).prefix(8))
            lines.append("\(index == 0 ? "events  " : "        ") \(time)  \(truncate(log.message, 100))")
        }
        return lines
    }

    private static func truncate(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
