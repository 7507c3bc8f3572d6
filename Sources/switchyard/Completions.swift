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

    /// `--state`: the two schemes, then, after `sqlite://`, the files and folders under the path typed so far
    /// (`sqlite:///abs/…` or `sqlite://relative/…`). A DynamoDB table name is not guessed: that would ask AWS.
    static let stateURLs: CompletionKind = .custom { _, _, prefix in stateURLs(prefix: prefix) }

    static func stateURLs(prefix: String, fileManager: FileManager = .default) -> [String] {
        let schemes = ["sqlite://", "dynamodb://"]
        guard prefix.hasPrefix("sqlite://") else { return schemes.filter { $0.hasPrefix(prefix) } }
        let path = String(prefix.dropFirst("sqlite://".count))
        let folder = path.contains("/") ? String(path[...path.lastIndex(of: "/")!]) : ""
        let stem = String(path.dropFirst(folder.count))
        let listed = folder.isEmpty ? "." : folder
        guard let names = try? fileManager.contentsOfDirectory(atPath: listed) else { return [] }
        return names.filter { $0.hasPrefix(stem) && (stem.hasPrefix(".") || !$0.hasPrefix(".")) }.sorted().map { name in
            var isFolder: ObjCBool = false
            _ = fileManager.fileExists(atPath: (listed as NSString).appendingPathComponent(name), isDirectory: &isFolder)
            return "sqlite://" + folder + name + (isFolder.boolValue ? "/" : "")
        }
    }
}
