import Foundation
import Logging
import SigV4

/// The AWS services Switchyard calls, with their wire details.
public enum AWSService: String, Sendable, CaseIterable, Hashable {
    case ec2
    case autoScaling = "autoscaling"
    case elasticLoadBalancing = "elasticloadbalancing"
    /// Classic Load Balancers: the same endpoint and signing name as v2, its own API version (2012-06-01).
    case classicLoadBalancing = "elb"
    case cloudWatch = "monitoring"
    case sts
    /// Global: one endpoint, signed for us-east-1 whatever the deployment's region.
    case route53
    /// JSON 1.0 protocol (`X-Amz-Target`), not query: see DynamoDB.swift.
    case dynamoDB = "dynamodb"

    /// The service name in the SigV4 credential scope.
    public var signingName: String { self == .classicLoadBalancing ? Self.elasticLoadBalancing.rawValue : rawValue }

    public var apiVersion: String {
        switch self {
        case .ec2: return "2016-11-15"
        case .autoScaling: return "2011-01-01"
        case .elasticLoadBalancing: return "2015-12-01"
        case .classicLoadBalancing: return "2012-06-01"
        case .cloudWatch: return "2010-08-01"
        case .sts: return "2011-06-15"
        case .route53: return "2013-04-01"
        case .dynamoDB: return "2012-08-10"
        }
    }

    /// The suffix of this service's `AWS_ENDPOINT_URL_<SUFFIX>` variable.
    public var endpointEnvSuffix: String {
        switch self {
        case .ec2: return "EC2"
        case .autoScaling: return "AUTO_SCALING"
        case .elasticLoadBalancing: return "ELASTIC_LOAD_BALANCING_V2"
        // botocore's service id "Elastic Load Balancing".
        case .classicLoadBalancing: return "ELASTIC_LOAD_BALANCING"
        case .cloudWatch: return "CLOUDWATCH"
        case .sts: return "STS"
        // botocore's service id "Route 53", upper-cased with the space as `_`.
        case .route53: return "ROUTE_53"
        case .dynamoDB: return "DYNAMODB"
        }
    }

    /// EC2 speaks its own dialect of the query protocol.
    var isEC2Protocol: Bool { self == .ec2 }
}

/// Why AWS settings could not be resolved. Never carries a secret.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case noRegion
    case profileNotFound(name: String, files: [String])
    case malformedFile(path: String, line: Int, problem: String)
    case invalidEndpoint(variable: String, value: String)

    public var description: String {
        switch self {
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
    /// Asked for credentials at every attempt; after `resolve` a `RefreshingCredentials` in front of the standard chain.
    public var credentials: any CredentialProvider
    public var endpoints: [AWSService: URL]
    public var profile: String?

    public init(region: String, credentials: any CredentialProvider, endpoints: [AWSService: URL], profile: String? = nil) {
        self.region = region
        self.credentials = credentials
        self.endpoints = endpoints
        self.profile = profile
    }

    /// Fixed keys, for tests and tools that already hold them.
    public init(region: String, credentials: SigV4Credentials, endpoints: [AWSService: URL], profile: String? = nil) {
        self.init(region: region, credentials: StaticCredentials(credentials), endpoints: endpoints, profile: profile)
    }

    /// The endpoint for a service: an override from the environment, else AWS's own host for the region (for a
    /// global service, the partition's one host).
    public func endpoint(for service: AWSService) -> URL {
        if let url = endpoints[service] { return url }
        if service == .route53 {
            if region.hasPrefix("cn-") { return URL(string: "https://route53.amazonaws.com.cn") ?? URL(fileURLWithPath: "/") }
            if region.hasPrefix("us-gov-") { return URL(string: "https://route53.us-gov.amazonaws.com") ?? URL(fileURLWithPath: "/") }
            return URL(string: "https://route53.amazonaws.com") ?? URL(fileURLWithPath: "/")
        }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return URL(string: "https://\(service.signingName).\(region).\(suffix)") ?? URL(fileURLWithPath: "/")
    }

    /// Resolves region and endpoints from the environment and the shared files now, and sets up the standard credential
    /// chain, which is first asked at the first AWS call. `region` (the deployment file's) wins over the environment.
    /// `transport` carries the STS, SSO and metadata requests of credential sources.
    public static func resolve(environment env: [String: String], region: String?, homeDirectory: String, transport: HTTPTransport,
                               now: @escaping @Sendable () -> Date = Date.init) throws -> AWSConfiguration {
        let profileName = env["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let profiles = try AWSProfiles.load(environment: env, homeDirectory: homeDirectory)
        if env["AWS_PROFILE"] != nil, profiles.profile(profileName) == nil, env["AWS_ACCESS_KEY_ID"] == nil {
            throw ConfigurationError.profileNotFound(name: profileName, files: [profiles.credentialsPath, profiles.configPath])
        }
        let resolvedRegion = [region, env["AWS_REGION"], env["AWS_DEFAULT_REGION"], profiles.inConfigFile(profileName)?["region"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        guard let resolvedRegion else { throw ConfigurationError.noRegion }
        let endpoints = try Self.endpoints(env)

        let base = AWSConfiguration(region: resolvedRegion, credentials: StaticCredentials(SigV4Credentials(accessKeyId: "", secretAccessKey: "")),
                                    endpoints: endpoints, profile: profileName)
        // STS calls always say how they are signed, so this client never asks `base` for credentials.
        let sts = STS(client: AWSClient(configuration: base, transport: transport, logger: Logger(label: "switchyard.credentials")))
        let setting = CredentialSetting(environment: env, profiles: profiles, profileName: profileName, homeDirectory: homeDirectory,
                                        transport: transport, sts: sts, now: now)
        var configuration = base
        configuration.credentials = RefreshingCredentials(CredentialChain.standard(setting), now: now)
        return configuration
    }

    /// The region in a request's SigV4 scope: the deployment's, except for a global service, which is signed for its
    /// partition's home region (Route 53: us-east-1, whatever region the release runs in).
    public func signingRegion(for service: AWSService) -> String {
        guard service == .route53 else { return region }
        if region.hasPrefix("cn-") { return "cn-northwest-1" }
        if region.hasPrefix("us-gov-") { return "us-gov-west-1" }
        return "us-east-1"
    }

    static func endpoints(_ env: [String: String]) throws -> [AWSService: URL] {
        var endpoints: [AWSService: URL] = [:]
        for service in AWSService.allCases {
            if let url = try endpointOverride(env, suffix: service.endpointEnvSuffix) { endpoints[service] = url }
        }
        return endpoints
    }

    /// `AWS_ENDPOINT_URL_<SUFFIX>`, else `AWS_ENDPOINT_URL`, else nil.
    static func endpointOverride(_ env: [String: String], suffix: String) throws -> URL? {
        for variable in ["AWS_ENDPOINT_URL_\(suffix)", "AWS_ENDPOINT_URL"] {
            guard let value = env[variable], !value.isEmpty else { continue }
            guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()),
                  let host = url.host, !host.isEmpty else {
                throw ConfigurationError.invalidEndpoint(variable: variable, value: value)
            }
            return url
        }
        return nil
    }
}

/// An AWS shared config or credentials file: INI sections of `key = value`.
struct SharedFile: Sendable {
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
