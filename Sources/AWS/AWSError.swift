import Foundation

/// An AWS error code: open-ended, so unknown codes pass through; the ones Switchyard reasons about are named.
public struct AWSErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let throttling = AWSErrorCode("Throttling")
    public static let throttlingException = AWSErrorCode("ThrottlingException")
    public static let requestLimitExceeded = AWSErrorCode("RequestLimitExceeded")
    public static let tooManyRequests = AWSErrorCode("TooManyRequestsException")
    public static let requestThrottled = AWSErrorCode("RequestThrottled")
    public static let slowDown = AWSErrorCode("SlowDown")
    public static let priorRequestNotComplete = AWSErrorCode("PriorRequestNotComplete")
    public static let validationError = AWSErrorCode("ValidationError")
    public static let accessDenied = AWSErrorCode("AccessDenied")
    public static let unauthorizedOperation = AWSErrorCode("UnauthorizedOperation")
    public static let invalidAMIIDNotFound = AWSErrorCode("InvalidAMIID.NotFound")
    public static let internalFailure = AWSErrorCode("InternalFailure")
    /// DynamoDB: the table (or index) does not exist, or is not ACTIVE yet.
    public static let resourceNotFound = AWSErrorCode("ResourceNotFoundException")
    /// DynamoDB: CreateTable of a table that exists.
    public static let resourceInUse = AWSErrorCode("ResourceInUseException")
    public static let provisionedThroughputExceeded = AWSErrorCode("ProvisionedThroughputExceededException")
    /// A non-XML error body, such as the HTML page of an action the endpoint does not implement.
    public static let notImplemented = AWSErrorCode("NotImplemented")

    /// Codes that mean "slow down and try again".
    public var isThrottling: Bool {
        [.throttling, .throttlingException, .requestLimitExceeded, .tooManyRequests, .requestThrottled, .slowDown, .priorRequestNotComplete,
         .provisionedThroughputExceeded]
            .contains(self)
    }

    public var description: String { rawValue }
}

/// An error answered by an AWS API, with everything needed to report it.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    public var code: AWSErrorCode
    public var message: String
    public var status: Int
    public var requestId: String?
    public var service: AWSService
    public var action: String
    /// Whether the body was an AWS XML error (false for HTML pages and empty bodies).
    public var isAWSErrorBody: Bool
    /// A DynamoDB `TransactionCanceledException`'s reason codes, one per transaction item in order; else empty.
    public var cancellationReasons: [String] = []

    public init(code: AWSErrorCode, message: String, status: Int, requestId: String?, service: AWSService, action: String, isAWSErrorBody: Bool = true) {
        self.code = code
        self.message = message
        self.status = status
        self.requestId = requestId
        self.service = service
        self.action = action
        self.isAWSErrorBody = isAWSErrorBody
    }

    public var description: String {
        let id = requestId.map { ", request id \($0)" } ?? ""
        return "\(service.signingName) \(action) failed with \(code) (HTTP \(status)\(id)): \(message)"
    }

    /// Decodes an error response of the query protocol or of EC2; anything else becomes `NotImplemented`/`InternalFailure`.
    public static func decode(status: Int, body: Data, service: AWSService, action: String) -> AWSError {
        if let root = XMLNode.parse(body) {
            if root.name == "ErrorResponse", let error = root.child("Error") {
                // Route 53 may give several Message elements (each problem of a change batch): all are kept.
                let messages = error.children("Message").map(\.text).filter { !$0.isEmpty }
                return AWSError(code: AWSErrorCode(error.value("Code") ?? "Unknown"), message: messages.joined(separator: "; "),
                                status: status, requestId: root.value("RequestId"), service: service, action: action)
            }
            // Route 53's refusal of a change batch: its own root element, one Message per problem.
            if root.name == "InvalidChangeBatch" {
                let messages = root.all("Messages/Message").map(\.text) + root.children("Message").map(\.text)
                return AWSError(code: AWSErrorCode("InvalidChangeBatch"), message: messages.filter { !$0.isEmpty }.joined(separator: "; "),
                                status: status, requestId: root.value("RequestId"), service: service, action: action)
            }
            if root.name == "Response", let error = root.node("Errors/Error") {
                return AWSError(code: AWSErrorCode(error.value("Code") ?? "Unknown"), message: error.value("Message") ?? "",
                                status: status, requestId: root.value("RequestID") ?? root.value("RequestId"), service: service, action: action)
            }
            if let code = root.value("Code") ?? root.node("Error")?.value("Code") {
                return AWSError(code: AWSErrorCode(code), message: root.value("Message") ?? "", status: status,
                                requestId: root.value("RequestId"), service: service, action: action)
            }
        }
        let text = String(decoding: body.prefix(2048), as: UTF8.self)
        let summary = summarize(text)
        let code: AWSErrorCode = status >= 500 ? .notImplemented : .internalFailure
        return AWSError(code: status == 501 ? .notImplemented : code,
                        message: summary.isEmpty ? "HTTP \(status) with no AWS error body" : "HTTP \(status) without an AWS error body: \(summary)",
                        status: status, requestId: nil, service: service, action: action, isAWSErrorBody: false)
    }

    /// The first line of visible text of an HTML or plain body, without markup.
    private static func summarize(_ text: String) -> String {
        let stripped = text.replacingOccurrences(of: "<[^>]+>", with: " ", options: .regularExpression)
        let line = stripped.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
        return String(line.prefix(160))
    }
}
