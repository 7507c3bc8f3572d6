@testable import AWS
import Foundation
import SigV4
import Testing

@Suite struct MetadataCredentialsTests {
    func failure(_ body: () async throws -> AWSCredentials) async -> Error? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func containerRelativeURIGoesToTheECSHostWithTheTokenFileReadAtEachFetch() async throws {
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("container-token-\(UUID().uuidString)").path
        try "AUTHTOKENVALUE-1".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let transport = RoutedTransport { _ in RoutedTransport.ok("container.json") }
        let provider = ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored-when-file-set",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile], transport: transport)
        let first = try await provider.credentials()
        try "AUTHTOKENVALUE-2".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        _ = try await provider.credentials()
        #expect(first.keys == SigV4Credentials(accessKeyId: "ASIACONTAINERKEY", secretAccessKey: "CONTAINERSECRETVALUE", sessionToken: "CONTAINERTOKENVALUE"))
        #expect(first.expiration == ISO8601DateFormatter().date(from: "2027-01-15T14:00:00Z"))
        #expect(transport.requests.map(\.url.absoluteString) == ["http://169.254.170.2/v2/credentials/abc", "http://169.254.170.2/v2/credentials/abc"])
        #expect(transport.requests.map { $0.headers["Authorization"] } == ["AUTHTOKENVALUE-1", "AUTHTOKENVALUE-2"])
        #expect(!containsSecret(first.description))
        #expect(first.source == "container credentials (http://169.254.170.2 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI))")
    }

    @Test(arguments: [
        ("http://10.0.0.1/creds", false), ("http://example.com/creds", false), ("http://169.254.169.254/creds", false),
        ("http://127.0.0.1:8080/creds", true), ("http://127.1.2.3/creds", true), ("http://localhost:9/creds", true),
        ("http://169.254.170.2/creds", true), ("http://169.254.170.23/v1/credentials", true), ("http://[fd00:ec2::23]/v1/credentials", true),
        ("http://[::1]:80/creds", true), ("https://creds.example.com/x", true),
    ])
    func containerFullURIHostRules(url: String, allowed: Bool) throws {
        let provider = ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url], transport: NoNetwork())
        if allowed {
            #expect(try provider.endpoint().absoluteString == url)
        } else {
            #expect(throws: CredentialsError.self) { try provider.endpoint() }
        }
    }

    @Test func containerSourceRetriesThreeTimesThenFailsWithoutSecrets() async throws {
        let transport = RoutedTransport { _ in RoutedTransport.text(500, "agent not ready") }
        let provider = ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:51679/creds?secret=AUTHTOKENVALUE",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": "AUTHTOKENVALUE"], transport: transport,
                                            sleep: { _ in })
        let error = try #require(await failure { try await provider.credentials() })
        #expect(transport.requests.count == 3)
        #expect("\(error)" == "container credentials: http://127.0.0.1:51679/creds answered HTTP 500: agent not ready (3 attempts)")
        let bad = ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1/x", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "a\nb"],
                                       transport: transport)
        #expect("\(try #require(await failure { try await bad.credentials() }))".contains("line break"))
    }

    static let endpoint = "http://127.0.0.1:1338"

    /// An IMDS that answers the token PUT with `tokenStatus`, and needs the token when it handed one out.
    static func imds(tokenStatus: Int = 200, role: String = "runner", credentials: String = "imds-credentials.json") -> RoutedTransport {
        RoutedTransport { request in
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"):
                return tokenStatus == 200 ? RoutedTransport.text(200, "IMDSSESSIONVALUE") : RoutedTransport.text(tokenStatus, "")
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                return RoutedTransport.text(200, role)
            case ("GET", "/latest/meta-data/iam/security-credentials/\(role)"):
                return RoutedTransport.ok(credentials)
            default:
                return RoutedTransport.text(404, "")
            }
        }
    }

    @Test func imdsV2AsksForATokenFirstAndSendsItWithEveryRead() async throws {
        let transport = Self.imds()
        let credentials = try await InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": Self.endpoint], transport: transport).credentials()
        #expect(credentials.keys == SigV4Credentials(accessKeyId: "ASIAIMDSKEY", secretAccessKey: "IMDSSECRETVALUE", sessionToken: "IMDSTOKENVALUE"))
        #expect(credentials.expiration == ISO8601DateFormatter().date(from: "2027-01-15T18:07:36Z"))
        #expect(credentials.source == "EC2 instance metadata (role runner)")
        let requests = transport.requests
        #expect(requests.map { "\($0.method) \($0.url.absoluteString)" } == [
            "PUT http://127.0.0.1:1338/latest/api/token",
            "GET http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/",
            "GET http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/runner"])
        #expect(requests[0].headers == ["x-aws-ec2-metadata-token-ttl-seconds": "21600"])
        #expect(requests.dropFirst().allSatisfy { $0.headers["x-aws-ec2-metadata-token"] == "IMDSSESSIONVALUE" })
    }

    @Test func imdsV1OnlyAfterATokenRefusalAndOnlyWhenAllowed() async throws {
        let v1 = Self.imds(tokenStatus: 403)
        _ = try await InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": Self.endpoint], transport: v1).credentials()
        #expect(v1.requests.count == 3 && v1.requests.dropFirst().allSatisfy { $0.headers["x-aws-ec2-metadata-token"] == nil })

        let forbidden = Self.imds(tokenStatus: 404)
        let env = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": Self.endpoint, "AWS_EC2_METADATA_V1_DISABLED": "true"]
        let error = await failure { try await InstanceMetadataCredentials(environment: env, transport: forbidden).credentials() }
        #expect("\(error.map { "\($0)" } ?? "")".contains("AWS_EC2_METADATA_V1_DISABLED forbids IMDSv1"))
        #expect(forbidden.requests.count == 1)

        let fromProfile = Self.imds(tokenStatus: 405)
        let profileError = await failure {
            try await InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": Self.endpoint],
                                                  profile: ["ec2_metadata_v1_disabled": "true"], transport: fromProfile).credentials()
        }
        #expect(profileError != nil && fromProfile.requests.count == 1)

        let serverError = Self.imds(tokenStatus: 500)
        let notThere = await failure { try await InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": Self.endpoint], transport: serverError).credentials() }
        guard case CredentialsError.notApplicable = try #require(notThere) else { Issue.record("a 500 to the token PUT fell back to IMDSv1"); return }
        #expect(serverError.requests.count == 1)
    }

    @Test func imdsDisabledOrSilentDoesNotApplyAndAnErrorAnswerFails() async throws {
        let disabled = Self.imds()
        let off = await failure { try await InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_DISABLED": "TRUE"], transport: disabled).credentials() }
        guard case CredentialsError.notApplicable(let why) = try #require(off) else { Issue.record("disabled IMDS applied"); return }
        #expect(why == "AWS_EC2_METADATA_DISABLED is true")
        #expect(disabled.requests.isEmpty)

        let silent = await failure { try await InstanceMetadataCredentials(environment: [:], transport: RoutedTransport { _ in throw TransportError.timedOut(after: 1) }).credentials() }
        guard case CredentialsError.notApplicable(let silence) = try #require(silent) else { Issue.record("a silent IMDS applied"); return }
        #expect(silence == "no answer from http://169.254.169.254 within 1 s")

        let refusing = Self.imds(credentials: "imds-error.json")
        let refused = await failure { try await InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": Self.endpoint], transport: refusing).credentials() }
        #expect("\(refused.map { "\($0)" } ?? "")" == "EC2 instance metadata (role runner): the metadata service answered AssumeRoleUnauthorizedAccess: EC2 cannot assume the role runner.")
    }
}
