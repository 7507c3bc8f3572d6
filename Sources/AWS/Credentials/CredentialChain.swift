import Foundation
import SigV4

/// Everything the standard chain's sources read: the environment, the shared files, and their ways out.
public struct CredentialSetting: Sendable {
    public var environment: [String: String]
    public var profiles: AWSProfiles
    public var profileName: String
    public var homeDirectory: String
    public var transport: HTTPTransport
    public var sts: STS
    public var now: @Sendable () -> Date
    public var sleep: @Sendable (TimeInterval) async throws -> Void

    public init(environment: [String: String], profiles: AWSProfiles, profileName: String, homeDirectory: String, transport: HTTPTransport,
                sts: STS, now: @escaping @Sendable () -> Date = Date.init,
                sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000)) }) {
        self.environment = environment
        self.profiles = profiles
        self.profileName = profileName
        self.homeDirectory = homeDirectory
        self.transport = transport
        self.sts = sts
        self.now = now
        self.sleep = sleep
    }
}

/// Sources tried in order: the first that is set up gives the credentials, or its failure. When none is set up, one
/// error names each source and why it did not apply.
public struct CredentialChain: CredentialProvider {
    /// One source: its name for people, and how to make it (making it may already say it does not apply).
    public struct Link: Sendable {
        public var source: String
        public var make: @Sendable () throws -> any CredentialProvider

        public init(_ source: String, _ make: @escaping @Sendable () throws -> any CredentialProvider) {
            self.source = source
            self.make = make
        }
    }

    public let links: [Link]

    public init(_ links: [Link]) {
        self.links = links
    }

    public func credentials() async throws -> AWSCredentials {
        var tried: [(source: String, why: String)] = []
        for link in links {
            do {
                return try await link.make().credentials()
            } catch CredentialsError.notApplicable(let why) {
                tried.append((link.source, why))
            }
        }
        throw CredentialsError.noneFound(tried: tried)
    }

    /// The AWS SDKs' chain, in botocore's order (`create_credential_resolver` and `ProfileProviderBuilder.providers` in
    /// botocore/credentials.py): environment keys; the profile's role_arn with source_profile or credential_source;
    /// web identity (environment, then profile); SSO; keys in the credentials file; credential_process; keys in the
    /// config file; container credentials; EC2 instance metadata. (aws-sdk-go-v2's resolve_credentials.go puts web
    /// identity from the environment before the profile; botocore, the AWS CLI's, is the one followed.)
    public static func standard(_ setting: CredentialSetting) -> CredentialChain {
        let name = setting.profileName
        let environment = Link(EnvironmentCredentials.sourceName) { EnvironmentCredentials(environment: setting.environment) }
        let role = Link("role_arn of profile \(name)") {
            let profile = try ProfileSources.section(name, setting)
            guard profile["role_arn"] != nil, profile["web_identity_token_file"] == nil else {
                throw CredentialsError.notApplicable(why: "profile \"\(name)\" has no role_arn")
            }
            return try ProfileSources.assumeRole(name, setting, visited: [name])
        }
        let container = Link(ContainerCredentials.sourceName) {
            ContainerCredentials(environment: setting.environment, transport: setting.transport, sleep: setting.sleep)
        }
        let metadata = Link(InstanceMetadataCredentials.sourceName) {
            InstanceMetadataCredentials(environment: setting.environment, profile: setting.profiles.profile(name) ?? [:], transport: setting.transport)
        }
        return CredentialChain([environment, role] + ProfileSources.links(name, setting, useEnvironment: true) + [container, metadata])
    }
}

/// The sources a profile can name, and role_arn's source credentials.
enum ProfileSources {
    static func section(_ name: String, _ setting: CredentialSetting) throws -> [String: String] {
        guard let section = setting.profiles.profile(name) else {
            throw CredentialsError.notApplicable(why: "no profile \"\(name)\" in \(setting.profiles.files)")
        }
        return section
    }

