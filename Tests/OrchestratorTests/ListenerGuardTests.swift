import AWS
import Foundation
import Logging
@testable import Orchestrator
import Testing

/// ELBv2's tags as AWS keeps them: AddTags and RemoveTags change them at once, but DescribeTags shows a resource's tags
/// from before its last write for `staleFor[arn]` seconds after it (eventual consistency).
final class FakeTaggedELB: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var tags: [String: String] = [:]
    /// Per resource: until when a read shows `before`, the tag from before the last write.
    private var stale: [String: (until: Date, before: String?)] = [:]
    var staleFor: [String: TimeInterval] = [:]
    private(set) var writes: [(action: String, arns: [String], value: String?)] = []

    func truth(_ arn: String) -> String? { lock.withLock { tags[arn] } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let p = FakeELB.form(request.body)
        let action = p["Action"] ?? ""
        let arns = p.filter { $0.key.hasPrefix("ResourceArns.member.") }.sorted { $0.key < $1.key }.map(\.value)
        let now = Date()
        return lock.withLock {
            switch action {
            case "AddTags", "RemoveTags":
                let value = action == "AddTags" ? p["Tags.member.1.Value"] : nil
                for arn in arns {
                    stale[arn] = (now.addingTimeInterval(staleFor[arn] ?? 0), tags[arn])
                    tags[arn] = value
                }
                writes.append((action, arns, value))
                return ok(action, "")
            case "DescribeTags":
                let members = arns.map { arn -> String in
                    let shown = stale[arn].map { now < $0.until ? $0.before : tags[arn] } ?? tags[arn]
                    let tag = shown.map { "<member><Key>\(ListenerGuard.tagKey)</Key><Value>\($0)</Value></member>" } ?? ""
                    return "<member><ResourceArn>\(arn)</ResourceArn><Tags>\(tag)</Tags></member>"
                }
                return ok(action, "<TagDescriptions>\(members.joined())</TagDescriptions>")
            default:
                return HTTPResponse(status: 400, headers: [:], body: Data("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>\(action)</Message></Error></ErrorResponse>".utf8))
            }
        }
    }

    private func ok(_ action: String, _ body: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(body)</\(action)Result></\(action)Response>".utf8))
    }

    func elb() -> ELBv2 {
        let configuration = AWSConfiguration(region: "us-east-1", credentials: EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"]),
                                             endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, URL(string: "http://127.0.0.1:9")!) }))
        return AWSClients(client: AWSClient(configuration: configuration, transport: self, retryPolicy: RetryPolicy(maxAttempts: 1),
                                            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))).elb
    }
}

/// Two claims racing on tags that read stale for less than half of the settle: exactly one wins, and the loser takes
/// back what it wrote without taking the winner's tag off anything.
@Suite struct ListenerGuardTests {
    static let listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2"
    static let rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"

    /// Whoever claims, nobody else's tag may be replaced (both are live).
    static func claim(_ guardian: ListenerGuard, _ id: String, after delay: TimeInterval) async -> Result<Void, Error> {
        try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        do {
            try await guardian.claim(for: id, owner: .some(nil)) { _ in false }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    @Test func twoClaimsOnStaleTagsMakeExactlyOneWinnerAndTheLoserPutsTheWinnersTagBackEverywhere() async throws {
        // A writes at 0, B at 0.8 s: B's write is the last, so B owns both resources. A reads at 2.0 s (its settle): the
        // listener reads fresh (B), the rule still reads from before B's write (A's own tag: 1.6 s of staleness). B
        // reads at 2.8 s, when both read fresh. The staleness is under the settle but over half of it for the rule.
        // The margins are wide (B's write may come up to 1 s late) so that a loaded machine does not change the race.
        let fake = FakeTaggedELB()
        fake.staleFor = [Self.listener: 0.1, Self.rule: 1.6]
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 2.0)
        async let a = Self.claim(guardian, "A", after: 0)
        async let b = Self.claim(guardian, "B", after: 0.8)
        let (ra, rb) = await (a, b)
        let outcomes = [("A", ra), ("B", rb)]
        let winners = outcomes.filter { if case .success = $0.1 { return true } else { return false } }.map(\.0)
        #expect(winners == ["B"], "exactly one winner, the last writer")
        guard case .failure(let error) = ra else { return }
        let claimed = try #require(error as? ListenerClaimed)
        #expect(claimed.raced && claimed.owner == "B", Comment(rawValue: "\(claimed)"))
        // The winner's tag stands on every resource, the one whose read was stale included; nothing was removed.
        #expect(fake.truth(Self.listener) == "B" && fake.truth(Self.rule) == "B")
        #expect(!fake.writes.contains { $0.action == "RemoveTags" })
        let takeBack = fake.writes.last
        #expect(takeBack?.action == "AddTags" && takeBack?.value == "B" && Set(takeBack?.arns ?? []) == [Self.listener, Self.rule],
                Comment(rawValue: "\(fake.writes)"))
    }

    @Test func aClaimAloneWinsWhateverItsFirstReadsShow() async throws {
        let fake = FakeTaggedELB()
        fake.staleFor = [Self.listener: 0.1, Self.rule: 0.1]
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 0.3)
        try await guardian.claim(for: "A", owner: .some(nil)) { _ in false }
        #expect(fake.truth(Self.listener) == "A" && fake.truth(Self.rule) == "A")
    }
}
