"""The proxy's JSON-protocol (DynamoDB) check on its own (no binary, no moto): bodies botocore itself serializes pass,
and each kind of mistake is reported as exactly that mistake."""
import json

import botocore.serialize

from awsmodel import check_json_request, service_model

TARGET = "DynamoDB_20120810."


def serialized(operation, params):
    """The (X-Amz-Target, body) botocore sends for `operation` with `params`: the reference for a correct request."""
    model = service_model("dynamodb")
    serializer = botocore.serialize.create_serializer("json", include_validation=True)
    request = serializer.serialize_to_request(params, model.operation_model(operation))
    return request["headers"]["X-Amz-Target"], request["body"]


def test_botocore_serialized_requests_pass():
    cases = {
        "TransactWriteItems": {"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "DEP#1"}, "v": {"N": "1"}, "m": {"M": {"a": {"L": [{"NULL": True}]}}}},
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Update": {"TableName": "t", "Key": {"PK": {"S": "DEP#1"}}, "UpdateExpression": "SET #v = :v",
                        "ConditionExpression": "#v = :old", "ExpressionAttributeNames": {"#v": "version"},
                        "ExpressionAttributeValues": {":v": {"N": "2"}, ":old": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "SVC#web"}}, "ConditionExpression": "holder = :h",
                                "ExpressionAttributeValues": {":h": {"S": "me"}}}}]},
        "Query": {"TableName": "t", "IndexName": "by-service", "KeyConditionExpression": "GSI1PK = :s",
                  "ExpressionAttributeValues": {":s": {"S": "web"}}, "ScanIndexForward": False, "Limit": 20,
                  "ExclusiveStartKey": {"PK": {"S": "a"}}},
        "CreateTable": {"TableName": "t", "BillingMode": "PAY_PER_REQUEST",
                        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}]},
    }
    for operation, params in cases.items():
        target, body = serialized(operation, params)
        assert check_json_request("dynamodb", target, body) == [], operation


def test_each_mistake_is_named():
    def check(operation, document):
        return check_json_request("dynamodb", TARGET + operation, json.dumps(document))

    assert check("PutItem", {"TableName": "t", "Item": {"a": {"S": "x"}}, "Bogus": 1}) == ["PutItem: unknown parameter Bogus"]
    assert check("Query", {"TableName": "t", "ScanIndexForward": "false"}) == [
        "Query: ScanIndexForward: 'false' is not a JSON boolean"]
    assert check("Query", {"TableName": "t", "Limit": 0}) == ["Query: Limit: 0 is below the minimum 1"]
    assert check("TransactWriteItems", {"TransactItems": [{"ConditionCheck": {"TableName": "t", "Key": {}}}]}) == [
        "TransactWriteItems: TransactItems[0].ConditionCheck.ConditionExpression: required member of ConditionCheck is missing"]
    assert check("PutItem", {"TableName": "t", "Item": {"a": {"S": "x"}}, "ExpressionAttributeValues": {}}) == [
        "PutItem: ExpressionAttributeValues: an empty map (DynamoDB refuses it)"]
    assert check("GetItem", {"TableName": "t", "Key": {"a": {"N": 1}}}) == [
        "GetItem: Key['a'].N: 1 is not a JSON string (NumberAttributeValue is a string)"]
    assert check_json_request("dynamodb", "DynamoDB_20111205.GetItem", "{}") == [
        "dynamodb GetItem: X-Amz-Target prefix is 'DynamoDB_20111205', the dynamodb API wants 'DynamoDB_20120810'"]
    assert check_json_request("dynamodb", None, "{}") == [
        "dynamodb: the request has no X-Amz-Target <DynamoDB_20120810>.<Operation> header"]
    assert check("Scan2", {}) == ["dynamodb Scan2: no such operation in the dynamodb model"]
