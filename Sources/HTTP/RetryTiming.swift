import Foundation

/// How long to wait before trying a call again: the ceiling doubles from `base` with each try up to `cap`, and the
/// wait is drawn below it ("full jitter", AWS Architecture Blog, "Exponential Backoff And Jitter"), so many clients
/// that failed at once do not come back at once. AWS's calls and ARM's wait the same way.
public enum Backoff {
    /// The ceiling of the `attempt`th wait (1 for the first): `base`·2^(attempt−1), at most `cap`.
    public static func ceiling(attempt: Int, base: TimeInterval, cap: TimeInterval) -> TimeInterval {
        min(cap, base * pow(2, Double(max(1, attempt) - 1)))
    }

    /// A wait below the ceiling: `random` is a number in [0, 1) (injected so tests can fix it).
    public static func fullJitter(attempt: Int, base: TimeInterval, cap: TimeInterval, random: Double) -> TimeInterval {
        random * ceiling(attempt: attempt, base: base, cap: cap)
    }
}

/// When a cached credential (AWS keys, an Entra ID token) is fetched again before it expires: from `advisory` before
/// (a fetch that fails keeps the one in hand, still valid) and from `mandatory` before (a failure is an error). For a
/// credential that lives less than twice the advisory window the windows shrink to at most half and a quarter of its
/// lifetime, so one that lives seconds (a test's, a local server's) is used for half its life instead of being
/// fetched again before every request.
public struct RefreshWindows: Sendable, Equatable {
    public var advisory: TimeInterval
    public var mandatory: TimeInterval

    public init(advisory: TimeInterval, mandatory: TimeInterval) {
        self.advisory = advisory
        self.mandatory = mandatory
    }

    public enum Phase: Sendable, Equatable { case fresh, advisory, mandatory }

    /// Where a credential fetched at `fetchedAt` and expiring at `expiresAt` stands `now`.
    public func phase(fetchedAt: Date, expiresAt: Date, now: Date) -> Phase {
        let lifetime = max(0, expiresAt.timeIntervalSince(fetchedAt))
        let remaining = expiresAt.timeIntervalSince(now)
        if remaining <= min(mandatory, lifetime / 4) { return .mandatory }
        if remaining <= min(advisory, lifetime / 2) { return .advisory }
        return .fresh
    }
}
