import Foundation

/// The client-side rate limiter of the AWS SDKs' `adaptive` retry mode (botocore's `ClientRateLimiter`, the Go and
/// JavaScript SDKs' equivalents): off until AWS first answers with throttling; from then on every attempt to that
/// service takes a token from a bucket whose fill rate follows CUBIC congestion control: cut to 70 % of the rate
/// measured at each throttled answer, then grown back along a cubic curve while answers succeed, never above twice
/// the measured send rate. So many releases of one account that share AWS's per-API token buckets back off together
/// instead of each retrying into the empty bucket, and a release alone is never slowed.
///
/// Pure arithmetic over the times it is given; `AWSClient` asks it before each attempt and tells it each answer.
public final class AdaptiveRateLimiter: @unchecked Sendable {
    /// CUBIC's scale constant and multiplicative decrease, as the SDKs use them.
    static let scale = 0.4
    static let beta = 0.7
    /// The lowest fill rate, in tokens per second.
    static let minimumRate = 0.5
    /// The send rate is measured over half-second buckets, smoothed.
    static let smoothing = 0.8
    static let bucketSeconds = 0.5

    private let lock = NSLock()
    private var enabled = false
    private var fillRate = 0.0
    private var maxCapacity = 1.0
    private var capacity = 0.0
    private var lastRefill: TimeInterval?
    // The measured send rate.
    private var measuredRate = 0.0
    private var lastBucket: TimeInterval
    private var count = 0.0
    // CUBIC: the rate at the last throttled answer, the time the curve takes to get back to it, and when that was.
    private var rateAtLastThrottle = 0.0
    private var zeroPoint = 0.0
    private var lastThrottle: TimeInterval
    private var lastThrottledAnswer: TimeInterval?

    public init(now: TimeInterval) {
        lastBucket = now.rounded(.down)
        lastThrottle = now
        setFillRate(1, now: now)
    }

    /// Whether attempts wait for tokens: true once AWS has throttled this service.
    public var isLimiting: Bool { lock.withLock { enabled } }
    /// When AWS last answered this service with throttling, if it ever did.
    public var lastThrottledAt: TimeInterval? { lock.withLock { lastThrottledAnswer } }
    /// The tokens per second attempts may take.
    public var rate: Double { lock.withLock { fillRate } }

    /// Takes a token for an attempt about to be sent at `now`; returns how long to wait before sending it (0 while
    /// nothing was throttled). A token is taken at once and the wait is what the bucket owes, so callers that arrive
    /// together are spread out at the fill rate in the order they came.
    public func reserve(now: TimeInterval) -> TimeInterval {
        lock.withLock {
            guard enabled else { return 0 }
            refill(now)
            capacity -= 1
            return capacity >= 0 ? 0 : -capacity / fillRate
        }
    }

    /// Tells the limiter an answer came at `now`, throttled or not; true when this answer is the one that starts the
    /// limiting.
    @discardableResult
    public func record(throttled: Bool, now: TimeInterval) -> Bool {
        lock.withLock {
            let starts = throttled && !enabled
            let measured = measure(now)
            let newRate: Double
            if throttled {
                let current = enabled ? min(measured, fillRate) : measured
                rateAtLastThrottle = current
                zeroPoint = Self.zeroPoint(current)
                lastThrottle = now
                lastThrottledAnswer = now
                newRate = current * Self.beta
                enabled = true
            } else {
                newRate = Self.scale * pow(now - lastThrottle - zeroPoint, 3) + rateAtLastThrottle
            }
            setFillRate(min(newRate, 2 * measured), now: now)
            return starts
        }
    }

    static func zeroPoint(_ rate: Double) -> Double { cbrt(rate * (1 - beta) / scale) }

    private func measure(_ now: TimeInterval) -> Double {
        let bucket = (now / Self.bucketSeconds).rounded(.down) * Self.bucketSeconds
        count += 1
        if bucket > lastBucket {
            let current = count / (bucket - lastBucket)
            measuredRate = current * Self.smoothing + measuredRate * (1 - Self.smoothing)
            count = 0
            lastBucket = bucket
        }
        return measuredRate
    }

    private func setFillRate(_ value: Double, now: TimeInterval) {
        // Tokens owed so far accrue at the old rate.
        refill(now)
        fillRate = max(value, Self.minimumRate)
        maxCapacity = max(value, 1)
        capacity = min(capacity, maxCapacity)
    }

    private func refill(_ now: TimeInterval) {
        guard let last = lastRefill else {
            lastRefill = now
            return
        }
        capacity = min(maxCapacity, capacity + max(0, now - last) * fillRate)
        lastRefill = max(last, now)
    }
}

/// Calls made in an urgent task (`AWSPriority.$urgent.withValue(true) { … }`) do not wait for the client-side bucket:
/// a rollback's way back to blue (the read of blue's capacity, the fence, the weight writes) is a handful of requests, and the moment it is made is the one the limiter must not
/// delay (a release whose limiter engaged while fifty started took 3.7 s, not 0.03 s, from its fault's alarm answer
/// to 100 % blue). They still tell the limiter their answers, and a throttled one is still retried with backoff.
public enum AWSPriority {
    @TaskLocal public static var urgent = false
}

/// One limiter per service (AWS's buckets are per account, region and API family), shared by every copy of a client.
public final class AdaptiveRateLimiters: @unchecked Sendable {
    private let lock = NSLock()
    private var limiters: [String: AdaptiveRateLimiter] = [:]

    public init() {}

    public func limiter(for service: AWSService, now: TimeInterval) -> AdaptiveRateLimiter {
        lock.withLock {
            if let limiter = limiters[service.signingName] { return limiter }
            let limiter = AdaptiveRateLimiter(now: now)
            limiters[service.signingName] = limiter
            return limiter
        }
    }
}
