@testable import AWS
import Foundation
import Testing

@Suite struct DynamoDBTests {
    static let ok = HTTPResponse(status: 200, body: Data("{}".utf8))

    static func error(_ fixture: String, status: Int = 400) -> Result<HTTPResponse, Error> {
        .success(HTTPResponse(status: status, headers: ["x-amzn-RequestId": "req-1"], body: Fixture.data("dynamodb/\(fixture)")))
    }

    static func json(_ data: Data) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: data)
        return try #require(object as? [String: Any])
    }

    static func canonical(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func attributeValuesEncodeAsTheWireFormat() throws {
        let item: DynamoItem = [
            "s": .s("x"), "n": .number(42), "b": .b(Data("hello".utf8)), "t": .bool(true), "z": .null,
            "m": .m(["l": .l([.n("1.5"), .s("y")])]), "ss": .ss(["a", "b"]), "ns": .ns(["1"]), "bs": .bs([Data([0xff])]),
        ]
        #expect(try Self.canonical(item) == #"{"b":{"B":"aGVsbG8="},"bs":{"BS":["\/w=="]},"m":{"M":{"l":{"L":[{"N":"1.5"},{"S":"y"}]}}},"#
            + #""n":{"N":"42"},"ns":{"NS":["1"]},"s":{"S":"x"},"ss":{"SS":["a","b"]},"t":{"BOOL":true},"z":{"NULL":true}}"#)
        let back = try JSONDecoder().decode(DynamoItem.self, from: try JSONEncoder().encode(item))
        #expect(back == item)
    }

    @Test func anAttributeValueWithTwoTypesIsRefused() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AttributeValue.self, from: Data(#"{"S":"a","N":"1"}"#.utf8)) }
    }

    @Test func getItemSendsJSONOnePointZeroAndDecodesTheItem() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "dynamodb/GetItem.json")
        let dynamo = DynamoDB(client: makeClient(transport))
        let item = try #require(try await dynamo.getItem(table: "switchyard", key: ["PK": .s("DEP#d-1"), "SK": .s("META")]))
        #expect(item["version"]?.int == 3)
        #expect(item["blueRetiredAt"] == .null)
        #expect(item["payload"] == .b(Data("hello".utf8)))
        #expect(item["details"]?.map?["steps"] == .l([.n("10"), .n("50.5")]))

        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "http://127.0.0.1:4566/")
        #expect(request.headers["X-Amz-Target"] == "DynamoDB_20120810.GetItem")
        #expect(request.headers["Content-Type"] == "application/x-amz-json-1.0")
        #expect(request.headers["Authorization"]?.contains("/us-east-1/dynamodb/aws4_request") == true)
        #expect(request.headers["Authorization"]?.contains("x-amz-target") == true)
        let body = try Self.json(request.body)
        #expect(body["TableName"] as? String == "switchyard")
        #expect(body["ConsistentRead"] as? Bool == true)
    }

    @Test func emptyExpressionMapsAreLeftOut() throws {
        let put = DynamoPut(tableName: "t", item: ["PK": .s("a")], condition: "attribute_not_exists(PK)")
        #expect(try Self.canonical(put) == #"{"ConditionExpression":"attribute_not_exists(PK)","Item":{"PK":{"S":"a"}},"TableName":"t"}"#)
        let names = DynamoNames(names: ["#v": "version"], values: [":v": .number(2)])
        let update = DynamoUpdate(tableName: "t", key: ["PK": .s("a")], update: "SET #v = :v", condition: "#v = :v", names: names)
        #expect(try Self.canonical(DynamoTransactItem.update(update)) == ##"{"Update":{"ConditionExpression":"#v = :v","##
            + ##""ExpressionAttributeNames":{"#v":"version"},"ExpressionAttributeValues":{":v":{"N":"2"}},"Key":{"PK":{"S":"a"}},"##
            + ##""TableName":"t","UpdateExpression":"SET #v = :v"}}"##)
    }

    @Test func aFailedConditionIsTypedAndNeverRetried() async throws {
        let transport = FakeTransport()
        transport.enqueue(Self.error("PutItem-error-ConditionalCheckFailed.json"))
        let dynamo = DynamoDB(client: makeClient(transport))
        do {
            try await dynamo.putItem(DynamoPut(tableName: "t", item: ["PK": .s("a")], condition: "attribute_not_exists(PK)"))
            Issue.record("no error")
        } catch let failure as DynamoDBConditionFailure {
            #expect(failure.action == "PutItem")
            #expect(failure.message == "The conditional request failed")
            #expect(failure.requestId == "req-1")
            #expect(failure.reasons.isEmpty)
        }
        #expect(transport.requests.count == 1)
    }

    @Test func aTransactionCancelledByAConditionNamesTheItemAndIsNotRetried() async throws {
        let transport = FakeTransport()
        transport.enqueue(Self.error("TransactWriteItems-error-ConditionalCheckFailed.json"))
        let dynamo = DynamoDB(client: makeClient(transport))
        do {
            try await dynamo.transactWriteItems([.put(DynamoPut(tableName: "t", item: ["PK": .s("a")])),
                                                 .conditionCheck(DynamoDelete(tableName: "t", key: ["PK": .s("b")], condition: "attribute_exists(PK)"))])
            Issue.record("no error")
        } catch let failure as DynamoDBConditionFailure {
            #expect(failure.failedItems == [1])
            #expect(failure.reasons.map(\.code) == ["None", "ConditionalCheckFailed"])
            #expect(failure.reasons[1].item?["holder"] == .s("other"))
        }
        #expect(transport.requests.count == 1)
        let sent = try #require(transport.requests.first)
        let items = try #require(try Self.json(sent.body)["TransactItems"] as? [[String: Any]])
        #expect(items.map { $0.keys.sorted() } == [["Put"], ["ConditionCheck"]])
    }

    @Test func aTransactionCancelledOnlyByAConflictIsSentAgain() async throws {
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        transport.enqueue(Self.error("TransactWriteItems-error-TransactionConflict.json"))
        transport.enqueue(.success(Self.ok))
        let dynamo = DynamoDB(client: makeClient(transport, sleeps: sleeps))
        try await dynamo.transactWriteItems([.put(DynamoPut(tableName: "t", item: ["PK": .s("a")]))])
        #expect(transport.requests.count == 2)
        #expect(sleeps.delays.count == 1)
    }

    @Test func aTransactionCancelledByAValidationErrorIsReportedAtOnce() async throws {
        let transport = FakeTransport()
        transport.enqueue(Self.error("TransactWriteItems-error-ValidationError.json"))
        let dynamo = DynamoDB(client: makeClient(transport))
        do {
            try await dynamo.transactWriteItems([.put(DynamoPut(tableName: "t", item: ["PK": .s("a")]))])
            Issue.record("no error")
        } catch let error as AWSError {
            #expect(error.code == AWSError.transactionCanceled)
            #expect(error.cancellationReasons == ["ValidationError"])
        }
        #expect(transport.requests.count == 1)
    }

    @Test(arguments: [("PutItem-error-ProvisionedThroughputExceeded.json", 400), ("Query-error-InternalServerError.json", 500)])
    func throttlingAndServerErrorsAreRetried(_ fixture: String, _ status: Int) async throws {
        let transport = FakeTransport()
        transport.enqueue(Self.error(fixture, status: status))
        transport.enqueue(.success(Self.ok))
        let dynamo = DynamoDB(client: makeClient(transport))
        try await dynamo.putItem(DynamoPut(tableName: "t", item: ["PK": .s("a")]))
        #expect(transport.requests.count == 2)
    }

    @Test func aMissingTableIsAResourceNotFoundErrorNotRetried() async throws {
        let transport = FakeTransport()
        transport.enqueue(Self.error("GetItem-error-ResourceNotFound.json"))
        let dynamo = DynamoDB(client: makeClient(transport))
        do {
            _ = try await dynamo.getItem(table: "nope", key: ["PK": .s("a")])
            Issue.record("no error")
        } catch let error as AWSError {
            #expect(error.code == .resourceNotFound)
            #expect(error.message == "Requested resource not found")
            #expect(error.requestId == "req-1")
        }
        #expect(transport.requests.count == 1)
    }

    @Test func queryAllFollowsTheLastEvaluatedKey() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "dynamodb/Query.json")
        transport.enqueue(.success(HTTPResponse(status: 200, body: Data(#"{"Count":1,"Items":[{"PK":{"S":"DEP#d-1"},"SK":{"S":"EVT#0000000003"}}]}"#.utf8))))
        let dynamo = DynamoDB(client: makeClient(transport))
        let query = DynamoQuery(tableName: "t", keyCondition: "PK = :pk AND begins_with(SK, :evt)",
                                names: DynamoNames(values: [":pk": .s("DEP#d-1"), ":evt": .s("EVT#")]), consistentRead: true)
        let items = try await dynamo.queryAll(query)
        #expect(items.map { $0["SK"]?.string } == ["EVT#0000000001", "EVT#0000000002", "EVT#0000000003"])
        let second = try Self.json(transport.requests[1].body)
        #expect((second["ExclusiveStartKey"] as? [String: Any])?.keys.sorted() == ["PK", "SK"])
        #expect(second["ScanIndexForward"] as? Bool == true)
        #expect(second["ConsistentRead"] as? Bool == true)
    }

    @Test func batchPutSendsUnprocessedItemsAgain() async throws {
        let transport = FakeTransport()
        let sleeps = SleepRecorder()
        transport.enqueue(status: 200, fixture: "dynamodb/BatchWriteItem-unprocessed.json")
        transport.enqueue(.success(Self.ok))
        let dynamo = DynamoDB(client: makeClient(transport, sleeps: sleeps))
        try await dynamo.batchPut(table: "switchyard", items: [["PK": .s("DEP#d-1"), "SK": .s("META")], ["PK": .s("DEP#d-2"), "SK": .s("META")]])
        #expect(transport.requests.count == 2)
        #expect(sleeps.delays.count == 1)
        let resent = try #require(try Self.json(transport.requests[1].body)["RequestItems"] as? [String: [Any]])
        #expect(resent["switchyard"]?.count == 1)
    }

    @Test func describeTableTellsWhetherTheSchemaMatches() async throws {
        let transport = FakeTransport()
        transport.enqueue(status: 200, fixture: "dynamodb/DescribeTable.json")
        let dynamo = DynamoDB(client: makeClient(transport))
        let table = try await dynamo.describeTable(name: "switchyard")
        #expect(table.status == "ACTIVE")
        let index = DynamoTableSchema.Index(name: "by-service", hashKey: "GSI1PK", rangeKey: "GSI1SK")
        #expect(table.matches(DynamoTableSchema(hashKey: "PK", rangeKey: "SK", indexes: [index])))
        #expect(!table.matches(DynamoTableSchema(hashKey: "PK", rangeKey: "SK", indexes: [index, .init(name: "by-ami", hashKey: "AMI")])))
        #expect(!table.matches(DynamoTableSchema(hashKey: "id")))
    }

    @Test func createTableIsOnDemandWithEveryKeyAttributeDefinedOnce() async throws {
        let transport = FakeTransport()
        transport.enqueue(.success(HTTPResponse(status: 200, body: Data(#"{"TableDescription":{"TableName":"t","TableStatus":"CREATING"}}"#.utf8))))
        let dynamo = DynamoDB(client: makeClient(transport))
        let schema = DynamoTableSchema(hashKey: "PK", rangeKey: "SK", indexes: [.init(name: "a", hashKey: "G1", rangeKey: "SK")])
        let created = try await dynamo.createTable(name: "t", schema: schema)
        #expect(created.status == "CREATING")
        let sent = try #require(transport.requests.first)
        let body = try Self.json(sent.body)
        #expect(body["BillingMode"] as? String == "PAY_PER_REQUEST")
        #expect((body["AttributeDefinitions"] as? [[String: String]])?.compactMap { $0["AttributeName"] } == ["PK", "SK", "G1"])
        #expect(((body["GlobalSecondaryIndexes"] as? [[String: Any]])?.first?["Projection"] as? [String: String]) == ["ProjectionType": "ALL"])
    }
}
