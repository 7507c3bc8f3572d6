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
        let (git, common) = Self.gitDirectories(root)
        let output = context.pluginWorkDirectoryURL.appending(path: "GitRevision.swift")
        var inputs = [git.appending(path: "HEAD"), git.appending(path: "index"), common.appending(path: "packed-refs")]
        if let head = try? String(contentsOf: git.appending(path: "HEAD"), encoding: .utf8),
           head.hasPrefix("ref: ") {
            inputs.append(common.appending(path: head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)))
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

    /// The git directory (HEAD, index) and the common one (refs, packed-refs). In a linked worktree `.git` is a file
    /// naming its git directory, whose `commondir` names the repository's; without following them the inputs did not
    /// exist, the command never ran again, and --version kept the revision of the first build.
    static func gitDirectories(_ root: URL) -> (git: URL, common: URL) {
        let dotGit = root.appending(path: ".git")
        guard let link = try? String(contentsOf: dotGit, encoding: .utf8), link.hasPrefix("gitdir: ") else {
            return (dotGit, dotGit)
        }
        func resolve(_ path: String, from base: URL) -> URL {
            let path = path.trimmingCharacters(in: .whitespacesAndNewlines)
            return path.hasPrefix("/") ? URL(filePath: path) : base.appending(path: path)
        }
        let git = resolve(String(link.dropFirst(8)), from: root)
        guard let common = try? String(contentsOf: git.appending(path: "commondir"), encoding: .utf8) else { return (git, git) }
        return (git, resolve(common, from: git))
    }
}
