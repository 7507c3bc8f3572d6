import Foundation
import SwitchyardCore

extension Deployment {
    /// The gate in front of every scale-to-0 and deletion, for every provider: the record must say the fleet drained
    /// (the machine asked for the removal only then), whoever calls.
    public func requireDrained(_ name: String, now: Date) throws {
        guard let r = removal, r.group == name, r.drained == true else {
            throw RemovalError.notDrained(group: name, phase: removal.map { $0.group == name ? "\($0.phase(at: now))" : "none" } ?? "none")
        }
    }
}

/// A fleet was not removed: the record does not show it left service.
public enum RemovalError: Error, Sendable, CustomStringConvertible {
    case notDrained(group: String, phase: String)

    public var description: String {
        switch self {
        case .notDrained(let group, let phase):
            return "\(group) was not removed: the record does not show it deregistered and drained (removal: \(phase)); it may still receive traffic"
        }
    }
}
