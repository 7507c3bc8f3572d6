import Foundation
import Yams

/// A cloud's part of the deployment file: where the release runs (AWS: `region`), its `traffic:` and `fleet:` sections,
/// the checks only it can make (AWS: `checks.alarms`, `checks.metrics`) and the test route's forward. The core reads the
/// rest (service, steps, the HTTP probe, notify, promotion, hooks) and calls these at their places, so a file's problems
/// are still all reported at once, in line order, each pointing at its section of the reference.
///
/// A cloud lists its keys in `schema` once; `FileSchema(adding:)` merges them with the core's, and `fields` accepts a
/// key exactly where the merged schema lists it. docs/providers.md has the recipe for a new cloud's format.
public protocol ProviderFileFormat: Sendable {
    /// The cloud's sections and its keys of the core's sections (`""`: its top-level keys; `checks`: its check kinds'
    /// keys; `traffic`, `fleet`: every key of theirs).
    var schema: [String: [String]] { get }
    /// Its top-level keys a file must have (AWS: `region`).
    var requiredKeys: [String] { get }
    /// Where the release runs, from the file's top-level keys: AWS's region; nil after a problem (or when missing,
    /// which `requiredKeys` already reported).
    func location(_ reader: inout FileReader, _ top: [String: Node]) -> String?
    /// The `traffic:` mapping, in the file's `location`.
    func traffic(_ reader: inout FileReader, _ mapping: Node.Mapping, location: String?) -> DeploymentSpec.Traffic?
    /// The `fleet:` mapping; nil node: the file has none (the defaults).
    func fleet(_ reader: inout FileReader, _ node: Node?) -> DeploymentSpec.Fleet?
    /// The cloud's keys of `checks:` (`f` holds every key of the section), read into `checks`.
    func checks(_ reader: inout FileReader, _ f: [String: Node], into checks: inout DeploymentSpec.Checks)
    /// `checks.http.test_route`'s forward key (AWS: `listener_arn`), if the cloud has one and the file sets it.
    func testRouteForward(_ reader: inout FileReader, _ f: [String: Node], key: String) -> String?
    /// The rules across the cloud's sections, once each has read (e.g. a check that cannot judge this traffic backend).
    func crossCheck(_ reader: inout FileReader, top: [String: Node], traffic: DeploymentSpec.Traffic, checks: DeploymentSpec.Checks)
}

extension FileReader {
    /// `traffic.settle`: a duration from 0s to 10m; every backend's settle reads the same way.
    public mutating func settle(_ node: Node?) -> TimeSpan? {
        guard let node, let span = duration(node, "traffic.settle", positive: false) else { return nil }
        guard span <= DeploymentSpec.Traffic.maxSettle else {
            add(node, "traffic.settle", "must be at most \(DeploymentSpec.Traffic.maxSettle) (got \(span)): a listener change reaches every load balancer node within seconds")
            return nil
        }
        return span
    }

    /// A regular expression's captures in `text`, or nil when it does not match.
    public static func captures(_ text: String, _ pattern: String) -> [String]? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return (1..<match.numberOfRanges).map { index in
            Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
        }
    }

    /// One of an enumeration's raw values.
    public mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node?, _ key: String, _ type: T.Type) -> T? where T.RawValue == String {
        guard let text = string(node, key) else { return nil }
        guard let value = T(rawValue: text) else {
            add(node, key, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(text)\")")
            return nil
        }
        return value
    }
}
