import AWS
import AWSProvider
import Azure
import AzureProvider
import Foundation
import Logging
import Orchestrator
import SwitchyardCore

/// The AWS clients, with credentials, endpoints, timeouts and deadlines resolved from the environment.
extension Session {
    /// The AWS client for a region, with credentials and endpoints resolved as the AWS SDKs do. Credentials are
    /// first fetched at the first call, which is a read in every command, so a bad setup changes nothing.
    static func aws(region: String, logger: Logger) throws -> AWSClient {
        let environment = ProcessInfo.processInfo.environment
        let transport = CurlTransport.shared
        let configuration = try AWSConfiguration.resolve(
            environment: environment, region: region, homeDirectory: homeDirectory(environment), transport: transport)
        return try configured(AWSClient(configuration: configuration, transport: transport, logger: logger))
    }

    /// The cloud the commands run releases on: AWS, through the client above. The one place a command picks its
    /// provider; everything after goes through `ReleaseProvider`.
    /// - Parameter within: a bound on each call's deadline and timeout, for a read a command makes in passing.
    static func provider(region: String, logger: Logger, within: TimeInterval? = nil) throws -> any ReleaseProvider {
        var client = try aws(region: region, logger: logger)
        if let within {
            client.deadline = min(client.deadline, within)
            client.timeout = min(client.timeout, within)
        }
        return AWSReleaseProvider(aws: AWSClients(client: client), logger: logger)
    }

    /// The cloud a deployment file (or a stored deployment's spec) releases on: AWS, or Azure for `provider: azure`.
    /// The one place a command picks its provider; everything after goes through `ReleaseProvider`.
    static func provider(for spec: DeploymentSpec, logger: Logger, within: TimeInterval? = nil) throws -> any ReleaseProvider {
        guard spec.provider == "azure" else { return try provider(region: spec.region, logger: logger, within: within) }
        return AzureReleaseProvider(arm: try arm(logger: logger, within: within), logger: logger, location: AzureLocation(id: spec.region))
    }

    /// ARM at `AZURE_RESOURCE_MANAGER_URL` (default Azure's public cloud), with tokens as DefaultAzureCredential finds
    /// them (client secret, workload identity, managed identity), trusting `REQUESTS_CA_BUNDLE` when it is set. Each
    /// request's ids are logged (debug for reads, info for writes), never its token.
    static func arm(logger: Logger, within: TimeInterval? = nil) throws -> ARMClient {
        let environment = ProcessInfo.processInfo.environment
        let transport = azureTransport
        var endpoint = URL(string: "https://management.azure.com")!
        if let text = environment["AZURE_RESOURCE_MANAGER_URL"], !text.isEmpty {
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), url.host != nil,
                  scheme == "https" || (scheme == "http" && url.host == "127.0.0.1") else {
                throw UsageError("AZURE_RESOURCE_MANAGER_URL must be an https URL (http only on 127.0.0.1), such as https://management.azure.com (got \"\(text)\")")
            }
            endpoint = url
        }
        let tokens = RefreshingAzureToken(AzureCredentialChain.standard(environment: environment, transport: transport))
        var client = ARMClient(endpoint: endpoint, tokens: tokens, transport: transport, record: { call in
            let metadata: Logger.Metadata = ["azure.method": "\(call.method)", "azure.path": "\(call.path)", "azure.status": "\(call.status.map(String.init) ?? "-")",
                                             "azure.request_id": "\(call.requestId ?? "-")", "azure.correlation_id": "\(call.correlationId ?? "-")",
                                             "azure.client_request_id": "\(call.clientRequestId)", "azure.attempt": "\(call.attempt)"]
            if call.method == "GET" { logger.debug("azure call", metadata: metadata) } else { logger.info("azure call", metadata: metadata) }
        })
        client.timeout = try awsTimeout()
        if let within { client.timeout = min(client.timeout, within) }
        return client
    }

    /// The transport of ARM and Entra ID calls: its own CA bundle variable, so a bundle for one cloud is not trusted for the other.
    static let azureTransport = CurlTransport(caBundleVariables: ["REQUESTS_CA_BUNDLE"])

    /// Tells the core of the clouds' traffic backends before any file is read or record decoded.
    static func registerProviders() {
        AWSTrafficBackends.register()
        AzureTrafficBackends.register()
    }

    /// Whether an id names an Azure image (a gallery image version or a managed image), as the Azure module reads ids.
    static func isAzureImage(_ id: String) -> Bool { ComputeImages.kind(of: id) != nil }

    /// The clouds' parts of the deployment file (their sections, keys and rules), by the `provider:` that names each;
    /// AWS's is the default. The one place the CLI lists them.
    static let fileFormats = ProviderFormats([(ProviderFormats.defaultName, AWSFileFormat()), ("azure", AzureFileFormat())])

    /// A client with the environment's timeout and deadline, saying each wait and clock correction on stderr.
    static func configured(_ client: AWSClient) throws -> AWSClient {
        try checkDurations()
        var client = client
        client.timeout = try awsTimeout()
        client.deadline = try duration("SWITCHYARD_AWS_DEADLINE", default: 60, from: 1000, to: 3_600_000, example: "2m")
        client.retryPolicy.busyLimit = try busyLimit()
        client.retryPolicy.throttleLimit = try throttleLimit()
        client.notice = { Console.error("warning: \($0)") }
        return client
    }

    /// The per-request timeout of AWS calls: `SWITCHYARD_AWS_TIMEOUT` (a duration such as `5s`), default 20 s.
    static func awsTimeout() throws -> TimeInterval {
        try duration("SWITCHYARD_AWS_TIMEOUT", default: 20, from: 100, to: 600_000, example: "5s")
    }

    /// How long Auto Scaling's busy answers to one group write are waited out: `SWITCHYARD_AWS_BUSY_LIMIT`, default 10 min.
    static func busyLimit() throws -> TimeInterval {
        try duration("SWITCHYARD_AWS_BUSY_LIMIT", default: 600, from: 1000, to: 3_600_000, example: "10m")
    }

    /// How long throttled answers to one call are waited out: `SWITCHYARD_AWS_THROTTLE_LIMIT`, default 5 min.
    static func throttleLimit() throws -> TimeInterval {
        try duration("SWITCHYARD_AWS_THROTTLE_LIMIT", default: 300, from: 1000, to: 3_600_000, example: "5m")
    }

    /// A duration from the environment, within bounds given in milliseconds; anything else is a usage error (exit 2).
    static func duration(_ name: String, default value: TimeInterval, from low: Int64, to high: Int64, example: String) throws -> TimeInterval {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return value }
        guard let span = TimeSpan(parsing: text), span.milliseconds >= low, span.milliseconds <= high else {
            let bound = { (ms: Int64) in ms % 60_000 == 0 ? "\(ms / 60_000)m" : ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms" }
            throw UsageError("\(name) must be a duration between \(bound(low)) and \(bound(high)), such as \(example) (got \"\(text)\")")
        }
        return span.seconds
    }

    /// Checks the environment's durations before anything is read or changed (exit 2 on a bad one).
    static func checkDurations() throws {
        _ = try awsTimeout()
        _ = try duration("SWITCHYARD_AWS_DEADLINE", default: 60, from: 1000, to: 3_600_000, example: "2m")
        _ = try busyLimit()
        _ = try throttleLimit()
        _ = try duration("SWITCHYARD_TAG_SETTLE", default: 2, from: 0, to: 60_000, example: "2s")
        _ = try duration("SWITCHYARD_READ_SETTLE", default: ReadConsistency.defaultWindow, from: 0, to: 60_000, example: "5s")
    }
}
