import Foundation
import HTTP

/// `AZURE_AUTHORITY_HOST`, else Entra ID's public cloud: where an app's tokens are asked for.
enum AuthorityHost {
    static let publicCloud = "https://login.microsoftonline.com"

    static func url(_ environment: [String: String], source: String) throws -> URL {
        let text = environment["AZURE_AUTHORITY_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? publicCloud
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["https", "http"].contains(scheme), url.host != nil else {
            throw AzureCredentialsError.failed(source: source, problem: "AZURE_AUTHORITY_HOST must be an https:// URL (got \"\(text)\")")
        }
        return url
    }
}

/// An app registration's token from Entra ID's v2 endpoint (`POST {authority}/{tenant}/oauth2/v2.0/token`, the client
/// credentials grant) with a client secret (`AZURE_CLIENT_SECRET`, DefaultAzureCredential's EnvironmentCredential) or
/// a federated token read from a file (`AZURE_FEDERATED_TOKEN_FILE`, its WorkloadIdentityCredential: GitHub Actions'
/// OIDC token, AKS's projected service-account token). The file is read again for every token: its writer rotates it.
public struct EntraAppCredential: AzureTokenSource, CustomStringConvertible, CustomDebugStringConvertible {
    /// How the app proves itself. Printed, a secret shows as `secret (hidden)`.
    public enum Proof: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        case secret(String)
        case federatedTokenFile(String)

        public var description: String {
            switch self {
            case .secret: return "secret (hidden)"
            case .federatedTokenFile(let path): return "federated token file \(path)"
            }
        }

        public var debugDescription: String { description }
    }

    public var description: String { source }
    public var debugDescription: String { source }

    public static let clientSecretSource = "client secret (AZURE_CLIENT_SECRET)"
    public static let workloadIdentitySource = "workload identity (AZURE_FEDERATED_TOKEN_FILE)"
    static let jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    let tenant: String
    let clientId: String
    let proof: Proof
    let authority: URL
    let transport: HTTPTransport
    let now: @Sendable () -> Date

    public init(tenant: String, clientId: String, proof: Proof, authority: URL, transport: HTTPTransport, now: @escaping @Sendable () -> Date = Date.init) {
        self.tenant = tenant
        self.clientId = clientId
        self.proof = proof
        self.authority = authority
        self.transport = transport
        self.now = now
    }

    /// From the environment, as DefaultAzureCredential reads it: a secret wins over a federated token file.
    public static func environment(_ environment: [String: String], federated: Bool, transport: HTTPTransport,
                                   now: @escaping @Sendable () -> Date = Date.init) throws -> EntraAppCredential {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let proofName = federated ? "AZURE_FEDERATED_TOKEN_FILE" : "AZURE_CLIENT_SECRET"
        let source = federated ? workloadIdentitySource : clientSecretSource
        guard let proofValue = value(proofName) else { throw AzureCredentialsError.notApplicable(why: "\(proofName) is not set") }
        let missing = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID"].filter { value($0) == nil }
        guard missing.isEmpty, let tenant = value("AZURE_TENANT_ID"), let client = value("AZURE_CLIENT_ID") else {
            throw AzureCredentialsError.failed(source: source, problem: "\(proofName) is set but \(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not")
        }
        guard tenant.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw AzureCredentialsError.failed(source: source, problem: "AZURE_TENANT_ID must be a tenant id or domain (got \"\(tenant)\")")
        }
        return EntraAppCredential(tenant: tenant, clientId: client, proof: federated ? .federatedTokenFile(proofValue) : .secret(proofValue),
                                  authority: try AuthorityHost.url(environment, source: source), transport: transport, now: now)
    }

    var source: String {
        switch proof {
        case .secret: return "\(Self.clientSecretSource) for app \(clientId) in tenant \(tenant)"
        case .federatedTokenFile(let path): return "\(Self.workloadIdentitySource) \(path) for app \(clientId) in tenant \(tenant)"
        }
    }

    /// The scope of a resource's token in the v2 endpoint: `{resource}/.default`.
    static func scope(_ resource: String) -> String {
        (resource.hasSuffix("/") ? String(resource.dropLast()) : resource) + "/.default"
    }

    var tokenURL: URL { authority.appendingPathComponent(tenant).appendingPathComponent("oauth2/v2.0/token") }

    public func token(for resource: String) async throws -> AzureToken {
        var fields = [("grant_type", "client_credentials"), ("client_id", clientId), ("scope", Self.scope(resource))]
        switch proof {
        case .secret(let secret):
            fields.append(("client_secret", secret))
        case .federatedTokenFile(let path):
            let assertion: String
            do {
                assertion = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw AzureCredentialsError.failed(source: source, problem: "cannot read the federated token file \(path): \((error as NSError).localizedDescription)")
            }
            guard !assertion.isEmpty else { throw AzureCredentialsError.failed(source: source, problem: "the federated token file \(path) is empty") }
            fields += [("client_assertion_type", Self.jwtBearer), ("client_assertion", assertion)]
        }
        let request = HTTPRequest(method: "POST", url: tokenURL, headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
                                  body: FormBody.encode(fields))
        let response: HTTPResponse
        do {
            response = try await transport.execute(request, timeout: 10)
        } catch let error as TransportError {
            throw AzureCredentialsError.failed(source: source, problem: "\(authority.host ?? authority.absoluteString): \(error)")
        }
        guard response.status == 200 else {
            throw AzureCredentialsError.failed(source: source, problem: "Entra ID refused the token request: \(TokenAnswer.refusal(response))")
        }
        return try TokenAnswer.token(response, source: source, now: now())
    }
}

