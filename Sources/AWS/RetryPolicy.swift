import Foundation

/// What to do after a failed attempt.
public enum RetryDecision: Sendable, Equatable {
    case retry(after: TimeInterval)
    case dontRetry
}

/// Exponential backoff with full jitter for throttling, 5xx AWS errors, connection errors and timeouts, within a budget.
/// Never retries validation or access errors, nor a non-AWS 5xx body (an unimplemented action).
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var base: TimeInterval
    public var cap: TimeInterval
    /// A number in [0, 1); injected so tests can fix the jitter.
    public var random: @Sendable () -> Double

    public init(maxAttempts: Int = 5, base: TimeInterval = 0.1, cap: TimeInterval = 5, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.maxAttempts = maxAttempts
        self.base = base
        self.cap = cap
        self.random = random
    }

    public static let `default` = RetryPolicy()

    /// `attempt` is the 1-based number of the attempt that just failed.
    public func decide(error: Error, attempt: Int, retryAfter: TimeInterval? = nil) -> RetryDecision {
        guard attempt < maxAttempts, Self.isRetryable(error) else { return .dontRetry }
        let ceiling = min(cap, base * pow(2, Double(attempt - 1)))
        let delay = ceiling * random()
        if let retryAfter { return .retry(after: min(max(delay, retryAfter), cap * 2)) }
        return .retry(after: delay)
    }

    static func isRetryable(_ error: Error) -> Bool {
        switch error {
        case let error as AWSError:
            if error.code.isThrottling { return true }
            // A transaction cancelled only because another transaction touched the same items (or throttling) goes
            // through when sent again; one cancelled by a failed condition is a DynamoDBConditionFailure, never retried.
            if error.isTransientCancellation { return true }
            // STS could not reach the web identity provider (GitHub's, EKS's) in time; botocore retries it too.
            if error.code.rawValue == "IDPCommunicationError" { return true }
            return error.status >= 500 && error.isAWSErrorBody
        case is TransportError:
            return true
        default:
            return false
        }
    }
}
