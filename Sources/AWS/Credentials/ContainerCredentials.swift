import Foundation
import SigV4

/// Container credentials: ECS tasks and CodeBuild (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), EKS Pod Identity and
/// others (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `_FILE`).
/// As botocore's ContainerMetadataFetcher: 2 s per attempt, 3 attempts 1 s apart; plain http only to a loopback
/// address or the ECS/EKS link-local hosts.
public struct ContainerCredentials: CredentialProvider {
    public static let sourceName = "container credentials"
    static let allowedHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"]
    let environment: [String: String]
    let transport: HTTPTransport
    let sleep: @Sendable (TimeInterval) async throws -> Void

    public init(environment: [String: String], transport: HTTPTransport,
                sleep: @escaping @Sendable (TimeInterval) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000)) }) {
        self.environment = environment
        self.transport = transport
        self.sleep = sleep
    }

    /// The endpoint, or why there is none (`notApplicable`) or why it is refused (`failed`).
    func endpoint() throws -> URL {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            guard let url = URL(string: "http://169.254.170.2" + relative) else {
                throw CredentialsError.failed(source: Self.sourceName, problem: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path (got \"\(relative)\")")
            }
            return url
        }
        guard let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty else {
            throw CredentialsError.notApplicable(why: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set")
        }
        guard let url = URL(string: full), let scheme = url.scheme?.lowercased(), let host = Self.host(of: url) else {
            throw CredentialsError.failed(source: Self.sourceName, problem: "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL with a host")
        }
        guard scheme == "https" || (scheme == "http" && Self.isAllowed(host: host)) else {
            throw CredentialsError.failed(source: Self.sourceName, problem: "AWS_CONTAINER_CREDENTIALS_FULL_URI may use http only with a loopback "
                + "address or \(Self.allowedHosts.sorted().joined(separator: ", ")); \(host) is neither (use https)")
        }
        return url
    }

    static func host(of url: URL) -> String? {
        guard var host = url.host, !host.isEmpty else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.lowercased()
    }

    /// A loopback address (127.0.0.0/8, ::1) or one of the link-local credential hosts, as botocore allows them.
    static func isAllowed(host: String) -> Bool {
        if allowedHosts.contains(host) || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { UInt8($0) != nil } && octets[0] == "127"
    }

    /// The Authorization header: the token file (read at every fetch, EKS rotates it) wins over the variable.
    func authorization() throws -> String? {
        var token: String?
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !file.isEmpty {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CredentialsError.failed(source: Self.sourceName, problem: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file)")
            }
            token = String(decoding: data, as: UTF8.self)
        } else if let value = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !value.isEmpty {
            token = value
        }
        if let token, token.contains("\r") || token.contains("\n") {
            throw CredentialsError.failed(source: Self.sourceName, problem: "the container authorization token contains a line break")
        }
        return token
    }

    public func credentials() async throws -> AWSCredentials {
        let url = try endpoint()
        // The ECS relative URI is a per-task capability: it is named, never shown.
        let relative = !(environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] ?? "").isEmpty
        let shown = relative ? "http://169.254.170.2 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)" : Self.withoutQuery(url)
        var headers = ["Accept": "application/json"]
        if let token = try authorization() { headers["Authorization"] = token }
        var problem = ""
        for attempt in 1...3 {
            if attempt > 1 { try await sleep(1) }
            do {
                let response = try await transport.execute(HTTPRequest(method: "GET", url: url, headers: headers, body: Data()), timeout: 2)
                if response.status == 200 { return try Self.parse(response.body, source: "\(Self.sourceName) (\(shown))") }
                problem = "HTTP \(response.status): \(bounded(response.body))"
            } catch let error as TransportError {
                problem = "\(error)"
            }
        }
        throw CredentialsError.failed(source: Self.sourceName, problem: "\(shown) answered \(problem) (3 attempts)")
    }

    static func withoutQuery(_ url: URL) -> String {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        components?.query = nil
        components?.user = nil
        components?.password = nil
        return components?.string ?? "the container credentials endpoint"
    }

    /// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"?}`
    static func parse(_ body: Data, source: String) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw CredentialsError.failed(source: source, problem: "the answer is not JSON with AccessKeyId and SecretAccessKey")
        }
        return AWSCredentials(keys: SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: object["Token"] as? String),
                              expiration: (object["Expiration"] as? String).flatMap(CredentialDates.parse), source: source)
    }
}
