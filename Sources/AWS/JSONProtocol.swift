import Foundation
import SigV4

extension AWSService {
    /// The `X-Amz-Target` prefix of a JSON-protocol service (`DynamoDB_20120810`); nil for query services.
    var jsonTargetPrefix: String? {
        switch self {
        case .dynamoDB: return "DynamoDB_20120810"
        default: return nil
        }
    }
}

/// One reason in a `TransactionCanceledException`, in the order of the transaction's items: `None` where that item
/// was fine, else `ConditionalCheckFailed`, `TransactionConflict`, `ThrottlingError`, `ValidationError`, …
public struct CancellationReason: Sendable, Hashable, Decodable {
    public var code: String
    public var message: String?
    /// The item as it stood, when the request asked for it (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
    public var item: DynamoItem?

    public init(code: String, message: String? = nil, item: DynamoItem? = nil) {
        self.code = code
        self.message = message
        self.item = item
    }

    enum CodingKeys: String, CodingKey { case code = "Code", message = "Message", item = "Item" }

    /// Reasons that go away when the transaction is sent again.
    static let transient: Set<String> = ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"]
}

/// A DynamoDB write refused because one of its conditions did not hold: another writer changed the item first.
/// Final: never retried, since sending the same write again meets the same condition.
public struct DynamoDBConditionFailure: Error, Sendable, CustomStringConvertible {
    /// `PutItem`, `UpdateItem`, `DeleteItem` or `TransactWriteItems`.
    public var action: String
    public var message: String
    /// For `TransactWriteItems`, one per item in request order; empty for a single-item write.
    public var reasons: [CancellationReason]
    /// For a single-item write that asked for it, the item as it stood.
    public var item: DynamoItem?
    public var requestId: String?

    public init(action: String, message: String, reasons: [CancellationReason] = [], item: DynamoItem? = nil, requestId: String? = nil) {
        self.action = action
        self.message = message
        self.reasons = reasons
        self.item = item
        self.requestId = requestId
    }

    /// The indexes of the transaction items whose condition failed.
    public var failedItems: [Int] { reasons.indices.filter { reasons[$0].code == "ConditionalCheckFailed" } }

    public var description: String {
        let which = reasons.isEmpty ? "" : " (items \(failedItems.map(String.init).joined(separator: ", ")))"
        let id = requestId.map { ", request id \($0)" } ?? ""
        return "dynamodb \(action) failed with a conditional check\(which)\(id): \(message)"
    }
}

extension AWSClient {
    /// Calls one JSON 1.0 operation (`POST /`, `X-Amz-Target: <prefix>.<operation>`) with `body` as its input and
    /// returns the response body. Retries per the policy; a failed condition is thrown as `DynamoDBConditionFailure`.
    public func callJSON(_ service: AWSService, operation: String, body: Data) async throws -> Data {
        try await withRetries(service, action: operation, signing: .configured) { attempt in
            let keys = try await configuration.credentials.credentials().keys
            let signedWith = signingDate()
            let request = signedJSONRequest(service, operation: operation, body: body, keys: keys)
            requests.record(operation)
            let response: HTTPResponse
            do {
                response = try await transport.execute(request, timeout: attempt.timeout)
            } catch let error as TransportError {
                throw AttemptFailure(error: error, temporaryKeys: keys.sessionToken != nil)
            }
            let requestId = response.header("x-amzn-RequestId")
            logger.debug("aws call", metadata: ["aws.service": "\(service.signingName)", "aws.action": "\(operation)",
                                                 "aws.status": "\(response.status)", "aws.request_id": "\(requestId ?? "-")", "aws.attempt": "\(attempt.number)"])
            guard (200..<300).contains(response.status) else {
                let error = AWSError.decodeJSON(status: response.status, body: response.body, errorType: response.header("x-amzn-ErrorType"),
                                                requestId: requestId, service: service, action: operation)
                throw failure(error, response: response, signedWith: signedWith, temporaryKeys: keys.sessionToken != nil)
            }
            return response.body
        }
    }

    /// The signed request of one JSON-protocol attempt.
    func signedJSONRequest(_ service: AWSService, operation: String, body: Data, keys: SigV4Credentials) -> HTTPRequest {
        let endpoint = configuration.endpoint(for: service)
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        let path = endpoint.path.isEmpty ? "/" : endpoint.path
        let target = "\(service.jsonTargetPrefix ?? service.signingName).\(operation)"
        let unsigned = SigV4Request(method: "POST", path: path, query: "",
                                    headers: [(name: "Host", value: host), (name: "Content-Type", value: "application/x-amz-json-1.0"),
                                              (name: "X-Amz-Target", value: target)],
                                    body: Array(body))
        let signed = SigV4Signer(credentials: keys, region: configuration.region, service: service.signingName).sign(unsigned, date: signingDate())
        var headers: [String: String] = [:]
        for header in signed.headers where header.name != "Host" { headers[header.name] = header.value }
        let url = URL(string: path, relativeTo: endpoint)?.absoluteURL ?? endpoint
        return HTTPRequest(method: "POST", url: url, headers: headers, body: body)
    }
}

extension AWSError {
    /// Code of a transaction that DynamoDB cancelled; see `cancellationReasons`.
    public static let transactionCanceled = AWSErrorCode("TransactionCanceledException")

    /// Decodes a JSON-protocol error: `__type` (its `namespace#` prefix dropped, or the `x-amzn-ErrorType` header) and
    /// `message`/`Message`. A failed condition comes back as `DynamoDBConditionFailure`, anything else as `AWSError`.
    static func decodeJSON(status: Int, body: Data, errorType: String?, requestId: String?, service: AWSService, action: String) -> Error {
        struct Body: Decodable {
            var type: String?
            var message: String?
            var Message: String?
            var CancellationReasons: [CancellationReason]?
            var Item: DynamoItem?
            enum CodingKeys: String, CodingKey { case type = "__type", message, Message, CancellationReasons, Item }
        }
        guard let decoded = try? JSONDecoder().decode(Body.self, from: body),
              let type = decoded.type ?? errorType.map({ String($0.split(separator: ":").first ?? "") }) else {
            return decode(status: status, body: body, service: service, action: action)
        }
        let code = String(type.split(separator: "#").last ?? Substring(type))
        let message = decoded.message ?? decoded.Message ?? ""
        let reasons = decoded.CancellationReasons ?? []
        if code == "ConditionalCheckFailedException"
            || (code == Self.transactionCanceled.rawValue && reasons.contains { $0.code == "ConditionalCheckFailed" }) {
            return DynamoDBConditionFailure(action: action, message: message, reasons: reasons, item: decoded.Item, requestId: requestId)
        }
        var error = AWSError(code: AWSErrorCode(code), message: message, status: status, requestId: requestId, service: service, action: action)
        error.cancellationReasons = reasons.map(\.code)
        return error
    }

    /// True for a cancelled transaction whose every reason goes away on its own (a conflicting transaction, throttling).
    var isTransientCancellation: Bool {
        code == Self.transactionCanceled && cancellationReasons.contains { $0 != "None" }
            && cancellationReasons.allSatisfy { $0 == "None" || CancellationReason.transient.contains($0) }
    }
}
