import Foundation
import SigV4

/// The REST-XML protocol (Route 53): the operation is the method and the path, its input the path, the query string
/// and an XML body; the answer is XML. Shares the query protocol's retries, credential renewal and error decoding.
extension AWSClient {
    /// Sends one REST-XML request and returns the answer's root element.
    /// - Parameters:
    ///   - path: the path with its parameters already in it, each segment made of unreserved characters or encoded.
    ///   - query: name/value pairs, encoded here.
    ///   - body: the XML document, or nil for none.
    public func rest(_ service: AWSService, action: String, method: String, path: String, query: [(String, String)] = [],
                     body: Data? = nil, signing: Signing = .configured) async throws -> XMLNode {
        let response = try await exchange(service, action: action, signing: signing) { keys in
            restRequest(service, method: method, path: path, query: query, body: body ?? Data(), keys: keys)
        }
        return try Self.xmlRoot(response, service: service, action: action)
    }

    /// The request for one attempt, signed with `keys` (the service's signing region), or unsigned when they are nil.
    func restRequest(_ service: AWSService, method: String, path: String, query: [(String, String)], body: Data,
                     keys: SigV4Credentials?) -> HTTPRequest {
        let endpoint = configuration.endpoint(for: service)
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        let base = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
        let fullPath = base + path
        let queryString = query.map { "\(SigV4Signer.encode($0.0))=\(SigV4Signer.encode($0.1))" }.joined(separator: "&")
        // No Content-Type: Route 53 reads the body as XML whatever it says, and the form type would mislead emulators.
        let unsigned = SigV4Request(method: method, path: fullPath, query: queryString, headers: [(name: "Host", value: host)],
                                    body: Array(body))
        let signed = keys.map {
            SigV4Signer(credentials: $0, region: configuration.signingRegion(for: service), service: service.signingName).sign(unsigned, date: signingDate())
        }
        var headers: [String: String] = [:]
        for header in (signed ?? unsigned).headers where header.name != "Host" { headers[header.name] = header.value }
        var components = URLComponents()
        components.scheme = endpoint.scheme
        components.host = endpoint.host
        components.port = endpoint.port
        components.percentEncodedPath = fullPath
        if !queryString.isEmpty { components.percentEncodedQuery = queryString }
        return HTTPRequest(method: method, url: components.url ?? endpoint, headers: headers, body: body)
    }
}

/// Writes XML documents for REST-XML requests.
enum XMLWriter {
    /// `text` with the five XML special characters escaped.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    /// `<name>escaped text</name>`.
    static func element(_ name: String, _ text: String) -> String { "<\(name)>\(escape(text))</\(name)>" }
}
