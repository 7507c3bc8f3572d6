import ArgumentParser
import Foundation
import SQLiteStateStore
import StateStore

/// `switchyard state …`: looking after the state store itself.
struct State: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look after the state store itself: create it, check a state file, copy history between stores.",
        subcommands: [StateInitCommand.self, StateCheck.self, StateCopyCommand.self])
}

struct StateCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the state file for damage (SQLite's integrity check of every page and index); read-only.",
        discussion: DocsLocation.localize("""
            Exit 0 when the file is sound, 1 with SQLite's findings when it is damaged. To recover, restore the last \
            good copy of the file (docs/states.md#a-damaged-state-file).
            """))

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Failure.reporting {
            guard let path = state.location.sqlitePath else {
                throw UsageError("`state check` checks a SQLite state file; \(state.location) is a DynamoDB table, which keeps its own pages")
            }
            guard FileManager.default.fileExists(atPath: path) else { throw UsageError(StateOptions.missing(path)) }
            let store: SQLiteStateStore
            do {
                store = try SQLiteStateStore(path: path, readOnly: true)
            } catch StateStoreError.damaged(_, let detail) {
                throw UnexpectedFailure(description: Self.verdict(state.path, [detail]))
            }
            let problems = try store.integrityProblems()
            guard problems.isEmpty else { throw UnexpectedFailure(description: Self.verdict(state.path, problems)) }
            Console.out("the state file \(state.path) is sound (PRAGMA integrity_check: ok)")
            return .success
        }
    }

    static func verdict(_ path: String, _ problems: [String]) -> String {
        (["the state file \(path) is damaged; SQLite reports:"] + problems.map { "  " + $0 }
            + ["restore the last good copy of the file (docs/states.md#a-damaged-state-file)"]).joined(separator: "\n")
    }
}
