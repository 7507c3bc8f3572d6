import Foundation

/// The key schema and global secondary indexes of a table whose key attributes are all strings.
public struct DynamoTableSchema: Sendable, Hashable {
    /// A global secondary index that projects every attribute.
    public struct Index: Sendable, Hashable {
        public var name: String
        public var hashKey: String
        public var rangeKey: String?

        public init(name: String, hashKey: String, rangeKey: String? = nil) {
            self.name = name
            self.hashKey = hashKey
            self.rangeKey = rangeKey
        }
    }

    public var hashKey: String
    public var rangeKey: String?
    public var indexes: [Index]

    public init(hashKey: String, rangeKey: String? = nil, indexes: [Index] = []) {
        self.hashKey = hashKey
        self.rangeKey = rangeKey
        self.indexes = indexes
    }
}

/// What DescribeTable and CreateTable say about a table.
public struct DynamoTableDescription: Sendable, Hashable, Decodable {
    public struct KeyElement: Sendable, Hashable, Decodable {
        public var name: String
        /// `HASH` or `RANGE`.
        public var type: String
        enum CodingKeys: String, CodingKey { case name = "AttributeName", type = "KeyType" }
    }

    public struct Index: Sendable, Hashable, Decodable {
        public var name: String
        public var keySchema: [KeyElement]
        /// `CREATING`, `ACTIVE`, …; moto may leave it out.
        public var status: String?
        enum CodingKeys: String, CodingKey { case name = "IndexName", keySchema = "KeySchema", status = "IndexStatus" }
    }

    public var name: String
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, …
    public var status: String
    public var keySchema: [KeyElement]
    public var indexes: [Index]

    enum CodingKeys: String, CodingKey {
        case name = "TableName", status = "TableStatus", keySchema = "KeySchema", indexes = "GlobalSecondaryIndexes"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        status = try container.decode(String.self, forKey: .status)
        keySchema = try container.decodeIfPresent([KeyElement].self, forKey: .keySchema) ?? []
        indexes = try container.decodeIfPresent([Index].self, forKey: .indexes) ?? []
    }

    /// Whether the table's key and indexes are the ones `schema` asks for (extra indexes are allowed).
    public func matches(_ schema: DynamoTableSchema) -> Bool {
        func keys(_ hash: String, _ range: String?) -> [KeyElement] {
            [KeyElement(name: hash, type: "HASH")] + (range.map { [KeyElement(name: $0, type: "RANGE")] } ?? [])
        }
        guard keySchema == keys(schema.hashKey, schema.rangeKey) else { return false }
        return schema.indexes.allSatisfy { wanted in indexes.contains { $0.name == wanted.name && $0.keySchema == keys(wanted.hashKey, wanted.rangeKey) } }
    }
}

