import Foundation
import SigV4

/// Keys from one credential source, with when they stop working. Printing them never shows a secret.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var keys: SigV4Credentials
    /// Nil for long-term keys, which are never refreshed.
    public var expiration: Date?
    /// Where the keys came from, for people: "web identity (role arn:aws:iam::…)". Never secret.
    public var source: String

    public init(keys: SigV4Credentials, expiration: Date? = nil, source: String) {
        self.keys = keys
        self.expiration = expiration
        self.source = source
    }

    public var description: String {
        let until = expiration.map { ", expiring \(CredentialDates.format($0))" } ?? ""
        return "\(keys) from \(source)\(until)"
    }
}

/// One source of AWS credentials. Each call is one fetch; caching and refresh are `RefreshingCredentials`'s job.
public protocol CredentialProvider: Sendable {
    /// Fetches credentials, or throws `CredentialsError.notApplicable` when this source is not set up here.
    func credentials() async throws -> AWSCredentials
}

/// Why credentials could not be had. Never carries a secret, a token or a signed URL.
public enum CredentialsError: Error, Sendable, CustomStringConvertible {
    /// The source is not set up here; the chain tries the next one.
    case notApplicable(why: String)
    /// No source of the chain was set up; each source tried, in order, with why it did not apply.
    case noneFound(tried: [(source: String, why: String)])
    /// The source is set up but failed; the chain stops here, as the AWS SDKs do.
    case failed(source: String, problem: String)

    public var description: String {
        switch self {
        case .notApplicable(let why):
            return "credentials source not set up: \(why)"
        case .noneFound(let tried):
            let list = tried.map { "\($0.source): \($0.why)" }.joined(separator: "; ")
            return "no AWS credentials found. Tried, in the AWS SDKs' order: \(list). Set AWS_ACCESS_KEY_ID and "
                + "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile with keys, role_arn, sso_session or credential_process"
        case .failed(let source, let problem):
            return "\(source): \(problem)"
        }
    }
}

/// Fixed keys: a profile's keys, or a test's.
public struct StaticCredentials: CredentialProvider {
    public let value: AWSCredentials

    public init(_ keys: SigV4Credentials, source: String = "static keys") {
        value = AWSCredentials(keys: keys, source: source)
    }

    public func credentials() async throws -> AWSCredentials { value }
}

/// The dates credential sources write: ISO 8601 with or without fractions, and the legacy `…UTC` of old SSO caches.
enum CredentialDates {
    static func parse(_ text: String) -> Date? {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("UTC") { text = String(text.dropLast(3)) + "Z" }
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    static func format(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}

/// At most `limit` characters of a body for an error message, on one line.
func bounded(_ data: Data, limit: Int = 300) -> String {
    let text = String(decoding: data.prefix(limit * 4), as: UTF8.self)
        .replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
    return text.count > limit ? String(text.prefix(limit)) + "…" : text
}
