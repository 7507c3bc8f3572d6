import AWS
import Foundation
import StateStore
import SwitchyardCore

/// The table itself: made by `state init`, its key schema and indexes checked against the layout.
extension DynamoStateStore {
    /// What a table that is not Switchyard's has, for the message: `key schema pk S, sk S, indexes by-state` (or "no
    /// indexes": an empty list would read as a word left out).
    static func schemaDetail(_ description: DynamoTableDescription) -> String {
        let keys = description.keySchema.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        let indexes = description.indexes.isEmpty ? "no indexes" : "indexes " + description.indexes.map(\.name).joined(separator: ", ")
        return "key schema \(keys.isEmpty ? "none" : keys), \(indexes)"
    }

    /// Creates the table (on-demand) unless it exists, then waits until it and its indexes are ACTIVE. Refuses a table
    /// of that name with another key schema. `sleep` is injected so tests need not wait.
    public func createTable(timeout: TimeInterval = 300,
                            sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) })
    async throws -> DynamoTableDescription {
        let region = dynamo.client.configuration.region
        do {
            _ = try await dynamo.createTable(name: table, schema: Layout.schema)
        } catch let error as AWSError where error.code == .resourceInUse {
            // It exists (or is being created): its schema is checked below.
        }
        var waited: TimeInterval = 0
        while true {
            let description = try await dynamo.describeTable(name: table)
            guard description.matches(Layout.schema) else {
                throw DynamoStateError.wrongSchema(table: table, region: region, detail: Self.schemaDetail(description))
            }
            if description.status == "ACTIVE", description.indexes.allSatisfy({ ($0.status ?? "ACTIVE") == "ACTIVE" }) { return description }
            guard waited < timeout else { throw DynamoStateError.notActive(table: table, region: region, status: description.status, waited: waited) }
            try await sleep(2)
            waited += 2
        }
    }
}

#if SWITCHYARD_TESTING
/// What only the tests reach: compiled into debug builds alone (Package.swift defines SWITCHYARD_TESTING for them).
extension DynamoStateStore {
    /// `createTable`, waited for on this thread (for synchronous callers such as the conformance tests).
    @discardableResult
    public func ensureTable(timeout: TimeInterval = 300) throws -> DynamoTableDescription {
        try run { [self] _ in try await createTable(timeout: timeout) }
    }
}
#endif