/// The DynamoDB calls Switchyard makes (JSON 1.0 protocol, version 2012-08-10).
public struct DynamoDB: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// The most items one BatchWriteItem may carry.
    public static let maxBatchWrite = 25

    func call<Input: Encodable>(_ operation: String, _ input: Input) async throws -> Data {
        try await client.callJSON(.dynamoDB, operation: operation, body: try JSONEncoder().encode(input))
    }

    func decode<Output: Decodable>(_ type: Output.Type, _ data: Data, operation: String) throws -> Output {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw AWSError(code: .internalFailure, message: "the \(operation) response could not be read: \(error)", status: 200,
                           requestId: nil, service: .dynamoDB, action: operation, isAWSErrorBody: false)
        }
    }

    /// Creates an on-demand (PAY_PER_REQUEST) table; answers at once, with the table usually still `CREATING`.
    public func createTable(name: String, schema: DynamoTableSchema) async throws -> DynamoTableDescription {
        struct Element: Encodable { var AttributeName: String; var KeyType: String }
        struct Definition: Encodable { var AttributeName: String; var AttributeType = "S" }
        struct AllAttributes: Encodable { var ProjectionType = "ALL" }
        struct Index: Encodable { var IndexName: String; var KeySchema: [Element]; var Projection = AllAttributes() }
        struct Input: Encodable {
            var TableName: String
            var KeySchema: [Element]
            var AttributeDefinitions: [Definition]
            var BillingMode = "PAY_PER_REQUEST"
            var GlobalSecondaryIndexes: [Index]?
        }
        struct Output: Decodable { var TableDescription: DynamoTableDescription }
        func elements(_ hash: String, _ range: String?) -> [Element] {
            [Element(AttributeName: hash, KeyType: "HASH")] + (range.map { [Element(AttributeName: $0, KeyType: "RANGE")] } ?? [])
        }
        var attributes: [String] = []
        for name in [schema.hashKey, schema.rangeKey].compactMap({ $0 }) + schema.indexes.flatMap({ [$0.hashKey, $0.rangeKey].compactMap { $0 } })
        where !attributes.contains(name) { attributes.append(name) }
        let input = Input(TableName: name, KeySchema: elements(schema.hashKey, schema.rangeKey),
                          AttributeDefinitions: attributes.map { Definition(AttributeName: $0) },
                          GlobalSecondaryIndexes: schema.indexes.isEmpty ? nil : schema.indexes.map {
                              Index(IndexName: $0.name, KeySchema: elements($0.hashKey, $0.rangeKey)) })
        let data = try await call("CreateTable", input)
        return try decode(Output.self, data, operation: "CreateTable").TableDescription
    }

    /// The table's description; `ResourceNotFoundException` when there is no such table in the region.
    public func describeTable(name: String) async throws -> DynamoTableDescription {
        struct Output: Decodable { var Table: DynamoTableDescription }
        return try decode(Output.self, try await call("DescribeTable", ["TableName": name]), operation: "DescribeTable").Table
    }

    /// One item by its key, strongly consistent unless asked otherwise; nil when there is none.
    public func getItem(table: String, key: DynamoItem, consistentRead: Bool = true) async throws -> DynamoItem? {
        struct Input: Encodable { var TableName: String; var Key: DynamoItem; var ConsistentRead: Bool }
        struct Output: Decodable { var Item: DynamoItem? }
        let data = try await call("GetItem", Input(TableName: table, Key: key, ConsistentRead: consistentRead))
        return try decode(Output.self, data, operation: "GetItem").Item
    }

    /// Writes an item; with a condition, throws `DynamoDBConditionFailure` when it does not hold.
    public func putItem(_ put: DynamoPut) async throws {
        _ = try await call("PutItem", put)
    }

    /// Updates an item; with a condition, throws `DynamoDBConditionFailure` when it does not hold.
    public func updateItem(_ update: DynamoUpdate) async throws {
        _ = try await call("UpdateItem", update)
    }

    /// Deletes an item (nothing happens when there is none); with a condition, throws `DynamoDBConditionFailure`.
    public func deleteItem(_ delete: DynamoDelete) async throws {
        _ = try await call("DeleteItem", delete)
    }

    /// One page of a query.
    public func query(_ query: DynamoQuery) async throws -> DynamoQueryPage {
        try decode(DynamoQueryPage.self, try await call("Query", query), operation: "Query")
    }

    /// Every item a query matches, following `LastEvaluatedKey`, until `limit` items are in hand (nil: all). Without a
    /// filter, each page asks for just the items still wanted; with one (applied after `Limit`), pages are full.
    public func queryAll(_ query: DynamoQuery, limit: Int? = nil) async throws -> [DynamoItem] {
        var items: [DynamoItem] = []
        var query = query
        while true {
            if let limit, query.filter == nil { query.limit = limit - items.count }
            let page = try await self.query(query)
            items += page.items
            if let limit, items.count >= limit { return Array(items.prefix(limit)) }
            guard let next = page.lastEvaluatedKey else { return items }
            query.startKey = next
        }
    }

    /// How many items a query matches, counted by DynamoDB page by page (each page still costs its reads).
    public func count(_ query: DynamoQuery) async throws -> Int {
        var query = query
        query.countOnly = true
        var total = 0
        while true {
            let page = try await self.query(query)
            total += page.count
            guard let next = page.lastEvaluatedKey else { return total }
            query.startKey = next
        }
    }

    /// Writes up to 100 items all or nothing; throws `DynamoDBConditionFailure` (with a reason per item) when a
    /// condition fails. A transaction cancelled only by conflicts or throttling is retried by the client's policy.
    public func transactWriteItems(_ items: [DynamoTransactItem]) async throws {
        struct Input: Encodable { var TransactItems: [DynamoTransactItem] }
        _ = try await call("TransactWriteItems", Input(TransactItems: items))
    }

    /// Puts items in batches of 25, sending back what DynamoDB left unprocessed (with the retry policy's backoff)
    /// until all are written; no conditions, so for copying into an empty table.
    public func batchPut(table: String, items: [DynamoItem]) async throws {
        struct PutRequest: Codable { var Item: DynamoItem }
        struct WriteRequest: Codable { var PutRequest: PutRequest }
        struct Input: Encodable { var RequestItems: [String: [WriteRequest]] }
        struct Output: Decodable { var UnprocessedItems: [String: [WriteRequest]]? }
        for start in stride(from: 0, to: items.count, by: Self.maxBatchWrite) {
            var pending = items[start..<min(start + Self.maxBatchWrite, items.count)].map { WriteRequest(PutRequest: PutRequest(Item: $0)) }
            var round = 1
            while !pending.isEmpty {
                let data = try await call("BatchWriteItem", Input(RequestItems: [table: pending]))
                pending = try decode(Output.self, data, operation: "BatchWriteItem").UnprocessedItems?[table] ?? []
                guard !pending.isEmpty else { break }
                let unprocessed = AWSError(code: .provisionedThroughputExceeded, message: "\(pending.count) items left unprocessed",
                                           status: 400, requestId: nil, service: .dynamoDB, action: "BatchWriteItem")
                guard case .retry(let delay) = client.retryPolicy.decide(error: unprocessed, attempt: round) else { throw unprocessed }
                try await client.sleep(delay)
                round += 1
            }
        }
    }
}