    /// botocore's profile providers: web identity, SSO, credentials-file keys, credential_process, config-file keys.
    /// `useEnvironment` is false for a source_profile, whose web identity comes from the profile only.
    static func links(_ name: String, _ setting: CredentialSetting, useEnvironment: Bool) -> [CredentialChain.Link] {
        let env = useEnvironment ? setting.environment : [:]
        let webIdentity = CredentialChain.Link(useEnvironment ? "web identity" : "web identity of profile \(name)") {
            let profile = setting.profiles.profile(name) ?? [:]
            func value(_ variable: String, _ key: String) -> String? { (env[variable] ?? profile[key]).flatMap { $0.isEmpty ? nil : $0 } }
            guard let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file") else {
                throw CredentialsError.notApplicable(why: useEnvironment
                    ? "AWS_WEB_IDENTITY_TOKEN_FILE is not set and profile \"\(name)\" has no web_identity_token_file"
                    : "profile \"\(name)\" has no web_identity_token_file")
            }
            guard let roleArn = value("AWS_ROLE_ARN", "role_arn") else {
                throw CredentialsError.failed(source: "web identity", problem: "the token file \(tokenFile) is set but no role: set AWS_ROLE_ARN or role_arn in profile \"\(name)\"")
            }
            return WebIdentityCredentials(tokenFile: tokenFile, roleArn: roleArn,
                                          sessionName: value("AWS_ROLE_SESSION_NAME", "role_session_name") ?? defaultSessionName(setting.now()),
                                          sts: setting.sts)
        }
        let ssoLink = CredentialChain.Link("SSO of profile \(name)") { try sso(name, setting) }
        let credentialsFile = CredentialChain.Link("keys in \(setting.profiles.credentialsPath)") {
            try keys(setting.profiles.inCredentialsFile(name), name: name, file: setting.profiles.credentialsPath)
        }
        let process = CredentialChain.Link("credential_process of profile \(name)") {
            guard let command = setting.profiles.profile(name)?["credential_process"], !command.isEmpty else {
                throw CredentialsError.notApplicable(why: "profile \"\(name)\" has no credential_process")
            }
            return ProcessCredentials(profileName: name, commandLine: command, environment: setting.environment)
        }
        let configFile = CredentialChain.Link("keys in \(setting.profiles.configPath)") {
            try keys(setting.profiles.inConfigFile(name), name: name, file: setting.profiles.configPath)
        }
        return [webIdentity, ssoLink, credentialsFile, process, configFile]
    }

    static func keys(_ section: [String: String]?, name: String, file: String) throws -> any CredentialProvider {
        guard let section else { throw CredentialsError.notApplicable(why: "no profile \"\(name)\" there") }
        guard let key = section["aws_access_key_id"], !key.isEmpty else {
            throw CredentialsError.notApplicable(why: "profile \"\(name)\" has no aws_access_key_id")
        }
        guard let secret = section["aws_secret_access_key"], !secret.isEmpty else {
            throw CredentialsError.failed(source: "profile \(name) in \(file)", problem: "aws_access_key_id is set but aws_secret_access_key is not")
        }
        let token = section["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
        return StaticCredentials(SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token), source: "profile \(name) in \(file)")
    }

    static func sso(_ name: String, _ setting: CredentialSetting) throws -> any CredentialProvider {
        let profile = setting.profiles.profile(name) ?? [:]
        guard profile["sso_account_id"] != nil || profile["sso_role_name"] != nil else {
            throw CredentialsError.notApplicable(why: "profile \"\(name)\" has no sso_account_id or sso_role_name")
        }
        var config = profile
        var required = ["sso_role_name", "sso_account_id", "sso_start_url", "sso_region"]
        let source = "SSO of profile \(name)"
        if let sessionName = profile["sso_session"] {
            guard let session = setting.profiles.ssoSession(sessionName) else {
                throw CredentialsError.failed(source: source, problem: "no [sso-session \(sessionName)] in \(setting.profiles.configPath)")
            }
            for (key, value) in session {
                if let mine = config[key], mine != value {
                    throw CredentialsError.failed(source: source, problem: "\(key) differs between the profile (\(mine)) and sso-session \(sessionName) (\(value))")
                }
                config[key] = value
            }
            required.append("sso_session")
        }
        let missing = required.filter { (config[$0] ?? "").isEmpty }
        guard missing.isEmpty, let role = config["sso_role_name"], let account = config["sso_account_id"],
              let startURL = config["sso_start_url"], let region = config["sso_region"] else {
            throw CredentialsError.failed(source: source, problem: "the profile is set up for SSO but lacks \(missing.joined(separator: ", "))")
        }
        let endpoint: URL?
        do {
            endpoint = try AWSConfiguration.endpointOverride(setting.environment, suffix: "SSO")
        } catch {
            throw CredentialsError.failed(source: source, problem: "\(error)")
        }
        return SSOCredentials(profileName: name, startURL: startURL, sessionName: profile["sso_session"], ssoRegion: region, accountId: account,
                              roleName: role, cacheDirectory: setting.homeDirectory + "/.aws/sso/cache", endpoint: endpoint,
                              transport: setting.transport, now: setting.now)
    }
}
