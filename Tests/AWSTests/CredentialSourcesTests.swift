@testable import AWS
import Foundation
import SigV4
import Testing

@Suite struct CredentialSourcesTests {
    let home: TestHome
    init() throws { home = try TestHome() }

    func failure(_ body: () async throws -> AWSCredentials) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func webIdentityIsSentUnsignedWithTheTokenReadAgainAtEachFetch() async throws {
        let tokenFile = home.path + "/oidc-token"
        try "OIDCTOKENVALUE-1\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let transport = RoutedTransport { _ in RoutedTransport.ok("sts-AssumeRoleWithWebIdentity.xml") }
        let env = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci", "AWS_ROLE_SESSION_NAME": "gha-42"]
        let chain = try home.chain(env, transport: transport)
        let first = try await chain.credentials()
        try "OIDCTOKENVALUE-2".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        _ = try await chain.credentials()

        #expect(first.keys == SigV4Credentials(accessKeyId: "ASIAWEBKEY", secretAccessKey: "WEBSECRETVALUE", sessionToken: "WEBSESSIONTOKENVALUE"))
        #expect(first.expiration == ISO8601DateFormatter().date(from: "2027-01-15T13:00:00Z"))
        #expect(first.source == "web identity (role arn:aws:iam::123456789012:role/ci)")
        let requests = transport.requests
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.headers.keys.allSatisfy { $0.lowercased() != "authorization" } })
        #expect(requests[0].form["Action"] == "AssumeRoleWithWebIdentity")
        #expect(requests[0].form["RoleSessionName"] == "gha-42")
        #expect(requests[0].form["WebIdentityToken"] == "OIDCTOKENVALUE-1")
        #expect(requests[1].form["WebIdentityToken"] == "OIDCTOKENVALUE-2")
        #expect(requests[0].url.absoluteString == "http://127.0.0.1:4566/")
        #expect(!containsSecret(first.description))
    }

    @Test func aRefusedWebIdentityTokenIsReportedWithoutTheToken() async throws {
        let tokenFile = home.path + "/oidc-token"
        try "OIDCTOKENVALUE".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let body = String(decoding: Fixture.data("credentials/sts-error-AccessDenied.xml"), as: UTF8.self)
            .replacingOccurrences(of: "AccessDenied", with: "InvalidIdentityToken")
        let transport = RoutedTransport { _ in HTTPResponse(status: 400, body: Data(body.utf8)) }
        let env = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci"]
        let text = await failure { try await home.chain(env, transport: transport).credentials() }
        #expect(text?.hasPrefix("web identity (role arn:aws:iam::123456789012:role/ci): sts AssumeRoleWithWebIdentity failed with InvalidIdentityToken (HTTP 400") == true)
        #expect(text.map(containsSecret) == false)
        #expect(transport.requests.first?.form["RoleSessionName"] == "switchyard-1800000000")
    }

    @Test func profileRoleIsAssumedWithTheSourceProfileKeysAndItsSettings() async throws {
        try home.write(".aws/config", """
            [profile deploy]
            role_arn = arn:aws:iam::123456789012:role/deploy
            source_profile = base
            external_id = ext-7
            role_session_name = release
            duration_seconds = 1800
            """)
        try home.write(".aws/credentials", "[base]\naws_access_key_id = BASEKEY\naws_secret_access_key = ENVSECRETVALUE\n")
        let transport = RoutedTransport { _ in RoutedTransport.ok("sts-AssumeRole.xml") }
        let credentials = try await home.chain(["AWS_PROFILE": "deploy"], transport: transport).credentials()

        #expect(credentials.keys.accessKeyId == "ASIAROLEKEY")
        #expect(credentials.source == "role arn:aws:iam::123456789012:role/deploy assumed with source_profile base")
        let request = try #require(transport.requests.first)
        #expect(request.form == ["Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::123456789012:role/deploy",
                                 "RoleSessionName": "release", "ExternalId": "ext-7", "DurationSeconds": "1800"])
        #expect(request.headers["Authorization"]?.contains("Credential=BASEKEY/20270115/eu-west-1/sts/aws4_request") == true)
    }

    @Test func chainedRolesSignEachAssumeRoleWithTheKeysBeforeIt() async throws {
        try home.write(".aws/config", """
            [profile app]
            role_arn = arn:aws:iam::222222222222:role/app
            source_profile = hub
            [profile hub]
            role_arn = arn:aws:iam::111111111111:role/hub
            credential_source = Environment
            """)
        let transport = RoutedTransport { _ in RoutedTransport.ok("sts-AssumeRole.xml") }
        let env = ["AWS_PROFILE": "app", "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "ENVSECRETVALUE"]
        let provider = try ProfileSources.assumeRole("app", try home.setting(env, transport: transport), visited: ["app"])
        _ = try await provider.credentials()
        let requests = transport.requests
        #expect(requests.map { $0.form["RoleArn"] } == ["arn:aws:iam::111111111111:role/hub", "arn:aws:iam::222222222222:role/app"])
        #expect(requests[0].headers["Authorization"]?.contains("Credential=ENVKEY/") == true)
        #expect(requests[0].headers["X-Amz-Security-Token"] == nil)
        #expect(requests[1].headers["Authorization"]?.contains("Credential=ASIAROLEKEY/") == true)
        #expect(requests[1].headers["X-Amz-Security-Token"] == "ROLESESSIONTOKENVALUE")
    }

    @Test func aRoleThatFailsStopsTheChainWithSTSsAnswer() async throws {
        try home.write(".aws/config", "[default]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = default\n")
        try home.write(".aws/credentials", "[default]\naws_access_key_id = BASEKEY\naws_secret_access_key = ENVSECRETVALUE\n")
        let transport = RoutedTransport { _ in HTTPResponse(status: 403, body: Fixture.data("credentials/sts-error-AccessDenied.xml")) }
        let text = await failure { try await home.chain([:], transport: transport).credentials() }
        #expect(text?.contains("sts AssumeRole failed with AccessDenied (HTTP 403") == true)
        #expect(text?.hasPrefix("role arn:aws:iam::123456789012:role/deploy assumed with source_profile default") == true)
        #expect(transport.requests.count == 1)
    }

    @Test func mfaSerialLoopsAndBadSourcesAreRefusedBeforeAnyRequest() async throws {
        try home.write(".aws/config", """
            [profile mfa]
            role_arn = arn:aws:iam::1:role/r
            source_profile = base
            mfa_serial = arn:aws:iam::1:mfa/me
            [profile loop-a]
            role_arn = arn:aws:iam::1:role/a
            source_profile = loop-b
            [profile loop-b]
            role_arn = arn:aws:iam::1:role/b
            source_profile = loop-a
            [profile weird]
            role_arn = arn:aws:iam::1:role/w
            credential_source = Keychain
            [profile base]
            aws_access_key_id = K
            aws_secret_access_key = S
            """)
        let transport = RoutedTransport { _ in RoutedTransport.ok("sts-AssumeRole.xml") }
        let mfa = await failure { try await home.chain(["AWS_PROFILE": "mfa"], transport: transport).credentials() }
        #expect(mfa?.contains("mfa_serial arn:aws:iam::1:mfa/me: Switchyard never prompts for an MFA code") == true)
        let loop = await failure { try await home.chain(["AWS_PROFILE": "loop-a"], transport: transport).credentials() }
        #expect(loop?.contains("source_profile loop: loop-a → loop-b → loop-a") == true)
        let weird = await failure { try await home.chain(["AWS_PROFILE": "weird"], transport: transport).credentials() }
        #expect(weird?.contains("credential_source \"Keychain\" of profile \"weird\" is not one of Environment, Ec2InstanceMetadata, EcsContainer") == true)
        #expect(transport.requests.isEmpty)
    }

    @Test func ssoSessionProfileUsesTheCachedTokenNamedBySHA1OfTheSessionName() async throws {
        try home.write(".aws/config", """
            [profile dev]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = Deployer
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = eu-central-1
            """)
        try home.write(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
                       #"{"accessToken": "SSOBEARERVALUE", "expiresAt": "2027-01-15T12:00:00Z", "region": "eu-central-1"}"#)
        let transport = RoutedTransport { _ in RoutedTransport.ok("sso-GetRoleCredentials.json") }
        let env = ["AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": "http://127.0.0.1:9911"]
        let credentials = try await home.chain(env, transport: transport).credentials()
        #expect(credentials.keys == SigV4Credentials(accessKeyId: "ASIASSOKEY", secretAccessKey: "SSOSECRETVALUE", sessionToken: "SSOSESSIONTOKENVALUE"))
        #expect(credentials.expiration == Date(timeIntervalSince1970: 1_800_003_600))
        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        let components = try #require(URLComponents(url: request.url, resolvingAgainstBaseURL: false))
        #expect(components.host == "127.0.0.1" && components.port == 9911 && components.path == "/federation/credentials")
        #expect(Set(components.queryItems ?? []) == [URLQueryItem(name: "account_id", value: "123456789012"), URLQueryItem(name: "role_name", value: "Deployer")])
        #expect(request.headers["x-amz-sso_bearer_token"] == "SSOBEARERVALUE")
        #expect(request.headers["Authorization"] == nil)
    }

    @Test func legacySSOProfileUsesSHA1OfTheStartURLAndTheRegionalPortal() async throws {
        try home.write(".aws/config", """
            [default]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = us-east-2
            sso_account_id = 123456789012
            sso_role_name = Deployer
            """)
        try home.write(".aws/sso/cache/a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json",
                       #"{"accessToken": "SSOBEARERVALUE", "expiresAt": "2027-01-15T12:00:00UTC"}"#)
        let transport = RoutedTransport { _ in RoutedTransport.ok("sso-GetRoleCredentials.json") }
        _ = try await home.chain([:], transport: transport).credentials()
        #expect(transport.requests.first?.url.host == "portal.sso.us-east-2.amazonaws.com")
    }

    @Test func anExpiredOrRefusedSSOTokenSaysToLogIn() async throws {
        try home.write(".aws/config", """
            [profile dev]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = Deployer
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = eu-central-1
            """)
        let cache = ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
        let refused = RoutedTransport { _ in HTTPResponse(status: 401, body: Fixture.data("credentials/sso-error-Unauthorized.json")) }
        let missing = await failure { try await home.chain(["AWS_PROFILE": "dev"], transport: refused).credentials() }
        #expect(missing?.contains("no cached SSO token") == true && missing?.contains("run `aws sso login --profile dev`") == true)

        try home.write(cache, #"{"accessToken": "SSOBEARERVALUE", "expiresAt": "2027-01-15T12:00:00Z"}"#)
        let rejected = await failure { try await home.chain(["AWS_PROFILE": "dev"], transport: refused).credentials() }
        #expect(rejected?.contains("refused the cached token (HTTP 401); run `aws sso login --profile dev`") == true)

        try home.write(cache, #"{"accessToken": "SSOBEARERVALUE", "expiresAt": "2020-01-01T00:00:00Z"}"#)
        let expired = await failure { try await home.chain(["AWS_PROFILE": "dev"], transport: refused).credentials() }
        #expect(expired?.contains("the SSO session expired at 2020-01-01T00:00:00Z; run `aws sso login --profile dev`") == true)
        #expect(refused.requests.count == 1)
        #expect(![missing, rejected, expired].contains { containsSecret($0 ?? "") })
    }

    func script(_ name: String, _ body: String) throws -> String {
        let path = home.path + "/" + name
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    @Test func credentialProcessRunsWithoutAShellAndReadsVersion1JSON() async throws {
        try FileManager.default.copyItem(at: try #require(Bundle.module.url(forResource: "process-v1", withExtension: "json", subdirectory: "Fixtures/credentials")),
                                         to: URL(fileURLWithPath: home.path + "/creds.json"))
        let tool = try script("print creds", #"[ "$2" = "a b" ] || exit 9; cat "$1""#)
        try home.write(".aws/config", "[default]\ncredential_process = \"\(tool)\" \(home.path)/creds.json 'a b'\n")
        let credentials = try await home.chain(["PATH": "/usr/bin:/bin"], transport: NoNetwork()).credentials()
        #expect(credentials.keys == SigV4Credentials(accessKeyId: "ASIAPROCESSKEY", secretAccessKey: "PROCESSSECRETVALUE", sessionToken: "PROCESSTOKENVALUE"))
        #expect(credentials.expiration == ISO8601DateFormatter().date(from: "2027-01-15T15:00:00Z"))
        #expect(credentials.source == "credential_process of profile default")
    }

    @Test func credentialProcessFailuresShowStderrButNeverStdout() async throws {
        let failing = try script("failing", "echo 'vault: permission denied' >&2; exit 3")
        let v2 = try script("v2", #"echo '{"Version": 2, "AccessKeyId": "K", "SecretAccessKey": "PROCESSSECRETVALUE"}'"#)
        let garbage = try script("garbage", "echo 'PROCESSSECRETVALUE is not json'")
        func run(_ command: String) async -> String? {
            let profile = ProcessCredentials(profileName: "vault", commandLine: command, environment: ["PATH": "/usr/bin:/bin"])
            return await failure { try await profile.credentials() }
        }
        #expect(await run(failing) == "credential_process of profile vault: \(failing) exited with status 3: vault: permission denied")
        #expect(await run(v2)?.contains("unsupported Version 2") == true)
        let notJSON = await run(garbage)
        #expect(notJSON?.contains("not a JSON object") == true && !containsSecret(notJSON ?? ""))
        #expect(await run("no-such-tool-here --x")?.contains("no-such-tool-here is not an executable file in PATH") == true)
        #expect(await run("'unclosed")?.contains("unclosed quote") == true)
    }

    @Test func commandLinesSplitLikePythonShlex() throws {
        #expect(try ShellWords.split(#"aws-vault  exec 'my profile' --json "a \"q\" \$x" b\ c"#)
            == ["aws-vault", "exec", "my profile", "--json", #"a "q" \$x"#, "b c"])
        #expect(try ShellWords.split("''") == [""])
        #expect(throws: ShellWords.Unbalanced.self) { try ShellWords.split(#"echo "open"#) }
    }
}
