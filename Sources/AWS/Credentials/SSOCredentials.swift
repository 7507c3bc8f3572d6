import Foundation
import SigV4

/// IAM Identity Center (SSO): the token `aws sso login` cached under `~/.aws/sso/cache/`, exchanged for role
/// credentials with the portal's GetRoleCredentials. Switchyard never logs in itself: an expired token is an error
/// that names the command to run.
public struct SSOCredentials: CredentialProvider {
    public let profileName: String
    public let startURL: String
    /// The `sso_session` name; nil for a legacy profile with `sso_start_url` of its own.
    public let sessionName: String?
    public let ssoRegion: String
    public let accountId: String
    public let roleName: String
    let cacheDirectory: String
    let endpoint: URL
    let transport: HTTPTransport
    let now: @Sendable () -> Date

    public init(profileName: String, startURL: String, sessionName: String?, ssoRegion: String, accountId: String, roleName: String,
                cacheDirectory: String, endpoint: URL? = nil, transport: HTTPTransport, now: @escaping @Sendable () -> Date = Date.init) {
        self.profileName = profileName
        self.startURL = startURL
        self.sessionName = sessionName
        self.ssoRegion = ssoRegion
        self.accountId = accountId
        self.roleName = roleName
        self.cacheDirectory = cacheDirectory
        self.endpoint = endpoint ?? URL(string: "https://portal.sso.\(ssoRegion).amazonaws.com") ?? URL(fileURLWithPath: "/")
        self.transport = transport
        self.now = now
    }

    public var source: String { "SSO (profile \(profileName), account \(accountId), role \(roleName))" }

    /// The cache file: the SHA-1 hex of the session name, or of the start URL for legacy profiles (botocore's SSOTokenLoader).
    public var tokenCachePath: String {
        cacheDirectory + "/" + Digest.hex(Digest.sha1(Array((sessionName ?? startURL).utf8))) + ".json"
    }

    private var login: String { "run `aws sso login --profile \(profileName)`" }

    public func credentials() async throws -> AWSCredentials {
        let token = try cachedToken()
        var components = URLComponents(url: endpoint.appendingPathComponent("federation/credentials"), resolvingAgainstBaseURL: false)
        components?.queryItems = [URLQueryItem(name: "account_id", value: accountId), URLQueryItem(name: "role_name", value: roleName)]
        guard let url = components?.url else { throw CredentialsError.failed(source: source, problem: "bad SSO portal endpoint \(endpoint)") }
        let request = HTTPRequest(method: "GET", url: url, headers: ["x-amz-sso_bearer_token": token, "Accept": "application/json"], body: Data())
        let response: HTTPResponse
        do {
            response = try await transport.execute(request, timeout: 20)
        } catch let error as TransportError {
            throw CredentialsError.failed(source: source, problem: "GetRoleCredentials at \(endpoint.absoluteString): \(error)")
        }
        if response.status == 401 || response.status == 403 {
            throw CredentialsError.failed(source: source, problem: "the SSO portal refused the cached token (HTTP \(response.status)); \(login)")
        }
        guard response.status == 200 else {
            throw CredentialsError.failed(source: source, problem: "GetRoleCredentials answered HTTP \(response.status): \(bounded(response.body))")
        }
        return try Self.parse(response.body, source: source)
    }

    /// Reads the cached access token; missing or expired is an error that says how to log in.
    func cachedToken() throws -> String {
        let path = tokenCachePath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialsError.failed(source: source, problem: "no cached SSO token at \(path); \(login)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let token = object["accessToken"] as? String, !token.isEmpty,
              let expiresText = object["expiresAt"] as? String else {
            throw CredentialsError.failed(source: source, problem: "the SSO token cache \(path) has no accessToken and expiresAt; \(login)")
        }
        guard let expiresAt = CredentialDates.parse(expiresText) else {
            throw CredentialsError.failed(source: source, problem: "expiresAt in \(path) is not a time (\(expiresText)); \(login)")
        }
        guard expiresAt > now() else {
            throw CredentialsError.failed(source: source, problem: "the SSO session expired at \(CredentialDates.format(expiresAt)); \(login)")
        }
        return token
    }

    /// `{"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration": <ms since 1970>}}`
    static func parse(_ body: Data, source: String) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let role = object["roleCredentials"] as? [String: Any],
              let key = role["accessKeyId"] as? String, let secret = role["secretAccessKey"] as? String else {
            throw CredentialsError.failed(source: source, problem: "GetRoleCredentials answered without roleCredentials.accessKeyId and secretAccessKey")
        }
        let expiration = (role["expiration"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue / 1000) }
        return AWSCredentials(keys: SigV4Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: role["sessionToken"] as? String),
                              expiration: expiration, source: source)
    }
}
