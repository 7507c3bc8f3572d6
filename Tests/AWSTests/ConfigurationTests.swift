@testable import AWS
import Foundation
import SigV4
import Testing

@Suite struct ConfigurationTests {
    let home: String

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-home-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
    }

    func resolve(environment: [String: String], region: String?) throws -> AWSConfiguration {
        try AWSConfiguration.resolve(environment: environment, region: region, homeDirectory: home, transport: NoNetwork())
    }

    func keys(_ configuration: AWSConfiguration) async throws -> SigV4Credentials {
        try await configuration.credentials.credentials().keys
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: home + "/.aws/" + name, atomically: true, encoding: .utf8)
    }

    @Test func environmentCredentialsWinAndTheFileRegionWinsOverEnvironment() async throws {
        try write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
        let env = ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-west-1"]
        let config = try resolve(environment: env, region: "us-east-2")
        #expect(try await keys(config).accessKeyId == "ENVKEY")
        #expect(try await keys(config).sessionToken == "tok")
        #expect(config.region == "us-east-2")
    }

    @Test func regionFallsBackThroughAWSRegionDefaultRegionAndProfile() throws {
        try write("config", "[default]\nregion = ap-south-1\n")
        let env = ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"]
        #expect(try resolve(environment: env.merging(["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"]) { a, _ in a }, region: nil).region == "eu-west-1")
        #expect(try resolve(environment: env.merging(["AWS_DEFAULT_REGION": "eu-west-2"]) { a, _ in a }, region: nil).region == "eu-west-2")
        #expect(try resolve(environment: env, region: nil).region == "ap-south-1")
    }

    @Test func namedProfileFromCredentialsAndConfigFiles() async throws {
        try write("credentials", """
            # team accounts
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = d

            [prod]
            aws_access_key_id=PRODKEY
            aws_secret_access_key=p
            aws_session_token = ptoken
            """)
        try write("config", "[profile prod]\nregion = eu-central-1\ns3 =\n  max_concurrent_requests = 10\n")
        let config = try resolve(environment: ["AWS_PROFILE": "prod"], region: nil)
        #expect(try await keys(config) == .init(accessKeyId: "PRODKEY", secretAccessKey: "p", sessionToken: "ptoken"))
        #expect(config.region == "eu-central-1")
        #expect(config.profile == "prod")
    }

    @Test func credentialsInTheConfigFileAndCustomPaths() async throws {
        let custom = home + "/elsewhere.ini"
        try "[profile ci]\naws_access_key_id = CIKEY\naws_secret_access_key = c\nregion = us-west-2\n".write(toFile: custom, atomically: true, encoding: .utf8)
        let env = ["AWS_PROFILE": "ci", "AWS_CONFIG_FILE": custom, "AWS_SHARED_CREDENTIALS_FILE": home + "/none"]
        let config = try resolve(environment: env, region: nil)
        #expect(try await keys(config).accessKeyId == "CIKEY")
        #expect(config.region == "us-west-2")
    }

    @Test func missingThingsAreNamedWithoutSecrets() async throws {
        // Credentials are looked for at the first call now; what the chain says is in CredentialChainTests.
        let unset = try resolve(environment: [:], region: "us-east-1")
        await #expect(throws: CredentialsError.self) { try await keys(unset) }
        #expect(throws: ConfigurationError.noRegion) {
            try resolve(environment: ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"], region: nil)
        }
        #expect(throws: ConfigurationError.profileNotFound(name: "nope", files: [home + "/.aws/credentials", home + "/.aws/config"])) {
            try resolve(environment: ["AWS_PROFILE": "nope"], region: "us-east-1")
        }
        try write("credentials", "[default]\naws_access_key_id = K\nnot a setting\n")
        #expect(throws: ConfigurationError.malformedFile(path: home + "/.aws/credentials", line: 3, problem: "expected `key = value`")) {
            try resolve(environment: [:], region: "us-east-1")
        }
    }

    @Test func endpointOverridesPerServiceWinOverTheGlobalOne() throws {
        let env = ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
                   "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": "http://127.0.0.1:6000"]
        let config = try resolve(environment: env, region: "us-east-1")
        #expect(config.endpoint(for: .ec2).absoluteString == "http://127.0.0.1:5000")
        #expect(config.endpoint(for: .elasticLoadBalancing).absoluteString == "http://127.0.0.1:6000")
        let plain = try resolve(environment: ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"], region: "eu-west-1")
        #expect(plain.endpoint(for: .elasticLoadBalancing).absoluteString == "https://elasticloadbalancing.eu-west-1.amazonaws.com")
        #expect(plain.endpoint(for: .cloudWatch).absoluteString == "https://monitoring.eu-west-1.amazonaws.com")
        #expect(throws: ConfigurationError.invalidEndpoint(variable: "AWS_ENDPOINT_URL", value: "localhost:5000")) {
            try resolve(environment: ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": "localhost:5000"], region: "us-east-1")
        }
    }

    @Test func errorMessagesNeverContainSecrets() throws {
        try write("credentials", "[default]\naws_access_key_id = K\naws_secret_access_key = TOPSECRETVALUE\n[broken\n")
        do {
            _ = try resolve(environment: ["AWS_SESSION_TOKEN": "TOKENVALUE"], region: nil)
            Issue.record("a broken file was accepted")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("line 4"))
            #expect(!text.contains("TOPSECRETVALUE") && !text.contains("TOKENVALUE"))
        }
    }
}
