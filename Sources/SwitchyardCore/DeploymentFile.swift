import Foundation
import Yams

/// One problem in a deployment file, with where it is.
public struct FileIssue: Sendable, Hashable, CustomStringConvertible {
    public var line: Int?
    public var column: Int?
    /// A dotted path such as `checks.http.timeout` or `steps[2].weight`; empty for the whole file.
    public var key: String
    public var problem: String

    public init(line: Int?, column: Int? = nil, key: String, problem: String) {
        self.line = line
        self.column = column
        self.key = key
        self.problem = problem
    }

    public var description: String {
        let place = line.map { "line \($0)" }
        let reference = key.isEmpty ? "" : " (see \(Self.reference(for: key)))"
        let where_ = [place, key.isEmpty ? nil : key].compactMap { $0 }.joined(separator: ", ")
        return (where_.isEmpty ? "" : where_ + ": ") + problem + reference
    }

    /// The section of the reference that documents a key: `checks.alarms` → `docs/deployment-file.md#checks-alarms`,
    /// `steps[2].weight` → `#steps-weight`, `notify.webhooks[0].url` → `#notify-webhooks-url`. A key that is not one
    /// (a typo) points at its section.
    public static func reference(for key: String) -> String {
        var parts = key.replacingOccurrences(of: #"\[\d+\]"#, with: "", options: .regularExpression).split(separator: ".").map(String.init)
        // A known key in the wrong section: the section where it belongs, as the message's "did you mean" says.
        if !FileReader.isKnown(parts), let last = parts.last,
           let home = FileReader.rightPlace(of: last, notIn: parts.dropLast().joined(separator: ".")) {
            return "docs/deployment-file.md#" + home.replacingOccurrences(of: ".", with: "-")
        }
        while parts.count > 1, !FileReader.isKnown(parts) { parts.removeLast() }
        if parts.count == 1, !FileReader.isKnown(parts) { return "docs/deployment-file.md" }
        return "docs/deployment-file.md#" + parts.joined(separator: "-")
    }
}

/// A deployment file with every problem found in it.
public struct DeploymentFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var issues: [FileIssue]

    public init(path: String, issues: [FileIssue]) {
        self.path = path
        self.issues = issues
    }

    /// How many problems are listed; the rest are counted, so a huge wrong file gives a screenful, not a flood.
    public static let listed = 50

    public var description: String {
        let count = issues.count == 1 ? "1 problem" : "\(issues.count) problems"
        var lines = issues.prefix(Self.listed).map { "  \($0)" }
        if issues.count > Self.listed { lines.append("  and \(issues.count - Self.listed) more") }
        return "\(path) is not a valid deployment file (\(count)):\n" + lines.joined(separator: "\n")
    }
}

/// Reads deployment files (the format of PRODUCT.md) into a `DeploymentSpec`.
public enum DeploymentFile {
    /// Parses and validates a deployment file, reporting every problem at once, in line order.
    /// The largest deployment file read: a real one is a few hundred bytes; a bigger one is a mistake (a log, a binary).
    public static let maxBytes = 1 << 20

    public static func parse(_ text: String, path: String) throws -> DeploymentSpec {
        if text.utf8.count > maxBytes { throw tooLarge(path: path, bytes: text.utf8.count) }
        var reader = FileReader()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw DeploymentFileError(path: path, issues: [FileReader.issue(for: error)])
        }
        guard let root, case .mapping(let top) = root else {
            throw DeploymentFileError(path: path, issues: [FileIssue(line: root?.mark?.line ?? 1, key: "",
                problem: "a deployment file is a YAML mapping with service, region, traffic, steps (and optionally fleet, checks, promotion)")])
        }
        let spec = reader.spec(top)
        guard reader.issues.isEmpty, let spec else {
            let sorted = reader.issues.enumerated().sorted { a, b in
                (a.element.line ?? 0, a.offset) < (b.element.line ?? 0, b.offset)
            }.map(\.element)
            throw DeploymentFileError(path: path, issues: sorted)
        }
        return spec
    }
}

