import Foundation

/// A profile's `role_arn`, assumed with the credentials of its `source_profile` or `credential_source`.
public struct AssumeRoleCredentials: CredentialProvider {
    public let roleArn: String
    public let sessionName: String
    public let externalId: String?
    public let durationSeconds: Int?
    /// Where the keys that sign AssumeRole come from; asked again at every fetch, so a refreshing source stays fresh.
    let sourceCredentials: any CredentialProvider
    let sourceDescription: String
    let sts: STS

    public init(roleArn: String, sessionName: String, externalId: String? = nil, durationSeconds: Int? = nil,
                source: any CredentialProvider, sourceDescription: String, sts: STS) {
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.externalId = externalId
        self.durationSeconds = durationSeconds
        self.sourceCredentials = source
        self.sourceDescription = sourceDescription
        self.sts = sts
    }

    public var source: String { "role \(roleArn) assumed with \(sourceDescription)" }

    public func credentials() async throws -> AWSCredentials {
        let keys: AWSCredentials
        do {
            keys = try await sourceCredentials.credentials()
        } catch CredentialsError.notApplicable(let why) {
            // The profile asked for this source, so its absence is a failure, not a reason to try the next one.
            throw CredentialsError.failed(source: source, problem: "\(sourceDescription) has no credentials: \(why)")
        } catch CredentialsError.noneFound(let tried) {
            let list = tried.map { "\($0.source): \($0.why)" }.joined(separator: "; ")
            throw CredentialsError.failed(source: source, problem: "\(sourceDescription) has no credentials (\(list))")
        }
        do {
            var credentials = try await sts.assumeRole(roleArn: roleArn, sessionName: sessionName, externalId: externalId,
                                                       durationSeconds: durationSeconds, signedWith: keys.keys)
            credentials.source = source
            return credentials
        } catch let error as AWSError {
            throw CredentialsError.failed(source: source, problem: "\(error)")
        }
    }
}
