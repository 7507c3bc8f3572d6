import AWS
import Foundation
import StateStore
import SwitchyardCore

/// The service's lease: one item (`SVC#<service>` / `LEASE`), taken by a compare-and-swap on the lease as read.
extension DynamoStateStore {
    /// The Put that takes the lease, conditional on the lease as just read (a compare-and-swap), after checking here
    /// that no other live holder has it. Returns the Put and the lease it replaces.
    static func leasePut(_ dynamo: DynamoDB, table: String, service: String, deploymentId: String, holder: LeaseHolder, at: Date,
                         ttl: TimeInterval) async throws -> (DynamoPut, Lease?) {
        let current = try await dynamo.getItem(table: table, key: Layout.leaseKey(service))
        let previous = current.flatMap { Items.lease($0, service: service) }
        if let previous, previous.holder.id != holder.id, previous.isLive(at: at) { throw LeaseError.held(previous, at: at) }
        let item = Items.lease(service: service, deploymentId: deploymentId, holder: holder, at: at, ttl: ttl)
        guard let previous else { return (DynamoPut(tableName: table, item: item, condition: "attribute_not_exists(PK)"), nil) }
        let put = DynamoPut(tableName: table, item: item, condition: "#holder = :seen AND #expires = :seenExpires",
                            names: DynamoNames(names: ["#holder": "holder", "#expires": "expiresAt"],
                                               values: [":seen": .s(previous.holder.id), ":seenExpires": .s(StoredTime.text(previous.expiresAt))]))
        return (put, previous)
    }

    /// The refusal naming whoever holds the lease now, read after a lease condition failed.
    static func heldError(_ dynamo: DynamoDB, table: String, service: String, at: Date) async throws -> Error {
        let current = try await dynamo.getItem(table: table, key: Layout.leaseKey(service)).flatMap { Items.lease($0, service: service) }
        guard let current else { return LeaseError.lost(service: service, deploymentId: "?") }
        return LeaseError.held(current, at: at)
    }

    @discardableResult
    public func acquireLease(deploymentId: String, service: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws -> Lease? {
        let table = self.table
        return try run { dynamo in
            let (put, previous) = try await Self.leasePut(dynamo, table: table, service: service, deploymentId: deploymentId, holder: holder,
                                                          at: at, ttl: ttl)
            do {
                try await dynamo.putItem(put)
            } catch is DynamoDBConditionFailure {
                throw try await Self.heldError(dynamo, table: table, service: service, at: at)
            }
            return previous.flatMap { $0.holder.id == holder.id ? nil : $0 }
        }
    }

    public func renewLease(service: String, deploymentId: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) throws {
        let update = DynamoUpdate(tableName: table, key: Layout.leaseKey(service), update: "SET #beat = :at, #expires = :expires",
                                  condition: "#holder = :h",
                                  names: DynamoNames(names: ["#beat": "heartbeatAt", "#expires": "expiresAt", "#holder": "holder"],
                                                     values: [":at": .s(StoredTime.text(at)), ":expires": .s(StoredTime.text(at.addingTimeInterval(ttl))),
                                                              ":h": .s(holder.id)]))
        try run { dynamo in
            do {
                try await dynamo.updateItem(update)
            } catch is DynamoDBConditionFailure {
                throw LeaseError.lost(service: service, deploymentId: deploymentId)
            }
        }
    }

    public func releaseLease(service: String, holder: LeaseHolder) throws {
        let delete = DynamoDelete(tableName: table, key: Layout.leaseKey(service), condition: "#holder = :h",
                                  names: DynamoNames(names: ["#holder": "holder"], values: [":h": .s(holder.id)]))
        try run { dynamo in
            do { try await dynamo.deleteItem(delete) } catch is DynamoDBConditionFailure {}
        }
    }

    public func lease(service: String) throws -> Lease? {
        let table = self.table
        return try run { try await $0.getItem(table: table, key: Layout.leaseKey(service)).flatMap { Items.lease($0, service: service) } }
    }

    public func lease(deploymentId: String) throws -> Lease? {
        guard let d = try deployment(id: deploymentId), let lease = try lease(service: d.service), lease.deploymentId == deploymentId else { return nil }
        return lease
    }
}
