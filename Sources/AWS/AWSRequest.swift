import Foundation

/// One query-protocol call as data: built by pure functions (the fleet clone), sent by `AWSClient.send`.
public struct AWSRequest: Sendable, Hashable, CustomStringConvertible {
    public var service: AWSService
    public var action: String
    public var parameters: [String: String]

    public init(_ service: AWSService, _ action: String, _ parameters: [String: String]) {
        self.service = service
        self.action = action
        self.parameters = parameters
    }

    public var description: String { "\(service.signingName) \(action)" }
}

extension AWSClient {
    /// Sends a request built elsewhere; the answer's result element.
    @discardableResult
    public func send(_ request: AWSRequest) async throws -> XMLNode {
        try await call(request.service, action: request.action, parameters: request.parameters)
    }
}

extension QueryEncoding {
    /// A query-protocol response element turned back into request parameters under `prefix`. Auto Scaling and
    /// CloudWatch describe a structure with the member names they accept, lists as `member` entries, so a described
    /// setting is sent back unchanged: `MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.InstanceType`.
    /// Empty elements (an empty list, an absent structure) send nothing.
    public static func flatten(_ node: XMLNode, prefix: String) -> [String: String] {
        var out: [String: String] = [:]
        flatten(node, prefix: prefix, into: &out)
        return out
    }

    private static func flatten(_ node: XMLNode, prefix: String, into out: inout [String: String]) {
        if node.children.isEmpty {
            if !node.text.isEmpty { out[prefix] = node.text }
            return
        }
        if node.children.allSatisfy({ $0.name == "member" }) {
            for (index, member) in node.children.enumerated() { flatten(member, prefix: "\(prefix).member.\(index + 1)", into: &out) }
            return
        }
        for child in node.children { flatten(child, prefix: "\(prefix).\(child.name)", into: &out) }
    }

    /// The members of `node` named in `allowed` (request member names), flattened at the top level.
    public static func copy(_ node: XMLNode, members allowed: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for name in allowed {
            guard let child = node.child(name) else { continue }
            out.merge(flatten(child, prefix: name))
        }
        return out
    }
}