/// The managed identity of the VM, scale set instance or container Switchyard runs on, from the instance metadata
/// service (IMDS: `GET /metadata/identity/oauth2/token`, header `Metadata: true`), as DefaultAzureCredential's last
/// source: the system-assigned identity, or the user-assigned one `AZURE_CLIENT_ID` names.
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` moves the endpoint (as azure-identity allows). No answer within 1 s means no
/// IMDS here: the source does not apply.
public struct ManagedIdentityCredential: AzureTokenSource {
    public static let sourceName = "managed identity (IMDS)"
    static let apiVersion = "2018-02-01"
    let base: URL
    let clientId: String?
    let transport: HTTPTransport
    let now: @Sendable () -> Date

    public init(environment: [String: String], transport: HTTPTransport, now: @escaping @Sendable () -> Date = Date.init) throws {
        let custom = environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"].flatMap { $0.isEmpty ? nil : $0 }
        let text = custom ?? "http://169.254.169.254"
        guard let url = URL(string: text), url.scheme?.lowercased() == "http" || url.scheme?.lowercased() == "https", url.host != nil else {
            throw AzureCredentialsError.failed(source: Self.sourceName, problem: "AZURE_POD_IDENTITY_AUTHORITY_HOST must be an http:// URL (got \"\(text)\")")
        }
        base = url
        clientId = environment["AZURE_CLIENT_ID"].flatMap { $0.isEmpty ? nil : $0 }
        self.transport = transport
        self.now = now
    }

    var source: String { clientId.map { "\(Self.sourceName), user-assigned identity \($0)" } ?? "\(Self.sourceName), system-assigned identity" }

    func url(_ resource: String) -> URL {
        var parts = URLComponents(url: base.appendingPathComponent("metadata/identity/oauth2/token"), resolvingAgainstBaseURL: false)
        parts?.queryItems = [URLQueryItem(name: "api-version", value: Self.apiVersion), URLQueryItem(name: "resource", value: resource)]
            + (clientId.map { [URLQueryItem(name: "client_id", value: $0)] } ?? [])
        return parts?.url ?? base
    }

    public func token(for resource: String) async throws -> AzureToken {
        let request = HTTPRequest(method: "GET", url: url(resource), headers: ["Metadata": "true"], body: Data(), connectTimeout: 1)
        let response: HTTPResponse
        do {
            response = try await transport.execute(request, timeout: 5)
        } catch let error as TransportError {
            throw AzureCredentialsError.notApplicable(why: "no instance metadata service at \(base.absoluteString) (\(error))")
        }
        switch response.status {
        case 200:
            return try TokenAnswer.token(response, source: source, now: now())
        case 400 where clientId == nil:
            // IMDS answers 400 when the machine has no identity assigned: not set up here.
            throw AzureCredentialsError.notApplicable(why: "\(base.absoluteString) has no managed identity for this machine (\(TokenAnswer.refusal(response)))")
        default:
            throw AzureCredentialsError.failed(source: source, problem: "IMDS refused the token request: \(TokenAnswer.refusal(response))")
        }
    }
}

/// DefaultAzureCredential's order, for what Switchyard supports: the environment's client secret, then workload
/// identity federation, then the managed identity. The first source that is set up gives the token, or its failure;
/// when none is, one error names each and why it did not apply. The chain remembers the source that answered, as
/// DefaultAzureCredential does, so later tokens do not probe the ones before it again.
public actor AzureCredentialChain: AzureTokenSource {
    public typealias Link = (name: String, make: @Sendable () throws -> any AzureTokenSource)
    private let links: [Link]
    private var chosen: (any AzureTokenSource)?

    public init(_ links: [Link]) { self.links = links }

    /// The chain the binary uses, from its environment.
    public static func standard(environment: [String: String], transport: HTTPTransport, now: @escaping @Sendable () -> Date = Date.init) -> AzureCredentialChain {
        AzureCredentialChain([
            (EntraAppCredential.clientSecretSource, { @Sendable () throws -> any AzureTokenSource in try EntraAppCredential.environment(environment, federated: false, transport: transport, now: now) }),
            (EntraAppCredential.workloadIdentitySource, { @Sendable () throws -> any AzureTokenSource in try EntraAppCredential.environment(environment, federated: true, transport: transport, now: now) }),
            (ManagedIdentityCredential.sourceName, { @Sendable () throws -> any AzureTokenSource in try ManagedIdentityCredential(environment: environment, transport: transport, now: now) }),
        ])
    }

    public func token(for resource: String) async throws -> AzureToken {
        if let chosen { return try await chosen.token(for: resource) }
        var tried: [String] = []
        for link in links {
            do {
                let source = try link.make()
                let token = try await source.token(for: resource)
                chosen = source
                return token
            } catch AzureCredentialsError.notApplicable(let why) {
                tried.append("\(link.name): \(why)")
            }
        }
        throw AzureCredentialsError.noneFound(tried: tried)
    }
}

/// Caches a source's token per resource and fetches a new one before it expires: from 5 minutes before (advisory: if
/// that fetch fails, the old token is still used) and from 1 minute before (mandatory), both at most a half and a
/// quarter of the token's lifetime for short ones. Concurrent callers share one fetch.
public actor RefreshingAzureToken: AzureTokenSource {
    public static let advisoryWindow: TimeInterval = 5 * 60
    public static let mandatoryWindow: TimeInterval = 60
    static let windows = RefreshWindows(advisory: advisoryWindow, mandatory: mandatoryWindow)

    private let source: any AzureTokenSource
    private let now: @Sendable () -> Date
    private var cached: [String: (token: AzureToken, fetchedAt: Date)] = [:]
    private var inFlight: [String: Task<AzureToken, Error>] = [:]

    public init(_ source: any AzureTokenSource, now: @escaping @Sendable () -> Date = Date.init) {
        self.source = source
        self.now = now
    }

    typealias Phase = RefreshWindows.Phase

    static func phase(_ token: AzureToken, fetchedAt: Date, now: Date) -> Phase {
        windows.phase(fetchedAt: fetchedAt, expiresAt: token.expiresOn, now: now)
    }

    public func token(for resource: String) async throws -> AzureToken {
        guard let entry = cached[resource] else { return try await fetch(resource) }
        switch Self.phase(entry.token, fetchedAt: entry.fetchedAt, now: now()) {
        case .fresh: return entry.token
        case .advisory: return (try? await fetch(resource)) ?? entry.token
        case .mandatory: return try await fetch(resource)
        }
    }

    /// Forgets the cached tokens, so the next call fetches (after ARM answered ExpiredAuthenticationToken).
    public func invalidate() { cached = [:] }

    private func fetch(_ resource: String) async throws -> AzureToken {
        if let task = inFlight[resource] { return try await task.value }
        let source = self.source
        let task = Task { try await source.token(for: resource) }
        inFlight[resource] = task
        defer { inFlight[resource] = nil }
        let fresh = try await task.value
        cached[resource] = (fresh, now())
        return fresh
    }
}
