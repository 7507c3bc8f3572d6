import Foundation

/// Time as the orchestrator sees it: injected so the loop can be tested without sleeping.
public protocol DeploymentClock: Sendable {
    func now() -> Date
    /// Sleeps until `date` (or returns at once if it has passed). Throws when the task is cancelled.
    func sleep(until date: Date) async throws
}

/// The wall clock.
public struct SystemClock: DeploymentClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(until date: Date) async throws {
        let seconds = date.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)) }
        try Task.checkCancellation()
    }
}