extension DeploymentFile {
    /// The refusal of a file over `maxBytes`, before it is parsed.
    public static func tooLarge(path: String, bytes: Int) -> DeploymentFileError {
        DeploymentFileError(path: path, issues: [FileIssue(line: nil, key: "",
            problem: "the file is \(bytes) bytes; a deployment file is at most \(maxBytes) bytes (1 MB), so this is not one")])
    }
}

/// Walks the YAML tree, collecting problems instead of stopping at the first.
struct FileReader {
    /// The deployment file's keys, written once: each section (a dotted path, list indexes dropped) and the keys it
    /// accepts. `fields` takes a section's keys from here, so a key is accepted exactly where it is listed; the same
    /// table says where a key put in the wrong section belongs (`listener_arn` at the top level: did you mean
    /// `traffic.listener_arn`?) and which reference section documents a key (e2e/test_docs.py holds every key here to
    /// a section of docs/deployment-file.md).
    static let schema: [String: [String]] = [
        "": ["service", "region", "traffic", "fleet", "steps", "checks", "promotion", "notify", "hooks"],
        "traffic": ["listener_arn", "listener_arns", "rule_arn", "rule_arns", "target_groups", "route53", "shared", "settle"],
        "traffic.shared": ["target_group", "load_balancer_name"],
        "traffic.route53": ["hosted_zone_id", "record_name", "record_type", "records"],
        "traffic.route53.records": ["set_identifier", "target", "target_group"],
        "fleet": ["blue_auto_scaling_group", "capacity_timeout", "other_target_groups", "launch_template_default", "mode", "pair"],
        "steps": ["weight", "bake"],
        "checks": ["interval", "healthy_timeout", "max_unhealthy_targets", "alarms", "http", "metrics"],
        "checks.metrics": ["name", "namespace", "metric", "dimensions", "stat", "period", "expression", "using", "max", "min",
                           "max_ratio_to_blue", "compare", "tolerance", "confidence", "min_samples", "on_no_data"],
        "checks.metrics.using": ["namespace", "metric", "dimensions", "stat"],
        "checks.http": ["url", "expect_status", "timeout", "failure_threshold", "test_route"],
        "checks.http.test_route": ["header", "listener_arn"],
        "notify": ["webhooks", "timeout", "retries"],
        "notify.webhooks": ["url", "format"],
        "promotion": ["blue_retention"],
        "hooks": ["before_traffic", "after_step", "before_promotion", "after_promotion", "after_rollback"],
        "hooks.before_traffic": ["run", "timeout", "on_failure"],
        "hooks.after_step": ["run", "timeout", "on_failure"],
        "hooks.before_promotion": ["run", "timeout", "on_failure"],
        "hooks.after_promotion": ["run", "timeout", "on_failure"],
        "hooks.after_rollback": ["run", "timeout", "on_failure"],
    ]

    static func isKnown(_ parts: [String]) -> Bool {
        schema[parts.dropLast().joined(separator: ".")]?.contains(parts.last ?? "") ?? false
    }

    /// `traffic.listener_arn` for `listener_arn` found in another section, when exactly one section has that key.
    static func rightPlace(of key: String, notIn path: String) -> String? {
        let sections = schema.filter { $0.key != path && $0.value.contains(key) }.map(\.key)
        // `url` under `checks` belongs in `checks.http`, not in `notify.webhooks`: a section inside this one comes first.
        let inside = sections.filter { $0.hasPrefix(path.isEmpty ? "" : path + ".") }
        // Else the one shallowest section: `listener_arn` at the top belongs in `traffic`, not `checks.http.test_route`.
        let depth = { (section: String) in section.split(separator: ".").count }
        let shallowest = sections.filter { depth($0) == sections.map(depth).min() }
        let home = sections.count == 1 ? sections[0] : (inside.count == 1 ? inside[0] : (shallowest.count == 1 ? shallowest[0] : nil))
        return home.map { $0.isEmpty ? key : "\($0).\(key)" }
    }

    var issues: [FileIssue] = []

