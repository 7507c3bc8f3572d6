import Foundation

/// The shared config and credentials files, read once, with botocore's view of a profile.
public struct AWSProfiles: Sendable {
    public var configPath: String
    public var credentialsPath: String
    var config: SharedFile?
    var credentials: SharedFile?

    init(configPath: String, credentialsPath: String, config: SharedFile?, credentials: SharedFile?) {
        self.configPath = configPath
        self.credentialsPath = credentialsPath
        self.config = config
        self.credentials = credentials
    }

    /// Reads both files; a missing file is an empty one, a malformed file is a `ConfigurationError`.
    public static func load(environment env: [String: String], homeDirectory: String) throws -> AWSProfiles {
        let credentialsPath = env["AWS_SHARED_CREDENTIALS_FILE"] ?? homeDirectory + "/.aws/credentials"
        let configPath = env["AWS_CONFIG_FILE"] ?? homeDirectory + "/.aws/config"
        return AWSProfiles(configPath: configPath, credentialsPath: credentialsPath,
                           config: try SharedFile.load(path: configPath), credentials: try SharedFile.load(path: credentialsPath))
    }

    /// The profile's section of the credentials file.
    func inCredentialsFile(_ name: String) -> [String: String]? { credentials?.sections[name] }

    /// The profile's section of the config file: `[default]` or `[profile NAME]` (a bare `[NAME]` as the CLI accepts it).
    func inConfigFile(_ name: String) -> [String: String]? {
        if name == "default" { return config?.sections["default"] }
        return config?.sections["profile \(name)"] ?? config?.sections[name]
    }

    /// Both files merged, the credentials file winning, as botocore's `full_config` does.
    func profile(_ name: String) -> [String: String]? {
        let fromConfig = inConfigFile(name)
        let fromCredentials = inCredentialsFile(name)
        if fromConfig == nil && fromCredentials == nil { return nil }
        return (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, credentialsValue in credentialsValue }
    }

    /// An `[sso-session NAME]` section of the config file.
    func ssoSession(_ name: String) -> [String: String]? { config?.sections["sso-session \(name)"] }

    /// Where profile NAME would be, for messages.
    var files: String { "\(credentialsPath) or \(configPath)" }
}
