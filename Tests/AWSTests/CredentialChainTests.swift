@testable import AWS
import Foundation
import SigV4
import Testing

@Suite struct CredentialChainTests {
    enum Source: CaseIterable { case environment, profileRole, webIdentity, sso, credentialsFile, process, configFile, container, metadata }

    /// A machine where each of `sources` is set up, each giving its own access key id.
    func machine(_ sources: Set<Source>) throws -> (env: [String: String], home: TestHome) {
        let home = try TestHome()
        var env = ["AWS_PROFILE": "p", "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1338",
                   "AWS_ENDPOINT_URL_SSO": "http://127.0.0.1:9911"]
        var config = ["[profile p]"], credentials = ["[p]", "[base]", "aws_access_key_id = BASEKEY", "aws_secret_access_key = ENVSECRETVALUE"]
        if sources.contains(.environment) { env["AWS_ACCESS_KEY_ID"] = "ENVKEY"; env["AWS_SECRET_ACCESS_KEY"] = "ENVSECRETVALUE" }
        if sources.contains(.profileRole) { config += ["role_arn = arn:aws:iam::1:role/deploy", "source_profile = base"] }
        if sources.contains(.webIdentity) {
            try home.write("token", "OIDCTOKENVALUE")
            env["AWS_WEB_IDENTITY_TOKEN_FILE"] = home.path + "/token"
            env["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/ci"
        }
        if sources.contains(.sso) {
            config += ["sso_session = corp", "sso_account_id = 123456789012", "sso_role_name = Deployer"]
            try home.write(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json", #"{"accessToken": "SSOBEARERVALUE", "expiresAt": "2027-01-15T12:00:00Z"}"#)
        }
        if sources.contains(.credentialsFile) { credentials.insert(contentsOf: ["aws_access_key_id = CREDFILEKEY", "aws_secret_access_key = S"], at: 1) }
        if sources.contains(.process) {
            config.append(#"credential_process = /bin/echo '{"Version": 1, "AccessKeyId": "ASIAPROCESSKEY", "SecretAccessKey": "PROCESSSECRETVALUE"}'"#)
        }
        if sources.contains(.configFile) { config += ["aws_access_key_id = CONFIGKEY", "aws_secret_access_key = S"] }
        if sources.contains(.container) { env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:51679/creds" }
        if !sources.contains(.metadata) { env["AWS_EC2_METADATA_DISABLED"] = "true" }
        config += ["[sso-session corp]", "sso_start_url = https://corp.awsapps.com/start", "sso_region = eu-central-1"]
        try home.write(".aws/config", config.joined(separator: "\n") + "\n")
        try home.write(".aws/credentials", credentials.joined(separator: "\n") + "\n")
        return (env, home)
    }

    /// Answers STS, SSO, the container endpoint and IMDS from the fixtures.
    static let everything = RoutedTransport { request in
        switch (request.url.port, request.form["Action"]) {
        case (4566, "AssumeRole"): return RoutedTransport.ok("sts-AssumeRole.xml")
        case (4566, "AssumeRoleWithWebIdentity"): return RoutedTransport.ok("sts-AssumeRoleWithWebIdentity.xml")
        case (9911, _): return RoutedTransport.ok("sso-GetRoleCredentials.json")
        case (51679, _): return RoutedTransport.ok("container.json")
        default:
            switch request.path {
            case "/latest/api/token": return RoutedTransport.text(200, "IMDSSESSIONVALUE")
            case "/latest/meta-data/iam/security-credentials/": return RoutedTransport.text(200, "runner")
            default: return RoutedTransport.ok("imds-credentials.json")
            }
        }
    }

    /// botocore's order (create_credential_resolver): each source beats every one after it.
    @Test func sourcesAreTriedInBotocoresOrder() async throws {
        let expected = ["ENVKEY", "ASIAROLEKEY", "ASIAWEBKEY", "ASIASSOKEY", "CREDFILEKEY", "ASIAPROCESSKEY", "CONFIGKEY", "ASIACONTAINERKEY", "ASIAIMDSKEY"]
        var enabled = Set(Source.allCases)
        for (source, key) in zip(Source.allCases, expected) {
            let (env, home) = try machine(enabled)
            let credentials = try await home.chain(env, transport: Self.everything).credentials()
            #expect(credentials.keys.accessKeyId == key, "with \(source) the first source set up")
            #expect(!containsSecret(credentials.description))
            enabled.remove(source)
        }
    }

    @Test func whenNothingAppliesOneParagraphNamesEverySourceAndWhy() async throws {
        let (env, home) = try machine([.metadata])
        let silent = RoutedTransport { _ in throw TransportError.timedOut(after: 1) }
        do {
            _ = try await home.chain(env, transport: silent).credentials()
            Issue.record("credentials from nowhere")
        } catch let error as CredentialsError {
            guard case .noneFound(let tried) = error else { Issue.record("\(error)"); return }
            #expect(tried.map(\.source) == [
                "environment variables", "role_arn of profile p", "web identity", "SSO of profile p", "keys in \(home.path)/.aws/credentials",
                "credential_process of profile p", "keys in \(home.path)/.aws/config", "container credentials", "EC2 instance metadata"])
            let text = error.description
            #expect(!text.contains("\n"))
            for why in ["AWS_ACCESS_KEY_ID is not set", "profile \"p\" has no role_arn",
                        "AWS_WEB_IDENTITY_TOKEN_FILE is not set and profile \"p\" has no web_identity_token_file",
                        "profile \"p\" has no sso_account_id or sso_role_name", "profile \"p\" has no aws_access_key_id",
                        "profile \"p\" has no credential_process",
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set",
                        "no answer from http://127.0.0.1:1338 within 1 s"] {
                #expect(text.contains(why), "\(why)")
            }
        }
    }

    @Test func aMissingDefaultProfileIsNamedWithItsFiles() async throws {
        let home = try TestHome()
        let error = await #expect(throws: CredentialsError.self) {
            try await home.chain(["AWS_EC2_METADATA_DISABLED": "true"], transport: NoNetwork()).credentials()
        }
        #expect(error?.description.contains("no profile \"default\" in \(home.path)/.aws/credentials or \(home.path)/.aws/config") == true)
        #expect(error?.description.contains("EC2 instance metadata: AWS_EC2_METADATA_DISABLED is true") == true)
    }

    @Test func aSourceThatAppliesButFailsDoesNotFallThrough() async throws {
        var (env, home) = try machine([.webIdentity, .credentialsFile])
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = home.path + "/missing-token"
        let error = await #expect(throws: CredentialsError.self) { try await home.chain(env, transport: Self.everything).credentials() }
        #expect(error?.description == "web identity (role arn:aws:iam::1:role/ci): cannot read the web identity token file \(home.path)/missing-token: no such file")
    }

    @Test func resolveReadsTheFilesNowAndTheCredentialsAtTheFirstCall() async throws {
        let (env, home) = try machine([.credentialsFile])
        let configuration = try AWSConfiguration.resolve(environment: env.merging(["AWS_REGION": "eu-west-3"]) { a, _ in a }, region: nil,
                                                         homeDirectory: home.path, transport: NoNetwork())
        #expect(configuration.region == "eu-west-3")
        #expect(configuration.credentials is RefreshingCredentials)
        #expect(try await configuration.credentials.credentials().keys.accessKeyId == "CREDFILEKEY")
        #expect(configuration.endpoint(for: .sts).absoluteString == "https://sts.eu-west-3.amazonaws.com")
        let overridden = try AWSConfiguration.resolve(environment: ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:7000", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"],
                                                      region: "us-east-1", homeDirectory: home.path, transport: NoNetwork())
        #expect(overridden.endpoint(for: .sts).absoluteString == "http://127.0.0.1:7000")
        #expect(overridden.endpoint(for: .ec2).absoluteString == "http://127.0.0.1:5000")
    }
}
