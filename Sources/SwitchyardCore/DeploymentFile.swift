import Foundation
import Yams

/// One problem in a deployment file, with where it is.
public struct FileIssue: Sendable, Hashable, CustomStringConvertible {
    public var line: Int?
    public var column: Int?
    /// A dotted path such as `checks.http.timeout` or `steps[2].weight`; empty for the whole file.
    public var key: String
    public var problem: String
    /// The section of docs/deployment-file.md that documents `key` (`FileSchema.reference(for:)`), as the file's schema
    /// (the core's and its cloud's sections) says it; nil for the reference as a whole.
    public var reference: String?

    public init(line: Int?, column: Int? = nil, key: String, problem: String, reference: String? = nil) {
        self.line = line
        self.column = column
        self.key = key
        self.problem = problem
        self.reference = reference
    }

    public var description: String {
        let place = line.map { "line \($0)" }
        let reference = key.isEmpty ? "" : " (see \(self.reference ?? FileSchema.document))"
        let where_ = [place, key.isEmpty ? nil : key].compactMap { $0 }.joined(separator: ", ")
        return (where_.isEmpty ? "" : where_ + ": ") + problem + reference
    }
}

/// The deployment file's keys, written once: each section (a dotted path, list indexes dropped) and the keys it accepts.
/// The core's sections (`core`: service, steps, checks, notify, promotion, hooks) and a cloud's (`ProviderFileFormat.schema`:
/// where it runs, its traffic, its fleet, its own checks) are merged into the schema a file is read with. `fields` takes a
/// section's keys from here, so a key is accepted exactly where it is listed; the same table says where a key put in the
/// wrong section belongs (`listener_arn` at the top level: did you mean `traffic.listener_arn`?) and which reference
/// section documents a key (e2e/test_docs.py holds every key of both tables to a section of docs/deployment-file.md).
public struct FileSchema: Sendable {
    public let sections: [String: [String]]

    /// The reference every key's section is in.
    public static let document = "docs/deployment-file.md"

