import Foundation

extension ProfileSources {
    /// A profile's role_arn with its source, as botocore's AssumeRoleProvider builds it: source_profile (whose own
    /// role_arn chains on) or credential_source; external_id, role_session_name, duration_seconds.
    static func assumeRole(_ name: String, _ setting: CredentialSetting, visited: [String]) throws -> any CredentialProvider {
        let profile = try section(name, setting)
        let source = "role_arn of profile \(name)"
        guard let roleArn = profile["role_arn"], !roleArn.isEmpty else {
            throw CredentialsError.failed(source: source, problem: "profile \"\(name)\" has no role_arn")
        }
        if let serial = profile["mfa_serial"], !serial.isEmpty {
            throw CredentialsError.failed(source: source, problem: "profile \"\(name)\" has mfa_serial \(serial): Switchyard never prompts for an "
                + "MFA code; use a profile without mfa_serial, or a credential_process (such as aws-vault) that asks for the code")
        }
        var duration: Int?
        if let text = profile["duration_seconds"] {
            guard let seconds = Int(text), seconds > 0 else {
                throw CredentialsError.failed(source: source, problem: "duration_seconds must be a number of seconds (got \"\(text)\")")
            }
            duration = seconds
        }
        let (provider, description) = try roleSource(name, profile, setting, visited: visited)
        return AssumeRoleCredentials(roleArn: roleArn, sessionName: profile["role_session_name"] ?? defaultSessionName(setting.now()),
                                     externalId: profile["external_id"], durationSeconds: duration,
                                     source: provider, sourceDescription: description, sts: setting.sts)
    }

    private static func roleSource(_ name: String, _ profile: [String: String], _ setting: CredentialSetting,
                                   visited: [String]) throws -> (any CredentialProvider, String) {
        let source = "role_arn of profile \(name)"
        switch (profile["source_profile"], profile["credential_source"]) {
        case (.some, .some):
            throw CredentialsError.failed(source: source, problem: "profile \"\(name)\" has both source_profile and credential_source; keep one")
        case (nil, nil):
            throw CredentialsError.failed(source: source, problem: "profile \"\(name)\" has role_arn but neither source_profile nor credential_source")
        case (nil, .some(let named)):
            switch named {
            case "Environment":
                return (EnvironmentCredentials(environment: setting.environment), "credential_source Environment")
            case "Ec2InstanceMetadata":
                return (InstanceMetadataCredentials(environment: setting.environment, profile: profile, transport: setting.transport),
                        "credential_source Ec2InstanceMetadata")
            case "EcsContainer":
                return (ContainerCredentials(environment: setting.environment, transport: setting.transport, sleep: setting.sleep),
                        "credential_source EcsContainer")
            default:
                throw CredentialsError.failed(source: source, problem: "credential_source \"\(named)\" of profile \"\(name)\" is not one of "
                    + "Environment, Ec2InstanceMetadata, EcsContainer")
            }
        case (.some(let sourceName), nil):
            guard let sourceProfile = setting.profiles.profile(sourceName) else {
                throw CredentialsError.failed(source: source, problem: "source_profile \"\(sourceName)\" of profile \"\(name)\" is not in \(setting.profiles.files)")
            }
            let hasKeys = sourceProfile["aws_access_key_id"] != nil || sourceProfile["aws_secret_access_key"] != nil
            if visited.contains(sourceName) && !(sourceName == name && hasKeys) {
                throw CredentialsError.failed(source: source, problem: "source_profile loop: \((visited + [sourceName]).joined(separator: " → "))")
            }
            let description = "source_profile \(sourceName)"
            // As botocore: a source profile with keys, or without a role of its own, gives credentials through its
            // profile sources; one with a role (and no keys) assumes that role first.
            if hasKeys || sourceProfile["role_arn"] == nil || sourceProfile["web_identity_token_file"] != nil {
                return (CredentialChain(links(sourceName, setting, useEnvironment: false)), description)
            }
            return (try assumeRole(sourceName, setting, visited: visited + [sourceName]), description)
        }
    }
}
