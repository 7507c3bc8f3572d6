import Foundation

/// A web identity (OIDC) token file exchanged for role credentials with AssumeRoleWithWebIdentity: GitHub Actions OIDC,
/// EKS IRSA. The file is read again at every fetch, because its issuer rotates it.
public struct WebIdentityCredentials: CredentialProvider {
    public let tokenFile: String
    public let roleArn: String
    public let sessionName: String
    let sts: STS

    public init(tokenFile: String, roleArn: String, sessionName: String, sts: STS) {
        self.tokenFile = tokenFile
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.sts = sts
    }

    public var source: String { "web identity (role \(roleArn))" }

    public func credentials() async throws -> AWSCredentials {
        guard let data = FileManager.default.contents(atPath: tokenFile) else {
            let why = FileManager.default.fileExists(atPath: tokenFile) ? "permission denied" : "no such file"
            throw CredentialsError.failed(source: source, problem: "cannot read the web identity token file \(tokenFile): \(why)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw CredentialsError.failed(source: source, problem: "the web identity token file \(tokenFile) is empty") }
        do {
            var credentials = try await sts.assumeRoleWithWebIdentity(roleArn: roleArn, sessionName: sessionName, token: token)
            credentials.source = source
            return credentials
        } catch let error as AWSError {
            throw CredentialsError.failed(source: source, problem: "\(error)")
        }
    }
}

/// `switchyard-<unix time>`, like botocore's `botocore-session-<unix time>`, when no session name is configured.
func defaultSessionName(_ now: Date) -> String { "switchyard-\(Int(now.timeIntervalSince1970))" }
