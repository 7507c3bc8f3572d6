import Foundation

/// Where the reference docs are on this machine, for help and hints: beside an installed binary
/// (`/usr/bin/switchyard` → `/usr/share/doc/switchyard/docs/`, where the Debian package puts them), or the `docs/` of
/// the checkout a development build runs from; else the repository-relative `docs/` the messages were written with.
enum DocsLocation {
    /// The folder, ending in `/`.
    static let folder: String = {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first.flatMap(resolve) ?? "").resolvingSymlinksInPath()
        var candidates = [executable.deletingLastPathComponent().appendingPathComponent("../share/doc/switchyard/docs")]
        var dir = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            candidates.append(dir.appendingPathComponent("docs"))
        }
        let found = candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("commands.md").path) }
        return found.map { $0.standardizedFileURL.path + "/" } ?? "docs/"
    }()

    /// `states.md#a-damaged-state-file` as the path of that file here.
    static func path(_ relative: String) -> String { folder + relative }

    /// A message with every reference to a file of the docs folder made a path that exists on this machine.
    static func localize(_ text: String) -> String {
        guard folder != "docs/", text.contains("docs/") else { return text }
        return text.replacingOccurrences(of: #"(?<![\w/.])docs/(?=[\w-]+\.(md|json))"#, with: folder, options: .regularExpression)
    }

    /// The executable's path: as given when it has a slash, else found on PATH.
    private static func resolve(_ argument: String) -> String? {
        if argument.contains("/") { return argument }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/\(argument)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
