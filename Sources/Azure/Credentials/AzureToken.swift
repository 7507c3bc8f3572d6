import Foundation
import HTTP

/// A bearer token for one Azure resource (ARM: `https://management.azure.com`), with when it stops working and where it
/// came from. Printing it never shows the token.
public struct AzureToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The token itself: sent as `Authorization: Bearer …`, never printed, logged or stored.
    public var value: String
    public var expiresOn: Date
    /// Where the token came from, for people: "client secret (app 0000…, tenant …)". Never secret.
    public var source: String

    public init(value: String, expiresOn: Date, source: String) {
        self.value = value
        self.expiresOn = expiresOn
        self.source = source
    }

    public var description: String { "a token from \(source), expiring \(ISO8601DateFormatter().string(from: expiresOn))" }
    public var debugDescription: String { description }
}

/// One source of Microsoft Entra ID tokens. Each call is one fetch; caching and refresh are `RefreshingAzureToken`'s.
public protocol AzureTokenSource: Sendable {
    /// A token for `resource` (an audience such as `https://management.azure.com`), or
    /// `AzureCredentialsError.notApplicable` when this source is not set up here.
    func token(for resource: String) async throws -> AzureToken
}

/// Why no token could be had. Never carries a secret, a client assertion or a token.
public enum AzureCredentialsError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The source is not set up here; the chain tries the next one.
    case notApplicable(why: String)
    /// No source of the chain was set up; each source tried, in order, with why it did not apply.
    case noneFound(tried: [String])
    /// The source is set up but failed; the chain stops here, as DefaultAzureCredential does for a configured source.
    case failed(source: String, problem: String)

    public var description: String {
        switch self {
        case .notApplicable(let why):
            return "Azure credentials source not set up: \(why)"
        case .noneFound(let tried):
            return "no Azure credentials found. Tried, in DefaultAzureCredential's order: \(tried.joined(separator: "; ")). Set "
                + "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE), or run where a "
                + "managed identity is assigned"
        case .failed(let source, let problem):
            return "\(source): \(problem)"
        }
    }
}

/// What Entra ID's v2 token endpoint and IMDS answer, read for a token or for a refusal a person can act on.
enum TokenAnswer {
    /// The token of a 200 answer: `access_token` with `expires_in` (seconds, a number or, from IMDS, a string) or
    /// IMDS's `expires_on` (epoch seconds as a string).
    static func token(_ response: HTTPResponse, source: String, now: Date) throws -> AzureToken {
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
              let value = object["access_token"] as? String, !value.isEmpty else {
            throw AzureCredentialsError.failed(source: source, problem: "the answer (HTTP \(response.status)) holds no access_token")
        }
        let expiresOn: Date
        if let on = number(object["expires_on"]) {
            expiresOn = Date(timeIntervalSince1970: on)
        } else if let seconds = number(object["expires_in"]) {
            expiresOn = now.addingTimeInterval(seconds)
        } else {
            throw AzureCredentialsError.failed(source: source, problem: "the answer gives the token no expires_in or expires_on")
        }
        guard expiresOn > now else {
            throw AzureCredentialsError.failed(source: source, problem: "the token it gave expired at \(ISO8601DateFormatter().string(from: expiresOn))")
        }
        return AzureToken(value: value, expiresOn: expiresOn, source: source)
    }

    /// A refusal as a sentence: Entra ID's `error` and the AADSTS code that opens `error_description` (its first
    /// line, bounded), or IMDS's `error` and description; never the request's secret or assertion.
    static func refusal(_ response: HTTPResponse) -> String {
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        let error = object?["error"] as? String
        let description = (object?["error_description"] as? String).map { text in
            let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
            return line.count > 240 ? String(line.prefix(240)) + "…" : line
        }
        switch (error, description) {
        case let (error?, description?): return "HTTP \(response.status) \(error): \(description)"
        case let (error?, nil): return "HTTP \(response.status) \(error)"
        default: return "HTTP \(response.status) without an error body"
        }
    }

    static func number(_ value: Any?) -> Double? {
        if let n = value as? NSNumber { return n.doubleValue }
        if let s = value as? String { return Double(s) }
        return nil
    }
}

/// A form body, `application/x-www-form-urlencoded`, with every reserved character escaped (a secret may hold `&`,
/// `+` or `=`).
enum FormBody {
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encode(_ fields: [(String, String)]) -> Data {
        Data(fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&").utf8)
    }

    static func escape(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text }
}
