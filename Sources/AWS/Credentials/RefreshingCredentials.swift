import Foundation
import HTTP
import Logging

/// Caches credentials from a source and fetches them again before they expire, as botocore's RefreshableCredentials:
/// from 15 minutes before `expiration` (advisory: if that fetch fails, the old keys are still used) and from 10
/// minutes before (mandatory: a failure is an error). Concurrent callers share one fetch.
public actor RefreshingCredentials: CredentialProvider {
    public static let advisoryWindow: TimeInterval = 15 * 60
    public static let mandatoryWindow: TimeInterval = 10 * 60
    static let windows = RefreshWindows(advisory: advisoryWindow, mandatory: mandatoryWindow)

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

    typealias Phase = RefreshWindows.Phase

    /// `RefreshWindows`' rule with botocore's windows (they shrink for credentials that live less than 30 minutes: STS
    /// allows 15, tests and local servers hand out seconds); credentials without an expiration are always fresh.
    static func phase(of credentials: AWSCredentials, fetchedAt: Date, now: Date) -> Phase {
        guard let expiration = credentials.expiration else { return .fresh }
        return windows.phase(fetchedAt: fetchedAt, expiresAt: expiration, now: now)
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
