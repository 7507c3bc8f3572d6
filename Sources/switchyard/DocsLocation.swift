import Foundation

/// Where the reference docs are on this machine, for help and hints: beside an installed binary
/// (`/usr/bin/switchyard` → `/usr/share/doc/switchyard/docs/`, where the Debian package puts them), or the `docs/` of
/// the checkout a development build runs from; else (a bare binary, as README's `install` into /usr/local/bin) the
/// published docs of this version, `SwitchyardVersion.docsURL`. Never the repository-relative `docs/` the messages
/// are written with, which exists nowhere on such a machine.
enum DocsLocation {
    /// The folder or URL, ending in `/`.
    static let folder: String = {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first.flatMap(resolve) ?? "").resolvingSymlinksInPath()
        var candidates = [executable.deletingLastPathComponent().appendingPathComponent("../share/doc/switchyard/docs")]
        var dir = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            candidates.append(dir.appendingPathComponent("docs"))
        }
        let found = candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("commands.md").path) }
        return found.map { $0.standardizedFileURL.path + "/" } ?? SwitchyardVersion.docsURL
    }()

    /// `states.md#a-damaged-state-file` as the path of that file here (or its URL).
    static func path(_ relative: String) -> String { folder + relative }

    /// A message or help text with every `docs/FILE` reference made a path that exists on this machine (or a URL).
    static func localize(_ text: String) -> String {
        guard text.contains("docs/") else { return text }
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
