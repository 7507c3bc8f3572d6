import AWS
import Foundation
import StateStore
import SwitchyardCore

/// `state copy` into the table: a deployment arrives with its trail, the record written last.
extension DynamoStateStore {
    public func importDeployment(_ d: Deployment, events: [StoredEvent], requests: [OperatorRequest]) throws -> ImportOutcome {
        if let here = try deployment(id: d.id) {
            if let difference = ImportComparison.difference(here: here, trail: try self.events(deploymentId: d.id), source: d, sourceTrail: events) {
                throw StateStoreError.importConflict(id: d.id, detail: difference)
            }
            return .alreadyThere
        }
        let table = self.table
        let version = d.version ?? 1
        var trail: [DynamoItem] = []
        for (position, event) in events.enumerated() {
            let log = LogEntry(from: event.from, to: event.to, message: event.message, details: event.details)
            trail.append(try Items.event(d, log, actor: event.actor, at: event.at, version: 0, position: position + 1))
        }
        trail += requests.enumerated().map { index, request in
            Items.request(deploymentId: d.id, seq: Int64(index + 1), kind: request.kind, reason: request.reason, actor: request.actor, at: request.at)
        }
        trail.append(Layout.blueKey(d.service, d.plan.blue.group))
        let meta = try Items.meta(d, version: version)
        let guardItem = d.state.isTerminal ? nil : Self.guardItem(d)
        try run { [trail] dynamo in
            // The trail first, the record last: a copy cut short leaves no record, so running it again starts over.
            try await dynamo.batchPut(table: table, items: trail)
            let record = DynamoPut(tableName: table, item: meta, condition: "attribute_not_exists(PK)")
            guard let guardItem else {
                // A finished deployment (nearly all of a history) needs no guard: one conditional put, not a
                // transaction, which DynamoDB bills twice.
                try await dynamo.putItem(record)
                return
            }
            do {
                try await dynamo.transactWriteItems([.put(DynamoPut(tableName: table, item: guardItem, condition: "attribute_not_exists(PK)")),
                                                     .put(record)])
            } catch let failure as DynamoDBConditionFailure where failure.failedItems.contains(0) {
                throw try await Self.activeError(dynamo, table: table, service: d.service)
            }
        }
        return .imported
    }
}
