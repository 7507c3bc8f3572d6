import Foundation

/// Names (`#n` → attribute name) and values (`:v` → value) that a request's expressions refer to.
public struct DynamoNames: Sendable, Hashable {
    public var names: [String: String]
    public var values: DynamoItem

    public init(names: [String: String] = [:], values: DynamoItem = [:]) {
        self.names = names
        self.values = values
    }

    /// Writes `ExpressionAttributeNames`/`Values`, leaving out an empty one: DynamoDB refuses empty maps.
    func encode<K: CodingKey>(into container: inout KeyedEncodingContainer<K>, names nameKey: K, values valueKey: K) throws {
        if !names.isEmpty { try container.encode(names, forKey: nameKey) }
        if !values.isEmpty { try container.encode(values, forKey: valueKey) }
    }
}

/// Keys shared by the write shapes, spelled as DynamoDB's JSON spells them.
private enum WriteKey: String, CodingKey {
    case tableName = "TableName", item = "Item", key = "Key", conditionExpression = "ConditionExpression"
    case updateExpression = "UpdateExpression", names = "ExpressionAttributeNames", values = "ExpressionAttributeValues"
    case returnValuesOnConditionCheckFailure = "ReturnValuesOnConditionCheckFailure"
}

/// A PutItem, alone or in a transaction.
public struct DynamoPut: Sendable, Hashable, Encodable {
    public var tableName: String
    public var item: DynamoItem
    public var condition: String?
    public var names: DynamoNames
    /// Asks DynamoDB to return the item as it stood when the condition fails (`ALL_OLD`).
    public var returnOldOnFailure: Bool

    public init(tableName: String, item: DynamoItem, condition: String? = nil, names: DynamoNames = DynamoNames(), returnOldOnFailure: Bool = false) {
        self.tableName = tableName
        self.item = item
        self.condition = condition
        self.names = names
        self.returnOldOnFailure = returnOldOnFailure
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: WriteKey.self)
        try container.encode(tableName, forKey: .tableName)
        try container.encode(item, forKey: .item)
        try container.encodeIfPresent(condition, forKey: .conditionExpression)
        try names.encode(into: &container, names: .names, values: .values)
        if returnOldOnFailure { try container.encode("ALL_OLD", forKey: .returnValuesOnConditionCheckFailure) }
    }
}

/// An UpdateItem, alone or in a transaction.
public struct DynamoUpdate: Sendable, Hashable, Encodable {
    public var tableName: String
    public var key: DynamoItem
    public var update: String
    public var condition: String?
    public var names: DynamoNames

    public init(tableName: String, key: DynamoItem, update: String, condition: String? = nil, names: DynamoNames = DynamoNames()) {
        self.tableName = tableName
        self.key = key
        self.update = update
        self.condition = condition
        self.names = names
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: WriteKey.self)
        try container.encode(tableName, forKey: .tableName)
        try container.encode(key, forKey: .key)
        try container.encode(update, forKey: .updateExpression)
        try container.encodeIfPresent(condition, forKey: .conditionExpression)
        try names.encode(into: &container, names: .names, values: .values)
    }
}

/// A DeleteItem, or (with a condition and `check`) a transaction's ConditionCheck: both name a key and a condition.
public struct DynamoDelete: Sendable, Hashable, Encodable {
    public var tableName: String
    public var key: DynamoItem
    public var condition: String?
    public var names: DynamoNames

    public init(tableName: String, key: DynamoItem, condition: String? = nil, names: DynamoNames = DynamoNames()) {
        self.tableName = tableName
        self.key = key
        self.condition = condition
        self.names = names
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: WriteKey.self)
        try container.encode(tableName, forKey: .tableName)
        try container.encode(key, forKey: .key)
        try container.encodeIfPresent(condition, forKey: .conditionExpression)
        try names.encode(into: &container, names: .names, values: .values)
    }
}

/// One item of a TransactWriteItems call.
public enum DynamoTransactItem: Sendable, Hashable, Encodable {
    case put(DynamoPut)
    case update(DynamoUpdate)
    case delete(DynamoDelete)
    /// Writes nothing; fails the transaction unless the item meets `condition` (a `DynamoDelete` with one).
    case conditionCheck(DynamoDelete)

    private enum Key: String, CodingKey { case put = "Put", update = "Update", delete = "Delete", conditionCheck = "ConditionCheck" }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .put(let put): try container.encode(put, forKey: .put)
        case .update(let update): try container.encode(update, forKey: .update)
        case .delete(let delete): try container.encode(delete, forKey: .delete)
        case .conditionCheck(let check): try container.encode(check, forKey: .conditionCheck)
        }
    }
}

/// A Query on the table or one of its indexes.
public struct DynamoQuery: Sendable, Hashable, Encodable {
    public var tableName: String
    public var indexName: String?
    public var keyCondition: String
    public var filter: String?
    public var names: DynamoNames
    /// False for newest first (descending sort key).
    public var ascending: Bool
    public var limit: Int?
    public var startKey: DynamoItem?
    /// Strongly consistent (table queries only; an index answers eventually consistent).
    public var consistentRead: Bool
    /// Only count the matches (`Select: COUNT`): pages carry `count`, no items.
    public var countOnly = false

    public init(tableName: String, indexName: String? = nil, keyCondition: String, filter: String? = nil, names: DynamoNames,
                ascending: Bool = true, limit: Int? = nil, startKey: DynamoItem? = nil, consistentRead: Bool = false) {
        self.tableName = tableName
        self.indexName = indexName
        self.keyCondition = keyCondition
        self.filter = filter
        self.names = names
        self.ascending = ascending
        self.limit = limit
        self.startKey = startKey
        self.consistentRead = consistentRead
    }

    private enum Key: String, CodingKey {
        case tableName = "TableName", indexName = "IndexName", keyCondition = "KeyConditionExpression", filter = "FilterExpression"
        case names = "ExpressionAttributeNames", values = "ExpressionAttributeValues", ascending = "ScanIndexForward", limit = "Limit"
        case startKey = "ExclusiveStartKey", consistentRead = "ConsistentRead", select = "Select"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(tableName, forKey: .tableName)
        try container.encodeIfPresent(indexName, forKey: .indexName)
        try container.encode(keyCondition, forKey: .keyCondition)
        try container.encodeIfPresent(filter, forKey: .filter)
        try names.encode(into: &container, names: .names, values: .values)
        try container.encode(ascending, forKey: .ascending)
        try container.encodeIfPresent(limit, forKey: .limit)
        try container.encodeIfPresent(startKey, forKey: .startKey)
        if consistentRead { try container.encode(true, forKey: .consistentRead) }
        if countOnly { try container.encode("COUNT", forKey: .select) }
    }
}

/// One page of a Query's answer.
public struct DynamoQueryPage: Sendable, Hashable, Decodable {
    public var items: [DynamoItem]
    /// Where the next page starts; nil on the last page.
    public var lastEvaluatedKey: DynamoItem?
    /// How many items of this page matched (after the filter).
    public var count: Int

    enum CodingKeys: String, CodingKey { case items = "Items", lastEvaluatedKey = "LastEvaluatedKey", count = "Count" }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        items = try container.decodeIfPresent([DynamoItem].self, forKey: .items) ?? []
        count = try container.decodeIfPresent(Int.self, forKey: .count) ?? items.count
        lastEvaluatedKey = try container.decodeIfPresent(DynamoItem.self, forKey: .lastEvaluatedKey)
    }
}
