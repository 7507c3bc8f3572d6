import ArgumentParser
import Foundation
import StateStore

/// What the shells complete where a command expects a file or a deployment id.
enum Completions {
    /// The deployment ids of the state the command line names (--state, --db, else the environment's), newest first:
    /// read from a state file only, never from AWS, so a Tab press costs a few milliseconds.
    static let deploymentIds: CompletionKind = .custom { words, _, prefix in ids(words: words, prefix: prefix) }

    static func ids(words: [String], prefix: String) -> [String] {
        func value(of flag: String) -> String? {
            for (index, word) in words.enumerated() {
                if word.hasPrefix(flag + "=") { return String(word.dropFirst(flag.count + 1)) }
                if word == flag, index + 1 < words.count { return words[index + 1] }
            }
            return nil
        }
        let selection = StateSelection(stateURL: value(of: "--state"), db: value(of: "--db"))
        guard (try? selection.resolvedLocation())?.sqlitePath != nil, let store = try? selection.openIfExists() else { return [] }
        let ids = (try? store.historySummaries(HistoryQuery(limit: 200)).deployments.map(\.id)) ?? []
        return ids.filter { $0.hasPrefix(prefix) }
    }
}
