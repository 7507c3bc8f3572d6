@testable import AWS
import Foundation
import Testing

/// The adaptive retry mode's client-side bucket, against an AWS-like server bucket in simulated time.
@Suite struct AdaptiveRateLimiterTests {
    /// AWS's side: a token bucket per API that answers throttling when empty.
    struct ServerBucket {
        var capacity: Double
        var refillPerSecond: Double
        var tokens: Double
        var last: TimeInterval = 0

        init(capacity: Double, refillPerSecond: Double) {
            self.capacity = capacity
            self.refillPerSecond = refillPerSecond
            tokens = capacity
        }

        /// True when the request is throttled.
        mutating func take(at now: TimeInterval) -> Bool {
            tokens = min(capacity, tokens + (now - last) * refillPerSecond)
            last = now
            guard tokens >= 1 else { return true }
            tokens -= 1
            return false
        }
    }

    /// Clients sending as fast as they are let for `seconds`, against one server bucket; each client's next request
    /// goes out when its limiter says (or at once without one), one request every `gap` seconds at most.
    static func simulate(clients: Int, seconds: TimeInterval, limited: Bool, gap: TimeInterval = 0.01) -> (sent: Int, throttled: Int) {
        var server = ServerBucket(capacity: 20, refillPerSecond: 10)
        let limiters = (0..<clients).map { _ in AdaptiveRateLimiter(now: 0) }
        var next = (0..<clients).map { Double($0) * gap / Double(clients) }
        var sent = 0
        var throttled = 0
        while true {
            guard let index = next.indices.min(by: { next[$0] < next[$1] }), next[index] < seconds else { break }
            let now = next[index]
            let wait = limited ? limiters[index].reserve(now: now) : 0
            let at = now + wait
            let refused = server.take(at: at)
            sent += 1
            if refused { throttled += 1 }
            limiters[index].record(throttled: refused, now: at)
            next[index] = at + gap
        }
        return (sent, throttled)
    }

    @Test func nothingWaitsUntilAWSFirstThrottles() {
        let limiter = AdaptiveRateLimiter(now: 100)
        for step in 0..<200 {
            let now = 100 + Double(step) * 0.001
            #expect(limiter.reserve(now: now) == 0)
            limiter.record(throttled: false, now: now)
        }
        #expect(!limiter.isLimiting)
    }

    @Test func cubicMatchesTheSDKsZeroPoints() {
        // botocore's tests/unit/retries/test_throttling.py, verified by hand there.
        #expect(abs(AdaptiveRateLimiter.zeroPoint(10) - 1.9574338205844317) < 1e-9)
        #expect(abs(AdaptiveRateLimiter.zeroPoint(8) - 1.8171205928321397) < 1e-9)
    }

    @Test func aThrottledAnswerCutsTheRateAndSuccessesGrowItBack() {
        let limiter = AdaptiveRateLimiter(now: 0)
        // 40 requests a second for 2 s, then one throttled answer.
        var now = 0.0
        for _ in 0..<80 {
            limiter.record(throttled: false, now: now)
            now += 0.025
        }
        #expect(limiter.record(throttled: true, now: now))
        let cut = limiter.rate
        #expect(limiter.isLimiting && cut > 15 && cut < 40 * 0.7 + 1)
        // A second throttled answer does not start it again.
        #expect(!limiter.record(throttled: true, now: now + 0.01))
        let cutAgain = limiter.rate
        #expect(cutAgain < cut)
        // Successes at the allowed pace raise the rate along the cubic curve.
        var t = now + 0.01
        for _ in 0..<200 {
            t += limiter.reserve(now: t) + 0.02
            limiter.record(throttled: false, now: t)
        }
        #expect(limiter.rate > cutAgain)
    }

    @Test func callersArrivingTogetherAreSpreadAtTheFillRate() {
        let limiter = AdaptiveRateLimiter(now: 0)
        limiter.record(throttled: true, now: 0)
        let rate = limiter.rate
        let waits = (0..<5).map { _ in limiter.reserve(now: 0.1) }
        #expect(waits == waits.sorted())
        for (earlier, later) in zip(waits, waits.dropFirst()) { #expect(abs((later - earlier) - 1 / rate) < 1e-9) }
    }

    @Test(arguments: [0.05, 0.5])
    func fiftyClientsOfOneAccountBackOffInsteadOfRetryingIntoTheEmptyBucket(gap: TimeInterval) {
        // Fifty releases sharing an API bucket of 10 a second (20 at once), each sending every `gap` seconds when let:
        // without the limiter nearly every request is throttled and each one is sent again; with it the account sends a
        // fraction of that, far fewer are throttled, and what goes through is still about all the bucket allows.
        let unlimited = Self.simulate(clients: 50, seconds: 60, limited: false, gap: gap)
        let limited = Self.simulate(clients: 50, seconds: 60, limited: true, gap: gap)
        let unlimitedShare = Double(unlimited.throttled) / Double(unlimited.sent)
        let limitedShare = Double(limited.throttled) / Double(limited.sent)
        #expect(unlimitedShare > 0.8)
        #expect(limited.sent * 2 < unlimited.sent)
        #expect(limitedShare < unlimitedShare * 0.8)
        let through = limited.sent - limited.throttled
        #expect(Double(through) > 0.9 * (20 + 10 * 60))
    }
}
