import AWS
import Foundation
import Logging
@testable import AWSProvider
@testable import Orchestrator
import Testing

/// ELBv2's tags as AWS keeps them: AddTags and RemoveTags change them at once, but DescribeTags shows a resource's tags
/// from before its last write for `staleFor[arn]` seconds after it (eventual consistency: a read shows a prefix of the
/// resource's writes, never a later write without an earlier one).
final class FakeTaggedELB: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var tags: [String: [String: String]] = [:]
    /// Per resource: until when a read shows `before`, the tags from before the last write.
    private var stale: [String: (until: Date, before: [String: String])] = [:]
    var staleFor: [String: TimeInterval] = [:]
    private(set) var writes: [(action: String, arns: [String], keys: [String])] = []
    private(set) var reads = 0

    func truth(_ arn: String) -> [String: String] { lock.withLock { tags[arn] ?? [:] } }
    func set(_ arn: String, _ value: [String: String]) { lock.withLock { tags[arn] = value } }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let p = FakeELB.form(request.body)
        let action = p["Action"] ?? ""
        func members(_ prefix: String) -> [String] {
            p.filter { $0.key.hasPrefix(prefix) && !$0.key.dropFirst(prefix.count).contains(".") }
                .sorted { Int($0.key.dropFirst(prefix.count)) ?? 0 < Int($1.key.dropFirst(prefix.count)) ?? 0 }.map(\.value)
        }
        let arns = members("ResourceArns.member.")
        let now = Date()
        return lock.withLock {
            switch action {
            case "AddTags", "RemoveTags":
                var keys: [String] = []
                for arn in arns {
                    stale[arn] = (now.addingTimeInterval(staleFor[arn] ?? 0), tags[arn] ?? [:])
                    if action == "AddTags" {
                        var n = 1
                        while let key = p["Tags.member.\(n).Key"] { tags[arn, default: [:]][key] = p["Tags.member.\(n).Value"] ?? ""; keys.append(key); n += 1 }
                    } else {
                        keys = members("TagKeys.member.")
                        for key in keys { tags[arn]?[key] = nil }
                    }
                }
                writes.append((action, arns, Array(Set(keys)).sorted()))
                return ok(action, "")
            case "DescribeTags":
                reads += 1
                let members = arns.map { arn -> String in
                    let shown = stale[arn].map { now < $0.until ? $0.before : tags[arn] ?? [:] } ?? tags[arn] ?? [:]
                    let tag = shown.sorted { $0.key < $1.key }.map { "<member><Key>\($0.key)</Key><Value>\($0.value)</Value></member>" }.joined()
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

/// Claims racing on tags that read stale: never two winners, a loser takes only its own key back, a lone claim wins with
/// one write and one read, and a release takes only its own key off.
@Suite struct ListenerGuardTests {
    static let listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2"
    static let rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"

    /// Whoever claims, nobody else's claim may be replaced (both are live).
    static func claim(_ guardian: ListenerGuard, _ id: String, after delay: TimeInterval) async -> Result<Void, Error> {
        try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        do {
            try await guardian.claim(for: id, owners: []) { _ in false }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    static func winners(_ outcomes: [(String, Result<Void, Error>)]) -> [String] {
        outcomes.filter { if case .success = $0.1 { return true } else { return false } }.map(\.0)
    }

    static func claimKeys(_ tags: [String: String]) -> [String] { tags.keys.filter { $0.hasPrefix(ListenerGuard.tagKey) }.sorted() }

    @Test func twoClaimsOnStaleTagsMakeOneWinnerAndTheLoserTakesOnlyItsOwnKeyBack() async throws {
        // B ("2-b", the larger id) writes at 0, A ("1-a") at 1 s. Each resource reads from before its last write for
        // 2 s after it. B's first reads show nothing yet; from 1 s they show B alone (from before A's write): B was
        // first, and wins. A's first reads show B without A (not current yet: read again); from 3 s both, and B holds,
        // so A steps back when its settle is out (5 s). With one key that both overwrite, both would read their own.
        // The margins are wide (B's write may come up to 1 s late) so that a machine loaded by a whole test run beside
        // it does not change who writes first.
        let fake = FakeTaggedELB()
        fake.staleFor = [Self.listener: 2, Self.rule: 2]
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 4.0)
        async let b = Self.claim(guardian, "2-b", after: 0)
        async let a = Self.claim(guardian, "1-a", after: 1.0)
        let (ra, rb) = await (a, b)
        let winners = Self.winners([("1-a", ra), ("2-b", rb)])
        #expect(winners.count <= 1, "never two winners")
        // Whoever lost took only its own key, and the winner's stands on every resource.
        for (id, result) in [("1-a", ra), ("2-b", rb)] {
            guard case .failure(let error) = result else { continue }
            let claimed = try #require(error as? ListenerClaimed, Comment(rawValue: "\(error)"))
            #expect(claimed.raced)
            let removals = fake.writes.filter { $0.action == "RemoveTags" }
            #expect(removals.contains { $0.keys == [ListenerGuard.key(for: id)] })
            #expect(!removals.contains { $0.keys.contains { $0 != ListenerGuard.key(for: id) } }, Comment(rawValue: "\(fake.writes)"))
        }
        for winner in winners {
            #expect(Self.claimKeys(fake.truth(Self.listener)) == [ListenerGuard.key(for: winner)])
            #expect(Self.claimKeys(fake.truth(Self.rule)) == [ListenerGuard.key(for: winner)])
        }
        #expect(winners == ["2-b"], "the first written wins, whatever its id")
    }

    @Test func manyClaimsAtOnceNeverMakeTwoWinners() async throws {
        // Five claims within 50 ms of each other, the rule reading stale for longer than the listener: whatever each
        // sees, at most one wins, and only the winner's key is left.
        for round in 0..<3 {
            let fake = FakeTaggedELB()
            fake.staleFor = [Self.listener: 0.05 * Double(round), Self.rule: 0.3]
            let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 1.0)
            let ids = (0..<5).map { "\($0)-claim" }.shuffled()
            let outcomes = await withTaskGroup(of: (String, Result<Void, Error>).self) { group in
                for (n, id) in ids.enumerated() { group.addTask { (id, await Self.claim(guardian, id, after: 0.01 * Double(n))) } }
                var all: [(String, Result<Void, Error>)] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let winners = Self.winners(outcomes)
            #expect(winners.count <= 1, Comment(rawValue: "round \(round): \(winners)"))
            #expect(Self.claimKeys(fake.truth(Self.listener)) == winners.map(ListenerGuard.key(for:)))
            #expect(Self.claimKeys(fake.truth(Self.rule)) == winners.map(ListenerGuard.key(for:)))
        }
    }

    @Test func ofTwoClaimsThatSeeEachOtherTheLaterIdStepsBackAtOnceAndTheEarlierGoesOn() async throws {
        // Both keys written before either read (reads current): each sees both. The larger id steps back after one read,
        // naming the smaller; the smaller reads again until the larger's key is gone, and wins.
        let fake = FakeTaggedELB()
        let both = [ListenerGuard.key(for: "1-a"): "1-a", ListenerGuard.key(for: "2-b"): "2-b"]
        fake.set(Self.listener, both)
        fake.set(Self.rule, both)
        // A long settle, so that on a loaded machine the earlier is still reading when the later steps back.
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 10.0)
        async let a = Self.claim(guardian, "1-a", after: 0)
        let later = await Self.claim(guardian, "2-b", after: 0.2)
        guard case .failure(let error) = later, let claimed = error as? ListenerClaimed else {
            Issue.record("the later id won: \(later)")
            return
        }
        #expect(claimed.raced && claimed.owner == "1-a", Comment(rawValue: "\(claimed)"))
        let earlier = await a
        guard case .success = earlier else {
            Issue.record("the earlier id lost: \(earlier)")
            return
        }
        #expect(Self.claimKeys(fake.truth(Self.listener)) == [ListenerGuard.key(for: "1-a")])
        #expect(Self.claimKeys(fake.truth(Self.rule)) == [ListenerGuard.key(for: "1-a")])
    }

    @Test func aClaimAloneOnCurrentReadsWinsWithOneWriteAndOneRead() async throws {
        let fake = FakeTaggedELB()
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 2.0)
        try await guardian.claim(for: "A", owners: []) { _ in false }
        #expect(fake.truth(Self.listener)[ListenerGuard.key(for: "A")] == "A" && fake.truth(Self.rule)[ListenerGuard.key(for: "A")] == "A")
        #expect(fake.writes.map(\.action) == ["AddTags"] && fake.reads == 1, Comment(rawValue: "\(fake.writes), \(fake.reads) reads"))
    }

    @Test func aClaimAloneOnStaleReadsWinsOnceItsOwnTagShows() async throws {
        let fake = FakeTaggedELB()
        // Stale for long enough that the first read back, however late on a loaded machine, does not show the claim.
        fake.staleFor = [Self.listener: 0.1, Self.rule: 3]
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 10.0)
        try await guardian.claim(for: "A", owners: []) { _ in false }
        #expect(fake.truth(Self.rule)[ListenerGuard.key(for: "A")] == "A")
        #expect(fake.reads > 1, "the first reads did not show the claim")
    }

    @Test func aClaimWhoseTagNeverReadsBackTakesItBackAndSaysSo() async throws {
        let fake = FakeTaggedELB()
        // Stale far longer than any read of the test, however late on a loaded machine (one took 6.7 s in a full run).
        fake.staleFor = [Self.listener: 3600, Self.rule: 3600]
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 0.3)
        await #expect(throws: ClaimUnconfirmed.self) { try await guardian.claim(for: "A", owners: []) { _ in false } }
        #expect(Self.claimKeys(fake.truth(Self.listener)).isEmpty && Self.claimKeys(fake.truth(Self.rule)).isEmpty)
    }

    @Test func aWinnerTakesOffTheClaimsItReplacedAndTheOlderSingleTag() async throws {
        // A dead deployment's claim (--force-unlock D) and a tag of the older single-key form: the winner's fences must
        // read it alone, and D, if it still ran, is fenced out.
        let fake = FakeTaggedELB()
        fake.set(Self.listener, [ListenerGuard.key(for: "D"): "D", "Name": "web"])
        fake.set(Self.rule, [ListenerGuard.tagKey: "D"])
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 1.0)
        try await guardian.claim(for: "A", owners: nil) { $0 == "D" }
        #expect(fake.truth(Self.listener) == [ListenerGuard.key(for: "A"): "A", "Name": "web"])
        #expect(fake.truth(Self.rule) == [ListenerGuard.key(for: "A"): "A"])
        #expect(try await guardian.holders(confirming: "A") == [["A"], ["A"]])
    }

    @Test func aLiveClaimRefusesAStartBeforeItWritesAnything() async throws {
        let fake = FakeTaggedELB()
        fake.set(Self.rule, [ListenerGuard.tagKey: "OLD"])
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 1.0)
        await #expect(throws: ListenerClaimed.self) { try await guardian.claim(for: "A", owners: nil) { _ in false } }
        #expect(fake.writes.isEmpty)
    }

    @Test func aReleaseTakesOffOnlyItsOwnKeyWhateverAStaleReadWouldShow() async throws {
        // A finished and B claimed since; the reads still show A's tag. The release sends one RemoveTags of A's key.
        let fake = FakeTaggedELB()
        fake.staleFor = [Self.listener: 5, Self.rule: 5]
        fake.set(Self.listener, [ListenerGuard.key(for: "A"): "A"])
        let guardian = ListenerGuard(elb: fake.elb(), resourceArns: [Self.listener, Self.rule], settle: 1.0)
        try await guardian.release(for: "A")
        fake.set(Self.listener, [ListenerGuard.key(for: "B"): "B"])
        try await guardian.release(for: "A")
        #expect(fake.truth(Self.listener) == [ListenerGuard.key(for: "B"): "B"])
        #expect(fake.reads == 0 && fake.writes.allSatisfy { $0.action == "RemoveTags" && $0.keys == [ListenerGuard.key(for: "A")] })
    }
}
