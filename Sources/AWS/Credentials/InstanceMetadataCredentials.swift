import Foundation
import SigV4

/// The EC2 instance role, from the instance metadata service (IMDSv2: a session token first). As botocore's
/// defaults: 1 s per request, one attempt.
public struct InstanceMetadataCredentials: CredentialProvider {
    public static let sourceName = "EC2 instance metadata"
    static let credentialsPath = "latest/meta-data/iam/security-credentials/"
    let environment: [String: String]
    /// The profile's `ec2_metadata_*` settings; the environment wins over them.
    let profile: [String: String]
    let transport: HTTPTransport

    public init(environment: [String: String], profile: [String: String] = [:], transport: HTTPTransport) {
        self.environment = environment
        self.profile = profile
        self.transport = transport
    }

    private func setting(_ variable: String, _ key: String) -> String? {
        (environment[variable] ?? profile[key]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the IPv6 address when the endpoint mode says so, else 169.254.169.254.
    func baseURL() throws -> URL {
        if let custom = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint") {
            guard let url = URL(string: custom), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw CredentialsError.failed(source: Self.sourceName, problem: "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http:// URL (got \"\(custom)\")")
            }
            return url
        }
        let ipv6 = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ec2_metadata_service_endpoint_mode")?.lowercased() == "ipv6"
        return URL(string: ipv6 ? "http://[fd00:ec2::254]" : "http://169.254.169.254") ?? URL(fileURLWithPath: "/")
    }

    var v1Disabled: Bool { setting("AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled")?.lowercased() == "true" }

    public func credentials() async throws -> AWSCredentials {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            throw CredentialsError.notApplicable(why: "AWS_EC2_METADATA_DISABLED is true")
        }
        let base = try baseURL()
        let shown = base.absoluteString
        let token = try await sessionToken(base)
        let role = try await get(base, Self.credentialsPath, token: token)
        guard role.status == 200, let name = String(decoding: role.body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init),
              !name.isEmpty else {
            throw CredentialsError.notApplicable(why: "no instance role at \(shown) (HTTP \(role.status) for /\(Self.credentialsPath))")
        }
        let answer = try await get(base, Self.credentialsPath + name, token: token)
        let source = "\(Self.sourceName) (role \(name))"
        guard answer.status == 200 else {
            throw CredentialsError.failed(source: source, problem: "\(shown) answered HTTP \(answer.status) for the role's credentials")
        }
        return try Self.parse(answer.body, source: source)
    }

    /// The IMDSv2 token, or nil to go on with IMDSv1. Like the Go SDK, IMDSv1 is used only when the service answered the
    /// token request with 403, 404 or 405 (an IMDS without v2), and never with AWS_EC2_METADATA_V1_DISABLED. No answer
    /// at all means no IMDS here: botocore would spend a second second asking IMDSv1 the same silence.
    func sessionToken(_ base: URL) async throws -> String? {
        let request = HTTPRequest(method: "PUT", url: Self.url(base, "latest/api/token"),
                                  headers: ["x-aws-ec2-metadata-token-ttl-seconds": "21600"], body: Data())
        let response: HTTPResponse
        do {
            response = try await transport.execute(request, timeout: 1)
        } catch let error as TransportError {
            throw CredentialsError.notApplicable(why: Self.silence(base, error))
        }
        switch response.status {
        case 200:
            return String(decoding: response.body, as: UTF8.self)
        case 403, 404, 405:
            guard !v1Disabled else {
                throw CredentialsError.failed(source: Self.sourceName, problem: "\(base.absoluteString) refused an IMDSv2 token (HTTP \(response.status)) and AWS_EC2_METADATA_V1_DISABLED forbids IMDSv1")
            }
            return nil
        default:
            throw CredentialsError.notApplicable(why: "\(base.absoluteString) answered the IMDSv2 token request with HTTP \(response.status)")
        }
    }

    private func get(_ base: URL, _ path: String, token: String?) async throws -> HTTPResponse {
        let headers = token.map { ["x-aws-ec2-metadata-token": $0] } ?? [:]
        do {
            return try await transport.execute(HTTPRequest(method: "GET", url: Self.url(base, path), headers: headers, body: Data()), timeout: 1)
        } catch let error as TransportError {
            throw CredentialsError.notApplicable(why: Self.silence(base, error))
        }
    }

    static func silence(_ base: URL, _ error: TransportError) -> String {
        switch error {
        case .timedOut: return "no answer from \(base.absoluteString) within 1 s"
        case .connectionFailed(let detail): return "no answer from \(base.absoluteString) (\(detail))"
        }
    }

    static func url(_ base: URL, _ path: String) -> URL {
        let text = base.absoluteString
        return URL(string: text + (text.hasSuffix("/") ? "" : "/") + path) ?? base
    }

    /// `{"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated"}`
    static func parse(_ body: Data, source: String) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw CredentialsError.failed(source: source, problem: "the answer is not JSON")
        }
        if let code = object["Code"] as? String, code != "Success" {
            throw CredentialsError.failed(source: source, problem: "the metadata service answered \(code): \(object["Message"] as? String ?? "")")
        }
        guard let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String,
              let token = object["Token"] as? String, let expiration = (object["Expiration"] as? String).flatMap(CredentialDates.parse) else {
            throw CredentialsError.failed(source: source, problem: "the answer lacks AccessKeyId, SecretAccessKey, Token or Expiration")
        }
        return AWSCredentials(keys: SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token),
                              expiration: expiration, source: source)
    }
}
