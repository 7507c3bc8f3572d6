import Foundation
import PackagePlugin

/// Writes `GitRevision.swift` (the commit the binary is built from, `-dirty` with uncommitted changes to tracked
/// files, `unknown` outside a git checkout) for `switchyard --version`.
///
/// A build command, not a prebuild command: SwiftPM reruns prebuild commands only when it replans the build, so a
/// commit without a new file left the old revision in. This one reruns whenever git's HEAD, index or refs change.
@main
struct GitRevision: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let git = root.appending(path: ".git")
        let output = context.pluginWorkDirectoryURL.appending(path: "GitRevision.swift")
        var inputs = ["HEAD", "index", "packed-refs"].map { git.appending(path: $0) }
        if let head = try? String(contentsOf: git.appending(path: "HEAD"), encoding: .utf8),
           head.hasPrefix("ref: ") {
            inputs.append(git.appending(path: head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        inputs = inputs.filter { FileManager.default.fileExists(atPath: $0.path) }
        let script = #"""
            cd "$1" || exit 1
            rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$rev" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then rev="$rev-dirty"; fi
            printf 'enum GitRevision {\n    static let text = "%s"\n}\n' "$rev" > "$2"
            """#
        return [.buildCommand(
            displayName: "Recording the git revision",
            executable: URL(filePath: "/bin/sh"),
            arguments: ["-c", script, "git-revision", root.path, output.path],
            inputFiles: inputs,
            outputFiles: [output])]
    }
}
