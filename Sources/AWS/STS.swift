import Foundation
import SigV4

/// The two STS actions credential sources need. AssumeRole is signed with the source keys; AssumeRoleWithWebIdentity
/// is sent unsigned, as AWS documents it: the web identity token is the proof.
public struct STS: Sendable {
    public let client: AWSClient

    /// `client` gives the region, the endpoint (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL` or the regional one) and the transport.
    public init(client: AWSClient) {
        self.client = client
    }

    /// Assumes a role with the given source keys.
    public func assumeRole(roleArn: String, sessionName: String, externalId: String? = nil, durationSeconds: Int? = nil,
                           signedWith keys: SigV4Credentials) async throws -> AWSCredentials {
        var parameters = ["RoleArn": roleArn, "RoleSessionName": sessionName]
        if let externalId { parameters["ExternalId"] = externalId }
        if let durationSeconds { parameters["DurationSeconds"] = String(durationSeconds) }
        let result = try await client.call(.sts, action: "AssumeRole", parameters: parameters, signing: .keys(keys))
        return try Self.credentials(in: result, action: "AssumeRole", source: "role \(roleArn)")
    }

    /// Exchanges a web identity (OIDC) token for role credentials. No Authorization header is sent.
    public func assumeRoleWithWebIdentity(roleArn: String, sessionName: String, token: String,
                                          durationSeconds: Int? = nil) async throws -> AWSCredentials {
        var parameters = ["RoleArn": roleArn, "RoleSessionName": sessionName, "WebIdentityToken": token]
        if let durationSeconds { parameters["DurationSeconds"] = String(durationSeconds) }
        let result = try await client.call(.sts, action: "AssumeRoleWithWebIdentity", parameters: parameters, signing: .unsigned)
        return try Self.credentials(in: result, action: "AssumeRoleWithWebIdentity", source: "web identity (role \(roleArn))")
    }

    /// Reads `<Credentials>` of an AssumeRole* result.
    static func credentials(in result: XMLNode, action: String, source: String) throws -> AWSCredentials {
        guard let node = result.child("Credentials"), let key = node.value("AccessKeyId"), !key.isEmpty,
              let secret = node.value("SecretAccessKey"), !secret.isEmpty else {
            throw CredentialsError.failed(source: source, problem: "STS \(action) answered without Credentials/AccessKeyId and SecretAccessKey")
        }
        let expiration = node.value("Expiration").flatMap(CredentialDates.parse)
        return AWSCredentials(keys: SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: node.value("SessionToken")),
                              expiration: expiration, source: source)
    }
}
