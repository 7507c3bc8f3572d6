import ArgumentParser
import Foundation
import StateStore
import SwitchyardCore

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream the event log, oldest first, for a SIEM or an archive.",
        discussion: """
            One JSON object per line (`--format jsonl`): id, at, deployment_id, service, ami, from, to, message, \
            actor, details. It streams: memory stays flat however long the log is.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl }

    @Option(help: ArgumentHelp("Only events since then (7d, 12h, 2026-11-01).", valueName: "when")) var since: String?
    @Option(help: ArgumentHelp("Only events before then.", valueName: "when")) var until: String?
    @Option(help: "Only this service.") var service: String?
    @Option(help: "Output format.") var format: Format = .jsonl
    @OptionGroup var state: StateOptions

    func validate() throws {
        _ = try TimeBound.parse(since, option: "--since")
        _ = try TimeBound.parse(until, option: "--until")
    }

    struct Line: Encodable {
        let id: Int64
        let at: String?
        let deployment_id: String
        let service: String
        let ami: String
        let from: String
        let to: String
        let message: String
        let actor: String
        let details: [String: String]
    }

    func run() async throws {
        try await Failure.reporting {
            let store = try state.openForReading()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var buffer = Data()
            let out = FileHandle.standardOutput
            try store.exportEvents(since: try TimeBound.parse(since, option: "--since"), until: try TimeBound.parse(until, option: "--until"),
                                   service: service) { item in
                let e = item.event
                buffer.append(try encoder.encode(Line(id: e.id, at: JSONViews.timestamp(e.at), deployment_id: e.deploymentId, service: item.service,
                                                      ami: item.ami, from: e.from.rawValue, to: e.to.rawValue, message: e.message,
                                                      actor: e.actor, details: e.details)))
                buffer.append(0x0A)
                if buffer.count >= 1 << 16 {
                    out.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            out.write(buffer)
            return .success
        }
    }
}
