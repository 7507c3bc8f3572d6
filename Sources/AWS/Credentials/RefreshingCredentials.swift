import Foundation
import Logging

/// Caches credentials from a source and fetches them again before they expire, as botocore's RefreshableCredentials:
/// from 15 minutes before `expiration` (advisory: if that fetch fails, the old keys are still used) and from 10
/// minutes before (mandatory: a failure is an error). Concurrent callers share one fetch.
public actor RefreshingCredentials: CredentialProvider {
    public static let advisoryWindow: TimeInterval = 15 * 60
    public static let mandatoryWindow: TimeInterval = 10 * 60

    private let source: any CredentialProvider
    private let now: @Sendable () -> Date
    private let logger: Logger
    private var cached: (credentials: AWSCredentials, fetchedAt: Date)?
    private var inFlight: Task<AWSCredentials, Error>?

    public init(_ source: any CredentialProvider, now: @escaping @Sendable () -> Date = Date.init,
                logger: Logger = Logger(label: "switchyard.credentials")) {
        self.source = source
        self.now = now
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials {
        guard let cached else { return try await fetch() }
        switch Self.phase(of: cached.credentials, fetchedAt: cached.fetchedAt, now: now()) {
        case .fresh:
            return cached.credentials
        case .advisory:
            do {
                return try await fetch()
            } catch {
                logger.warning("could not refresh AWS credentials; the current ones are still valid", metadata: [
                    "source": "\(cached.credentials.source)", "error": "\(error)"])
                return cached.credentials
            }
        case .mandatory:
            return try await fetch()
        }
    }

    /// Forgets the cached credentials, so the next call fetches new ones (after AWS answered ExpiredToken).
    public func invalidate() {
        cached = nil
    }

    enum Phase: Equatable { case fresh, advisory, mandatory }

    /// The windows shrink for credentials that live less than twice the advisory window (STS allows 15 minutes, tests
    /// and local servers hand out seconds): at most half the lifetime for advisory and a quarter for mandatory, so an
    /// 8-second credential is used for 4 seconds instead of being fetched again before every request.
    static func phase(of credentials: AWSCredentials, fetchedAt: Date, now: Date) -> Phase {
        guard let expiration = credentials.expiration else { return .fresh }
        let lifetime = max(0, expiration.timeIntervalSince(fetchedAt))
        let remaining = expiration.timeIntervalSince(now)
        if remaining <= min(mandatoryWindow, lifetime / 4) { return .mandatory }
        if remaining <= min(advisoryWindow, lifetime / 2) { return .advisory }
        return .fresh
    }

    private func fetch() async throws -> AWSCredentials {
        if let inFlight { return try await inFlight.value }
        let source = self.source
        let task = Task { try await source.credentials() }
        inFlight = task
        defer { inFlight = nil }
        let fresh = try await task.value
        let fetchedAt = now()
        if let expiration = fresh.expiration, expiration <= fetchedAt {
            throw CredentialsError.failed(source: fresh.source, problem: "the credentials it gave expired at \(CredentialDates.format(expiration))")
        }
        cached = (fresh, fetchedAt)
        return fresh
    }
}
