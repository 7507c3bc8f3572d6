import Foundation
import SwitchyardCore

// `state copy`'s import, shared by every store: what it answers, and when a deployment already there is the same.

/// What `importDeployment` did.
public enum ImportOutcome: Sendable, Hashable {
    case imported
    case alreadyThere
}

/// Whether a deployment already in a store is the one being copied in: the same record and the same trail.
public enum ImportComparison {
    /// Nil when they are the same, else what differs, in words for `importConflict`.
    public static func difference(here: Deployment, trail: [StoredEvent], source: Deployment, sourceTrail: [StoredEvent]) -> String? {
        var mine = here, theirs = source
        mine.version = nil
        theirs.version = nil
        if mine != theirs { return "its stored record differs (here: \(here.state.rawValue), source: \(source.state.rawValue))" }
        if trail.map(\.content) != sourceTrail.map(\.content) {
            return "its audit trail differs (\(Spelling.count(trail.count, "event")) here, \(sourceTrail.count) in the source)"
        }
        return nil
    }
}
