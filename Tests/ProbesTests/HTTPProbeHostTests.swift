import Foundation
import HTTP
@testable import Probes
import SwitchyardCore
import Testing

/// Records the requests a probe sends.
final class RecordingTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [HTTPRequest] = []
    var requests: [HTTPRequest] { lock.withLock { _requests } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        lock.withLock { _requests.append(request) }
        return HTTPResponse(status: 200, headers: [:], body: Data())
    }
}

@Suite struct HTTPProbeHostTests {
    @Test func aProbePointedAtGreensLoadBalancerStillNamesTheServiceInItsHostHeader() async {
        let transport = RecordingTransport()
        let spec = DeploymentSpec.HTTPProbe(url: "http://green-lb-1.eu-west-1.elb.amazonaws.com:8080/health")
        let result = await HTTPProbe(spec: spec, hostHeader: "app.example.com:8080", transport: transport).check()
        #expect(result.passed)
        #expect(transport.requests.first?.url.host == "green-lb-1.eu-west-1.elb.amazonaws.com")
        #expect(transport.requests.first?.headers["Host"] == "app.example.com:8080")
        _ = await HTTPProbe(spec: spec, transport: transport).check()
        #expect(transport.requests.last?.headers["Host"] == nil, "without one, the URL's host as usual")
    }
}