    /// The core's sections and keys; `traffic` and `fleet` are named here and read by the cloud, which lists their keys.
    static let core: [String: [String]] = [
        "": ["service", "traffic", "fleet", "steps", "checks", "promotion", "notify", "hooks", "provider"],
        "steps": ["weight", "bake"],
        "checks": ["interval", "healthy_timeout", "max_unhealthy_targets", "http"],
        "checks.http": ["url", "expect_status", "timeout", "failure_threshold", "test_route"],
        "checks.http.test_route": ["header"],
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

    /// The core's schema with a cloud's merged in: its top-level keys (where it runs) right after `service`, as files
    /// are written; its keys of a core section after the core's; its own sections as it lists them.
    public init(adding format: any ProviderFileFormat) {
        var merged = Self.core
        for (section, keys) in format.schema {
            let existing = merged[section] ?? []
            precondition(Set(existing).isDisjoint(with: keys), "the cloud's schema repeats a core key of section \(section)")
            merged[section] = section.isEmpty ? [existing[0]] + keys + existing.dropFirst() : existing + keys
        }
        sections = merged
    }

    public func isKnown(_ parts: [String]) -> Bool {
        sections[parts.dropLast().joined(separator: ".")]?.contains(parts.last ?? "") ?? false
    }

    /// `traffic.listener_arn` for `listener_arn` found in another section, when exactly one section has that key.
    public func rightPlace(of key: String, notIn path: String) -> String? {
        let sections = self.sections.filter { $0.key != path && $0.value.contains(key) }.map(\.key)
        // `url` under `checks` belongs in `checks.http`, not in `notify.webhooks`: a section inside this one comes first.
        let inside = sections.filter { $0.hasPrefix(path.isEmpty ? "" : path + ".") }
        // Else the one shallowest section: `listener_arn` at the top belongs in `traffic`, not `checks.http.test_route`.
        let depth = { (section: String) in section.split(separator: ".").count }
        let shallowest = sections.filter { depth($0) == sections.map(depth).min() }
        let home = sections.count == 1 ? sections[0] : (inside.count == 1 ? inside[0] : (shallowest.count == 1 ? shallowest[0] : nil))
        return home.map { $0.isEmpty ? key : "\($0).\(key)" }
    }

    /// The section of the reference that documents a key: `checks.alarms` → `docs/deployment-file.md#checks-alarms`,
    /// `steps[2].weight` → `#steps-weight`, `notify.webhooks[0].url` → `#notify-webhooks-url`. A key that is not one
    /// (a typo) points at its section.
    public func reference(for key: String) -> String {
        var parts = key.replacingOccurrences(of: #"\[\d+\]"#, with: "", options: .regularExpression).split(separator: ".").map(String.init)
        // A known key in the wrong section: the section where it belongs, as the message's "did you mean" says.
        if !isKnown(parts), let last = parts.last, let home = rightPlace(of: last, notIn: parts.dropLast().joined(separator: ".")) {
            return Self.document + "#" + home.replacingOccurrences(of: ".", with: "-")
        }
        while parts.count > 1, !isKnown(parts) { parts.removeLast() }
        if parts.count == 1, !isKnown(parts) { return Self.document }
        return Self.document + "#" + parts.joined(separator: "-")
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

    /// `format` is the cloud's part of the file (its sections and how they read).
    public static func parse(_ text: String, path: String, format: any ProviderFileFormat) throws -> DeploymentSpec {
        try parse(text, path: path, formats: ProviderFormats([(ProviderFormats.defaultName, format)]))
    }

    /// The file read with the format of the cloud its `provider:` names (the first of `formats` when it names none).
    public static func parse(_ text: String, path: String, formats: ProviderFormats) throws -> DeploymentSpec {
        if text.utf8.count > maxBytes { throw tooLarge(path: path, bytes: text.utf8.count) }
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
        let (name, format) = try formats.chosen(by: top, path: path)
        var reader = FileReader(format: format)
        guard let parsed = reader.spec(top), reader.issues.isEmpty else {
            let sorted = reader.issues.enumerated().sorted { a, b in
                (a.element.line ?? 0, a.offset) < (b.element.line ?? 0, b.offset)
            }.map(\.element)
            throw DeploymentFileError(path: path, issues: sorted)
        }
        var spec = parsed
        spec.provider = name == formats.defaultName ? nil : name
        return spec
    }
}

/// The clouds a file may name with `provider:`, each with its part of the file; the first is the default.
public struct ProviderFormats: Sendable {
    /// The default cloud's name, in records and files that name none.
    public static let defaultName = "aws"

    public let formats: [(name: String, format: any ProviderFileFormat)]

    public init(_ formats: [(name: String, format: any ProviderFileFormat)]) {
        precondition(!formats.isEmpty, "no provider's file format")
        self.formats = formats
    }

    public var defaultName: String { formats[0].name }
    public var names: [String] { formats.map(\.name) }

    /// The format the file's `provider:` names, or the default; a name no format has is the file's one problem (its
    /// sections cannot be read without knowing whose they are).
    func chosen(by top: Node.Mapping, path: String) throws -> (String, any ProviderFileFormat) {
        guard let (key, value) = top.first(where: { $0.key.scalar?.string == "provider" }) else { return formats[0] }
        let line = (value.mark ?? key.mark)?.line
        guard case .scalar(let scalar) = value, let chosen = formats.first(where: { $0.name == scalar.string }) else {
            let got = value.scalar.map { "\"\($0.string)\"" } ?? "a \(value.mapping != nil ? "mapping" : "list")"
            throw DeploymentFileError(path: path, issues: [FileIssue(line: line, key: "provider",
                problem: "must be one of \(names.joined(separator: ", ")) (got \(got))", reference: FileSchema.document + "#provider")])
        }
        return chosen
    }
}

extension DeploymentFile {
    /// The refusal of a file over `maxBytes`, before it is parsed.
    public static func tooLarge(path: String, bytes: Int) -> DeploymentFileError {
        DeploymentFileError(path: path, issues: [FileIssue(line: nil, key: "",
            problem: "the file is \(bytes) bytes; a deployment file is at most \(maxBytes) bytes (1 MB), so this is not one")])
    }
}

/// Walks the YAML tree, collecting problems instead of stopping at the first. Public for a cloud's file format, which
/// reads its sections with the same helpers (each problem added with its node's line and its key).
public struct FileReader {
    /// The cloud's part of the file.
    public let format: any ProviderFileFormat
    /// The core's sections and the cloud's: what `fields` accepts and where `add` points each problem in the reference.
    public let schema: FileSchema

    public init(format: any ProviderFileFormat) {
        self.format = format
        self.schema = FileSchema(adding: format)
    }

    public internal(set) var issues: [FileIssue] = []

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

    public mutating func add(_ node: Node?, _ key: String, _ problem: String) {
        issues.append(FileIssue(line: node?.mark?.line, column: node?.mark?.column, key: key, problem: problem,
                                reference: key.isEmpty ? nil : schema.reference(for: key)))
    }

    // MARK: Mappings

    /// A key's section in `schema`: its path with list indexes dropped (`steps[2]` → `steps`).
    public static func section(of path: String) -> String {
        path.replacingOccurrences(of: #"\[\d+\]"#, with: "", options: .regularExpression)
    }

    /// The entries of a mapping by key; keys its section of `schema` does not list and missing required keys are
    /// issues. `section` names the schema's section where the path does not (a mapping keyed by the user's ids).
    public mutating func fields(_ mapping: Node.Mapping, at path: String, section: String? = nil, required: [String] = []) -> [String: Node] {
        let name = section ?? Self.section(of: path)
        guard let allowed = schema.sections[name] else { preconditionFailure("no section \(name) in the file's schema") }
        var out: [String: Node] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? ""
            let full = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                let hint = Self.closest(key, in: allowed).map { ": did you mean `\($0)`?" }
                    ?? schema.rightPlace(of: key, notIn: path).map { ": did you mean `\($0)`?" }
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

    public mutating func mapping(_ node: Node?, _ key: String) -> Node.Mapping? {
        guard let node else { return nil }
        guard case .mapping(let mapping) = node else {
            add(node, key, "must be a mapping of keys, got \(Self.kind(node))")
            return nil
        }
        return mapping
    }

    public static func closest(_ key: String, in candidates: [String]) -> String? { Spelling.closest(key, in: candidates) }

    // MARK: Scalars

    /// What a node is, for messages: `string "ten"`, `integer 5`, `a list`.
    public static func kind(_ node: Node) -> String {
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

    public mutating func string(_ node: Node?, _ key: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty, Self.kind(node).hasPrefix("string") else {
            add(node, key, "must be a string, got \(Self.kind(node))")
            return nil
        }
        return scalar.string
    }

    public mutating func int(_ node: Node?, _ key: String, range: ClosedRange<Int>) -> Int? {
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

    public mutating func duration(_ node: Node?, _ key: String, positive: Bool) -> TimeSpan? {
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

    public mutating func sequence(_ node: Node?, _ key: String) -> [Node]? {
        guard let node else { return nil }
        guard case .sequence(let sequence) = node else {
            add(node, key, "must be a list, got \(Self.kind(node))")
            return nil
        }
        return Array(sequence)
    }
}
