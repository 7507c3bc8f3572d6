import ArgumentParser
import Foundation
import StateStore
import SwitchyardCore

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List past and present deployments, newest first, one page at a time.",
        discussion: """
            Filters combine: `switchyard history --service web --status rolled_back --since 30d`. Times are a span \
            back from now (`90m`, `12h`, `7d`, `2w`) or a date (`2026-11-01`, `2026-11-01T12:00:00Z`). `--state` is \
            where the state lives, as for every command; `--state STATE` (a state name) still filters, as it did before \
            --status had its name, with a note on stderr.
            """)

    @Option(help: "Only this service.") var service: String?
    @Option(name: .customLong("status"), help: ArgumentHelp(
        "Only deployments in this state (repeatable): \(DeploymentState.allCases.map(\.rawValue).joined(separator: ", ")).",
        valueName: "state"))
    var statusFilters: [String] = []
    // Repeatable for the old spelling of --status: `--state failed --state rolled_back` keeps working.
    @Option(name: .customLong("state"), help: ArgumentHelp(
        "Where the state lives: sqlite:///path/state.db or dynamodb://TABLE?region=REGION (default: $SWITCHYARD_STATE, else the state file).",
        valueName: "url"), completion: Completions.stateURLs)
    var stateValues: [String] = []
    @Option(help: "Only releases of this AMI.") var ami: String?
    @Option(help: ArgumentHelp("Only deployments started since then (7d, 12h, 2026-11-01).", valueName: "when")) var since: String?
    @Option(help: ArgumentHelp("Only deployments started before then.", valueName: "when")) var until: String?
    @Option(help: "Deployments per page.") var limit: Int = 20
    @Option(help: "Which page (1 is the newest).") var page: Int = 1
    @OptionGroup var dbOption: DBOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be a positive number (got \(limit))") }
        guard page > 0 else { throw ValidationError("--page must be 1 or more (got \(page))") }
        if stateValues.filter(Self.isURL).count > 1 {
            throw ValidationError("--state is given two state URLs (\(stateValues.filter(Self.isURL).joined(separator: ", "))); give one")
        }
        try state.validateLocation()
        for name in states where DeploymentState(rawValue: name) == nil {
            let names = DeploymentState.allCases.map(\.rawValue)
            let hint = Spelling.closest(name, in: names).map { "did you mean \($0)? " } ?? ""
            let option = statusFilters.contains(name) ? "--status" : "--state"
            throw ValidationError("\(option) \(name) is not a state; \(hint)One of \(names.joined(separator: ", "))")
        }
        _ = try TimeBound.parse(since, option: "--since")
        _ = try TimeBound.parse(until, option: "--until")
    }

    /// `--state URL` is where the state lives; a `--state` value without :// is a state name, the filter's old spelling.
    static func isURL(_ value: String) -> Bool { value.contains("://") }

    /// State names given as `--state NAME`, the spelling --status replaced.
    var deprecatedStates: [String] { stateValues.filter { !Self.isURL($0) } }

    /// The state names to filter on.
    var states: [String] { statusFilters + deprecatedStates }

    /// Where the state lives: `--state URL`, or `--db`, or the environment.
    var state: StateSelection { StateSelection(stateURL: stateValues.first(where: Self.isURL), db: dbOption.db) }

    func run() async throws {
        for name in deprecatedStates {
            Console.error("note: `history --state \(name)` is deprecated: filter with `--status \(name)` (--state names where the state lives)")
        }
        try await Failure.reporting {
            let query = HistoryQuery(service: service, states: states.compactMap(DeploymentState.init(rawValue:)), ami: ami,
                                     since: try TimeBound.parse(since, option: "--since"), until: try TimeBound.parse(until, option: "--until"),
                                     limit: limit, page: page)
            let store: StateStore? = try state.openForReading()
            if output.json {
                let deployments = try store?.historyPage(query) ?? []
                Console.out(try JSONViews.encode(deployments.map { JSONViews.DeploymentView($0, events: nil) }))
                return .success
            }
            let (deployments, more) = try store?.historySummaries(query) ?? ([], false)
            if deployments.isEmpty {
                Console.out(page == 1 ? "no deployments match" : "page \(page) is past the last page")
                return .success
            }
            Console.out(Self.table(deployments))
            if more { Console.error("page \(page); --page \(page + 1) for older ones") }
            return .success
        }
    }

    static func table(_ deployments: [DeploymentSummary]) -> String {
        let header = ["ID", "SERVICE", "AMI", "STARTED", "DURATION", "RESULT", "ACTOR"]
        let rows = deployments.map { d in
            [d.id, d.service, d.ami, Console.time(d.createdAt),
             d.state.isTerminal ? Console.duration(d.updatedAt.timeIntervalSince(d.createdAt)) : "running",
             d.state.rawValue, d.actor]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// `--since` / `--until`: a span back from now, or a date.
enum TimeBound {
    static func parse(_ text: String?, option: String, now: Date = Date()) throws -> Date? {
        guard let text else { return nil }
        if let last = text.last, let n = Double(text.dropLast()), n >= 0 {
            let unit: Double? = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800][String(last)]
            if let unit { return now.addingTimeInterval(-n * unit) }
        }
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: text) { return date }
        throw ValidationError("\(option) \(text) is neither a span back from now (90m, 12h, 7d, 2w) nor a date (2026-11-01, 2026-11-01T12:00:00Z)")
    }
}
