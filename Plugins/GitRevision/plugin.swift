import Foundation
import PackagePlugin

/// Writes `GitRevision.swift` (the commit the binary is built from, `-dirty` with local changes, `unknown` outside a
/// git checkout) before every build, for `switchyard --version`. The file is only rewritten when the revision
/// changes, so an unchanged tree rebuilds nothing.
@main
struct GitRevision: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "GitRevision.swift")
        let script = #"""
            cd "$1" || exit 1
            rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$rev" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then rev="$rev-dirty"; fi
            printf 'enum GitRevision {\n    static let text = "%s"\n}\n' "$rev" > "$2.tmp"
            if cmp -s "$2.tmp" "$2"; then rm -f "$2.tmp"; else mv "$2.tmp" "$2"; fi
            """#
        return [.prebuildCommand(
            displayName: "Recording the git revision",
            executable: URL(filePath: "/bin/sh"),
            arguments: ["-c", script, "git-revision", context.package.directoryURL.path, output.path],
            outputFilesDirectory: context.pluginWorkDirectoryURL)]
    }
}
