import Foundation
import Yams

/// `hooks`: commands run at named points of the release, each an argv with a timeout and an `on_failure`.
extension FileReader {
    mutating func hooks(_ m: Node.Mapping) -> Hooks? {
        let f = fields(m, at: "hooks")
        let before = issues.count
        var hooks = Hooks()
        for point in HookPoint.allCases {
            guard let node = f[point.rawValue] else { continue }
            hooks[point] = hookList(node, point: point)
        }
        return issues.count == before ? hooks : nil
    }

    /// A list of hooks, or one hook written as a mapping.
    mutating func hookList(_ node: Node, point: HookPoint) -> [Hook] {
        let key = "hooks.\(point.rawValue)"
        if case .mapping = node { return hook(node, point: point, key: key).map { [$0] } ?? [] }
        guard let items = sequence(node, key) else { return [] }
        if items.isEmpty { add(node, key, "must list at least one hook (or leave the key out)") }
        return items.enumerated().compactMap { hook($0.element, point: point, key: "\(key)[\($0.offset + 1)]") }
    }

    mutating func hook(_ node: Node, point: HookPoint, key: String) -> Hook? {
        guard let m = mapping(node, key) else { return nil }
        let f = fields(m, at: key, required: ["run"])
        let before = issues.count
        let run = f["run"].flatMap { argv($0, key: "\(key).run") }
        var hook = Hook(run: run ?? [], onFailure: point.canChangeTheRelease ? .rollback : .ignore)
        if f["timeout"] != nil, let timeout = duration(f["timeout"], "\(key).timeout", positive: true) {
            if timeout > Hook.maxTimeout {
                add(f["timeout"], "\(key).timeout", "must be at most \(Hook.maxTimeout) (got \(timeout)): a longer job belongs outside the release")
            }
            hook.timeout = timeout
        }
        if f["on_failure"] != nil, let choice = choice(f["on_failure"], "\(key).on_failure", Hook.OnFailure.self) {
            if !point.canChangeTheRelease && choice != .ignore {
                add(f["on_failure"], "\(key).on_failure", "\(point) runs once the release is over, when nothing is left to roll back or pause: "
                    + "on_failure can only be ignore there (got \(choice.rawValue))")
            }
            hook.onFailure = choice
        }
        return issues.count == before && run != nil ? hook : nil
    }

    /// The command as a list: the program, then its arguments, run without a shell.
    mutating func argv(_ node: Node, key: String) -> [String]? {
        guard case .sequence(let items) = node else {
            add(node, key, "must be a list: the program and its arguments, run without a shell, such as [./smoke.sh, --fast] "
                + "(for a shell, write it: [sh, -c, \"…\"]), got \(Self.kind(node))")
            return nil
        }
        if items.isEmpty { add(node, key, "must name at least the program to run") }
        var argv: [String] = []
        for (index, item) in items.enumerated() {
            // Any scalar is its text (`[sleep, 5]` means "5"); nothing, a list or a mapping is a mistake.
            guard case .scalar(let scalar) = item, !Self.kind(item).hasPrefix("nothing") || scalar.style == .singleQuoted || scalar.style == .doubleQuoted else {
                add(item, "\(key)[\(index + 1)]", "must be a string, got \(Self.kind(item))")
                continue
            }
            if index == 0 && scalar.string.isEmpty { add(item, "\(key)[1]", "the program's name is empty") }
            argv.append(scalar.string)
        }
        return argv.count == items.count && !items.isEmpty ? argv : nil
    }
}
