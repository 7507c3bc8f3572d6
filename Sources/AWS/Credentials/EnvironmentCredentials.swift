import Foundation
import SigV4

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (or the older `AWS_SECURITY_TOKEN`), with
/// `AWS_CREDENTIAL_EXPIRATION` when a tool that exported them says when they end.
public struct EnvironmentCredentials: CredentialProvider {
    public static let sourceName = "environment variables"
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func credentials() async throws -> AWSCredentials {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let key = value("AWS_ACCESS_KEY_ID") else { throw CredentialsError.notApplicable(why: "AWS_ACCESS_KEY_ID is not set") }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw CredentialsError.failed(source: Self.sourceName, problem: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        var expiration: Date?
        if let text = value("AWS_CREDENTIAL_EXPIRATION") {
            guard let date = CredentialDates.parse(text) else {
                throw CredentialsError.failed(source: Self.sourceName, problem: "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time (got \"\(text)\")")
            }
            expiration = date
        }
        let token = value("AWS_SESSION_TOKEN") ?? value("AWS_SECURITY_TOKEN")
        return AWSCredentials(keys: SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token),
                              expiration: expiration, source: Self.sourceName)
    }
}
