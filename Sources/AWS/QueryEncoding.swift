import Foundation
import SigV4

/// Form encoding of the AWS query protocol (and its EC2 dialect).
public enum QueryEncoding {
    /// `Action=…&Version=…&…`, parameters sorted by name, values percent-encoded per RFC 3986.
    public static func body(action: String, version: String, parameters: [String: String]) -> String {
        var all = parameters
        all["Action"] = action
        all["Version"] = version
        return all.sorted { $0.key < $1.key }
            .map { "\(SigV4Signer.encode($0.key))=\(SigV4Signer.encode($0.value))" }
            .joined(separator: "&")
    }

    /// A query-protocol list: `Name.member.1`, `Name.member.2`, … (1-based).
    public static func memberList(_ name: String, _ values: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for (index, value) in values.enumerated() { out["\(name).member.\(index + 1)"] = value }
        return out
    }

    /// An EC2-protocol list: `Name.1`, `Name.2`, … (1-based).
    public static func ec2List(_ name: String, _ values: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for (index, value) in values.enumerated() { out["\(name).\(index + 1)"] = value }
        return out
    }

    /// Nested parameters under a prefix: `prefix.key`.
    public static func nested(_ prefix: String, _ values: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in values { out["\(prefix).\(key)"] = value }
        return out
    }
}

extension Dictionary where Key == String, Value == String {
    /// Adds every entry of `other`, replacing on collision.
    mutating func merge(_ other: [String: String]) {
        merge(other) { _, new in new }
    }
}
