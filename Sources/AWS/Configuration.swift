import Foundation
import SigV4

/// The AWS services Switchyard calls, with their wire details.
public enum AWSService: String, Sendable, CaseIterable, Hashable {
    case ec2
    case autoScaling = "autoscaling"
    case elasticLoadBalancing = "elasticloadbalancing"
    case cloudWatch = "monitoring"

    /// The service name in the SigV4 credential scope.
    public var signingName: String { rawValue }

    public var apiVersion: String {
        switch self {
        case .ec2: return "2016-11-15"
        case .autoScaling: return "2011-01-01"
        case .elasticLoadBalancing: return "2015-12-01"
        case .cloudWatch: return "2010-08-01"
        }
    }

    /// The suffix of this service's `AWS_ENDPOINT_URL_<SUFFIX>` variable.
    public var endpointEnvSuffix: String {
        switch self {
        case .ec2: return "EC2"
        case .autoScaling: return "AUTO_SCALING"
        case .elasticLoadBalancing: return "ELASTIC_LOAD_BALANCING_V2"
        case .cloudWatch: return "CLOUDWATCH"
        }
    }

    /// EC2 speaks its own dialect of the query protocol.
    var isEC2Protocol: Bool { self == .ec2 }
}

/// Why AWS settings could not be resolved. Never carries a secret.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case noCredentials(profile: String, looked: [String])
    case noRegion
    case profileNotFound(name: String, files: [String])
    case malformedFile(path: String, line: Int, problem: String)
    case invalidEndpoint(variable: String, value: String)

    public var description: String {
        switch self {
        case .noCredentials(let profile, let looked):
            return "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give profile \"\(profile)\" aws_access_key_id and aws_secret_access_key (looked in \(looked.joined(separator: ", ")))"
        case .noRegion:
            return "no AWS region: set `region` in the deployment file, AWS_REGION, or a region in the profile"
        case .profileNotFound(let name, let files):
            return "AWS profile \"\(name)\" is not in \(files.joined(separator: " or "))"
        case .malformedFile(let path, let line, let problem):
            return "\(path), line \(line): \(problem)"
        case .invalidEndpoint(let variable, let value):
            return "\(variable) must be an http:// or https:// URL with a host (got \"\(value)\")"
        }
    }
}

/// Region, credentials and endpoints, resolved the way the AWS SDKs do.
public struct AWSConfiguration: Sendable {
    public var region: String
    public var credentials: SigV4Credentials
    public var endpoints: [AWSService: URL]
    public var profile: String?

    public init(region: String, credentials: SigV4Credentials, endpoints: [AWSService: URL], profile: String? = nil) {
        self.region = region
        self.credentials = credentials
        self.endpoints = endpoints
        self.profile = profile
    }

    /// The endpoint for a service: an override from the environment, else AWS's own host for the region.
    public func endpoint(for service: AWSService) -> URL {
        if let url = endpoints[service] { return url }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return URL(string: "https://\(service.signingName).\(region).\(suffix)") ?? URL(fileURLWithPath: "/")
    }

    /// Resolves everything from the environment and the shared files. `region` (the deployment file's) wins over the environment.
    public static func resolve(environment env: [String: String], region: String?, homeDirectory: String) throws -> AWSConfiguration {
        let profileName = env["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let credentialsPath = env["AWS_SHARED_CREDENTIALS_FILE"] ?? homeDirectory + "/.aws/credentials"
        let configPath = env["AWS_CONFIG_FILE"] ?? homeDirectory + "/.aws/config"
        let credentialsFile = try SharedFile.load(path: credentialsPath)
        let configFile = try SharedFile.load(path: configPath)
        let fromCredentials = credentialsFile?.sections[profileName]
        let fromConfig = configFile?.sections[profileName == "default" ? "default" : "profile \(profileName)"]
            ?? (profileName == "default" ? nil : configFile?.sections[profileName])
        if env["AWS_PROFILE"] != nil, fromCredentials == nil, fromConfig == nil, env["AWS_ACCESS_KEY_ID"] == nil {
            throw ConfigurationError.profileNotFound(name: profileName, files: [credentialsPath, configPath])
        }

        let credentials: SigV4Credentials
        if let key = env["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty {
            credentials = SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        } else if let found = [fromCredentials, fromConfig].compactMap({ $0 }).lazy.compactMap(Self.credentials(in:)).first {
            credentials = found
        } else {
            throw ConfigurationError.noCredentials(profile: profileName, looked: ["the environment", credentialsPath, configPath])
        }

        let resolvedRegion = [region, env["AWS_REGION"], env["AWS_DEFAULT_REGION"], fromConfig?["region"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        guard let resolvedRegion else { throw ConfigurationError.noRegion }

        var endpoints: [AWSService: URL] = [:]
        for service in AWSService.allCases {
            let specific = "AWS_ENDPOINT_URL_\(service.endpointEnvSuffix)"
            for variable in [specific, "AWS_ENDPOINT_URL"] {
                guard let value = env[variable], !value.isEmpty else { continue }
                guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()),
                      let host = url.host, !host.isEmpty else {
                    throw ConfigurationError.invalidEndpoint(variable: variable, value: value)
                }
                endpoints[service] = url
                break
            }
        }
        return AWSConfiguration(region: resolvedRegion, credentials: credentials, endpoints: endpoints, profile: profileName)
    }

    private static func credentials(in section: [String: String]) -> SigV4Credentials? {
        guard let key = section["aws_access_key_id"], !key.isEmpty,
              let secret = section["aws_secret_access_key"], !secret.isEmpty else { return nil }
        return SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: section["aws_session_token"])
    }
}

/// An AWS shared config or credentials file: INI sections of `key = value`.
struct SharedFile {
    var sections: [String: [String: String]]

    /// Nil when the file does not exist.
    static func load(path: String) throws -> SharedFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    static func parse(_ text: String, path: String) throws -> SharedFile {
        var sections: [String: [String: String]] = [:]
        var current: String?
        var inSubsection = false
        for (index, raw) in text.components(separatedBy: .newlines).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            let indented = raw.first == " " || raw.first == "\t"
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw ConfigurationError.malformedFile(path: path, line: index + 1, problem: "a section header must end with ]")
                }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                inSubsection = false
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            if indented && inSubsection { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError.malformedFile(path: path, line: index + 1, problem: "expected `key = value`")
            }
            guard let section = current else {
                throw ConfigurationError.malformedFile(path: path, line: index + 1, problem: "a setting before any [section]")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            inSubsection = value.isEmpty
            if !inSubsection { sections[section, default: [:]][key] = value }
        }
        return SharedFile(sections: sections)
    }
}
