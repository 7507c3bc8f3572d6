import AWS
import Foundation
import StateStore
import SwitchyardCore

/// Operator requests (`rollback`, `promote` from another terminal): items `DEP#<id>` / `REQ#<seq>`, handled once.
extension DynamoStateStore {
    public func addRequest(deploymentId: String, kind: OperatorRequest.Kind, reason: String?, actor: String, at: Date) throws {
        let table = self.table
        let last = DynamoQuery(tableName: table, keyCondition: "PK = :pk AND begins_with(SK, :req)",
                               names: DynamoNames(values: [":pk": .s(Layout.deployment(deploymentId)), ":req": .s("REQ#")]),
                               ascending: false, limit: 1, consistentRead: true)
        try run { dynamo in
            // The next number after the newest request; two writers picking the same one are told apart by the condition.
            for _ in 0..<10 {
                let newest = try await dynamo.query(last).items.first.flatMap { Items.request($0, deploymentId: deploymentId) }
                let item = Items.request(deploymentId: deploymentId, seq: (newest?.id ?? 0) + 1, kind: kind, reason: reason, actor: actor, at: at)
                do {
                    try await dynamo.putItem(DynamoPut(tableName: table, item: item, condition: "attribute_not_exists(PK)"))
                    return
                } catch is DynamoDBConditionFailure {
                    continue
                }
            }
            throw DynamoDBConditionFailure(action: "PutItem", message: "ten requests for deployment \(deploymentId) were written at the same moment")
        }
    }

    public func pendingRequests(deploymentId: String) throws -> [OperatorRequest] {
        let query = DynamoQuery(tableName: table, keyCondition: "PK = :pk AND begins_with(SK, :req)", filter: "attribute_not_exists(#handled)",
                                names: DynamoNames(names: ["#handled": "handledAt"],
                                                   values: [":pk": .s(Layout.deployment(deploymentId)), ":req": .s("REQ#")]),
                                consistentRead: true)
        return try run { try await $0.queryAll(query) }.compactMap { Items.request($0, deploymentId: deploymentId) }
    }

    public func markHandled(_ request: OperatorRequest, at: Date) throws {
        let update = DynamoUpdate(tableName: table, key: Layout.key(Layout.deployment(request.deploymentId), Layout.requestSortKey(request.id)),
                                  update: "SET #handled = :at", condition: "attribute_exists(PK)",
                                  names: DynamoNames(names: ["#handled": "handledAt"], values: [":at": .s(StoredTime.text(at))]))
        try run { try await $0.updateItem(update) }
    }
}
