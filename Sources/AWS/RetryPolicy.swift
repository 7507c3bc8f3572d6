import Foundation
import HTTP

/// What to do after a failed attempt.
public enum RetryDecision: Sendable, Equatable {
    case retry(after: TimeInterval)
    case dontRetry
}

/// Exponential backoff with full jitter for throttling, 5xx AWS errors, connection errors and timeouts, within a budget.
/// Never retries validation or access errors, nor a non-AWS 5xx body (an unimplemented action).
///
/// Auto Scaling's busy answers are apart: a group write AWS refuses while a scaling activity runs on the group
/// (`ScalingActivityInProgress`, `ResourceInUse`, `ResourceContention`) goes through once the activity ends, so it is
/// sent again with backoff (`busyBase` doubling to `busyCap`, jittered between half and all of it) for up to
/// `busyLimit`, as terraform-provider-aws retries DeleteAutoScalingGroup for its 10-minute delete timeout.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var base: TimeInterval
    public var cap: TimeInterval
    /// How long busy answers are waited out, from the first of them.
    public var busyLimit: TimeInterval
    public var busyBase: TimeInterval
    public var busyCap: TimeInterval
    /// How long throttled answers to one call are waited out, from the first of them: AWS answered, it only asks the
    /// account to slow down, and the adaptive limiter paces every resend, so waiting never amplifies the load.
    public var throttleLimit: TimeInterval
    /// The most one wait between throttled answers grows to (botocore's MAX_BACKOFF).
    public var throttleCap: TimeInterval
    /// The same for an urgent call (`AWSPriority.urgent`: a rollback's move back to blue): fifty rollbacks at once
    /// into an API bucket refilled at 10 a second all get through within seconds, not after backoffs of up to 20 s.
    public var urgentThrottleCap: TimeInterval
    /// A number in [0, 1); injected so tests can fix the jitter.
    public var random: @Sendable () -> Double

    /// The codes Auto Scaling refuses a group write with while an activity runs on the group.
    public static let busyCodes: Set<String> = ["ScalingActivityInProgress", "ResourceInUse", "ResourceContention"]

    public init(maxAttempts: Int = 5, base: TimeInterval = 0.1, cap: TimeInterval = 5, busyLimit: TimeInterval = 600, busyBase: TimeInterval = 0.5,
                busyCap: TimeInterval = 15, throttleLimit: TimeInterval = 300, throttleCap: TimeInterval = 20, urgentThrottleCap: TimeInterval = 1,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.maxAttempts = maxAttempts
        self.base = base
        self.cap = cap
        self.busyLimit = busyLimit
        self.busyBase = busyBase
        self.busyCap = busyCap
        self.throttleLimit = throttleLimit
        self.throttleCap = throttleCap
        self.urgentThrottleCap = urgentThrottleCap
        self.random = random
    }

    /// For an Auto Scaling busy answer: when to send the write again, or `.dontRetry` once `busyLimit` would be passed;
    /// nil for any other error. `tries` is the 1-based number of busy answers so far, `elapsed` the time since the first.
    public func decideBusy(error: Error, tries: Int, elapsed: TimeInterval) -> RetryDecision? {
        guard let error = error as? AWSError, error.service == .autoScaling, Self.busyCodes.contains(error.code.rawValue) else { return nil }
        let ceiling = Backoff.ceiling(attempt: tries, base: busyBase, cap: busyCap)
        let delay = ceiling * (0.5 + 0.5 * random())
        guard elapsed + delay <= busyLimit else { return .dontRetry }
        return .retry(after: delay)
    }

    /// For a throttled answer (any service): when to send the call again, or `.dontRetry` once `throttleLimit` would be
    /// passed; nil for any other error. Outside the attempts budget: fifty releases sharing an account's buckets get
    /// through one after another instead of failing after five tries. `tries` is the 1-based number of throttled
    /// answers so far, `elapsed` the time since the first. The waits are `decide`'s (full jitter from `base`,
    /// doubling) up to `throttleCap`, and never shorter than the answer's `Retry-After`.
    public func decideThrottled(error: Error, tries: Int, elapsed: TimeInterval, retryAfter: TimeInterval? = nil,
                                urgent: Bool = false) -> RetryDecision? {
        guard let error = error as? AWSError, error.code.isThrottling else { return nil }
        let cap = urgent ? urgentThrottleCap : throttleCap
        let delay = max(Backoff.fullJitter(attempt: tries, base: base, cap: cap, random: random()), min(retryAfter ?? 0, cap))
        guard elapsed + delay <= throttleLimit else { return .dontRetry }
        return .retry(after: delay)
    }

    public static let `default` = RetryPolicy()

    /// `attempt` is the 1-based number of the attempt that just failed.
    public func decide(error: Error, attempt: Int, retryAfter: TimeInterval? = nil) -> RetryDecision {
        guard attempt < maxAttempts, Self.isRetryable(error) else { return .dontRetry }
        let delay = Backoff.fullJitter(attempt: attempt, base: base, cap: cap, random: random())
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
