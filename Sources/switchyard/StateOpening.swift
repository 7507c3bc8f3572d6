import Foundation
import StateStore

/// The one place a state location becomes a store: every command opens its store through here.
extension StateLocation {
    /// Opens the store. `writing` false opens a state file read-only (nothing created, migrated or locked for
    /// writing); a DynamoDB table is read and written through the same client either way.
    func open(writing: Bool) throws -> any StateStore {
        switch self {
        case .sqlite(let path):
            return try SQLiteStateStore(path: path, readOnly: !writing)
        case .dynamoDB:
            // The DynamoDB store (target DynamoStateStore) plugs in here.
            throw UsageError("\(self): the DynamoDB state backend is not part of this build of switchyard yet; use a state file (sqlite://PATH)")
        }
    }
}
