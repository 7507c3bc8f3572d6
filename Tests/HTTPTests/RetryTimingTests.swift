import Foundation
import HTTP
import Testing

/// The waits and refresh windows AWS's calls and ARM's share (Sources/HTTP/RetryTiming.swift).
@Suite struct RetryTimingTests {
    @Test func theCeilingDoublesFromBaseToCapAndTheWaitIsDrawnBelowIt() {
        #expect((1...7).map { Backoff.ceiling(attempt: $0, base: 0.1, cap: 5) } == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5])
        #expect(Backoff.fullJitter(attempt: 3, base: 0.1, cap: 5, random: 0.5) == 0.2)
        #expect(Backoff.fullJitter(attempt: 3, base: 0.1, cap: 5, random: 0) == 0, "full jitter reaches down to nothing")
        #expect(Backoff.ceiling(attempt: 0, base: 0.1, cap: 5) == 0.1, "an attempt number below 1 is the first")
    }

    @Test func aCredentialIsRefreshedInItsWindowsWhichShrinkForAShortLivedOne() {
        let windows = RefreshWindows(advisory: 15 * 60, mandatory: 10 * 60)
        let fetched = Date(timeIntervalSince1970: 1_800_000_000)
        let hour = fetched.addingTimeInterval(3600)
        #expect(windows.phase(fetchedAt: fetched, expiresAt: hour, now: fetched.addingTimeInterval(44 * 60)) == .fresh)
        #expect(windows.phase(fetchedAt: fetched, expiresAt: hour, now: fetched.addingTimeInterval(46 * 60)) == .advisory)
        #expect(windows.phase(fetchedAt: fetched, expiresAt: hour, now: fetched.addingTimeInterval(51 * 60)) == .mandatory)
        // Eight seconds of life: used for four, then refreshed as a chance, and from six on as a must.
        let short = fetched.addingTimeInterval(8)
        #expect([3, 5, 7].map { windows.phase(fetchedAt: fetched, expiresAt: short, now: fetched.addingTimeInterval($0)) } == [.fresh, .advisory, .mandatory])
    }
}