    static func issue(for error: YamlError) -> FileIssue {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return FileIssue(line: mark.line, column: mark.column, key: "", problem: "YAML syntax error: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return FileIssue(line: context.mark.line, key: duplicates.joined(separator: ", "), problem: "key given more than once")
        default:
            return FileIssue(line: nil, key: "", problem: "YAML error: \(error)")
        }
    }

    mutating func add(_ node: Node?, _ key: String, _ problem: String) {
        issues.append(FileIssue(line: node?.mark?.line, column: node?.mark?.column, key: key, problem: problem))
    }

    // MARK: Mappings

    /// A key's section in `schema`: its path with list indexes dropped (`steps[2]` → `steps`).
    static func section(of path: String) -> String {
        path.replacingOccurrences(of: #"\[\d+\]"#, with: "", options: .regularExpression)
    }

    /// The entries of a mapping by key; keys its section of `schema` does not list and missing required keys are
    /// issues. `section` names the schema's section where the path does not (a mapping keyed by the user's ids).
    mutating func fields(_ mapping: Node.Mapping, at path: String, section: String? = nil, required: [String] = []) -> [String: Node] {
        let name = section ?? Self.section(of: path)
        guard let allowed = Self.schema[name] else { preconditionFailure("no section \(name) in FileReader.schema") }
        var out: [String: Node] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? ""
            let full = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                let hint = Self.closest(key, in: allowed).map { ": did you mean `\($0)`?" }
                    ?? Self.rightPlace(of: key, notIn: path).map { ": did you mean `\($0)`?" }
                    ?? " (known keys: \(allowed.joined(separator: ", ")))"
                add(keyNode, full, "unknown key" + hint)
                continue
            }
            out[key] = value
        }
        for key in required where out[key] == nil {
            add(.mapping(mapping), path.isEmpty ? key : "\(path).\(key)", "required key is missing")
        }
        return out
    }

    mutating func mapping(_ node: Node?, _ key: String) -> Node.Mapping? {
        guard let node else { return nil }
        guard case .mapping(let mapping) = node else {
            add(node, key, "must be a mapping of keys, got \(Self.kind(node))")
            return nil
        }
        return mapping
    }

    static func closest(_ key: String, in candidates: [String]) -> String? { Spelling.closest(key, in: candidates) }

    // MARK: Scalars

    /// What a node is, for messages: `string "ten"`, `integer 5`, `a list`.
    static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            let text = scalar.string
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return "string \"\(text)\"" }
            if text.isEmpty || text == "~" || text == "null" { return "nothing" }
            if Int(text) != nil { return "integer \(text)" }
            if ["true", "false", "yes", "no", "on", "off"].contains(text.lowercased()) { return "boolean \(text)" }
            if Double(text) != nil { return "number \(text)" }
            return "string \"\(text)\""
        }
    }

    mutating func string(_ node: Node?, _ key: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty, Self.kind(node).hasPrefix("string") else {
            add(node, key, "must be a string, got \(Self.kind(node))")
            return nil
        }
        return scalar.string
    }

    mutating func int(_ node: Node?, _ key: String, range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, Self.kind(node).hasPrefix("integer"), let value = Int(scalar.string) else {
            add(node, key, "must be an integer, got \(Self.kind(node))")
            return nil
        }
        guard range.contains(value) else {
            let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            add(node, key, "must be \(bound) (got \(value))")
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node?, _ key: String, positive: Bool) -> TimeSpan? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, let span = TimeSpan(parsing: scalar.string), !Self.kind(node).hasPrefix("integer") else {
            add(node, key, "must be a duration like 500ms, 30s, 5m or 1h, got \(Self.kind(node))")
            return nil
        }
        if positive && span.milliseconds == 0 {
            add(node, key, "must be longer than 0s")
            return nil
        }
        return span
    }

    mutating func sequence(_ node: Node?, _ key: String) -> [Node]? {
        guard let node else { return nil }
        guard case .sequence(let sequence) = node else {
            add(node, key, "must be a list, got \(Self.kind(node))")
            return nil
        }
        return Array(sequence)
    }
}
