import AWS
import Foundation
import Logging
@testable import AWSProvider
@testable import Orchestrator
import StateStore
import SwitchyardCore
import Testing

/// Auto Scaling and ELBv2 in memory, as a removal sees them: groups with instances and target groups, a listener's
/// weights, target groups with their deregistration delay, targets that drain for that delay once detached (AWS lists
/// them `draining` until it is over), and every request in order.
final class FakeFleetAWS: HTTPTransport, @unchecked Sendable {
    struct Group {
        var instances: [String]
        var targetGroups: [String]
    }

    private let lock = NSLock()
    var groups: [String: Group] = [:]
    var weights: [String: Int] = [:]
    /// Until `until`, DescribeListeners answers these weights instead (a read from before the last write).
    var stale: (until: Date, weights: [String: Int])?
    var delays: [String: Int] = [:]
    /// Registered targets per target group, with when each started draining (nil: in service).
    var registered: [String: [String: Date?]] = [:]
    var listener = ""
    var tag = ""
    let clock: TestClock
    private(set) var actions: [String] = []

    init(clock: TestClock) { self.clock = clock }

    func execute(_ request: HTTPRequest, timeout: TimeInterval) async throws -> HTTPResponse {
        let p = FakeELB.form(request.body)
        let action = p["Action"] ?? ""
        return lock.withLock {
            actions.append(action)
            let now = clock.now()
            switch action {
            case "DescribeAutoScalingGroups":
                let names = p.filter { $0.key.hasPrefix("AutoScalingGroupNames.member.") }.map(\.value)
                let found = names.compactMap { name in groups[name].map { (name, $0) } }
                return ok(action, "<AutoScalingGroups>" + found.map { name, g in
                    "<member><AutoScalingGroupName>\(name)</AutoScalingGroupName><MinSize>0</MinSize><MaxSize>4</MaxSize><DesiredCapacity>\(g.instances.count)</DesiredCapacity>"
                        + "<TargetGroupARNs>" + g.targetGroups.map { "<member>\($0)</member>" }.joined() + "</TargetGroupARNs>"
                        + "<Instances>" + g.instances.map { "<member><InstanceId>\($0)</InstanceId><LifecycleState>InService</LifecycleState></member>" }.joined() + "</Instances></member>"
                }.joined() + "</AutoScalingGroups>")
            case "DetachLoadBalancerTargetGroups":
                let name = p["AutoScalingGroupName"] ?? ""
                let arns = p.filter { $0.key.hasPrefix("TargetGroupARNs.member.") }.map(\.value)
                groups[name]?.targetGroups.removeAll { arns.contains($0) }
                for arn in arns { for id in groups[name]?.instances ?? [] where registered[arn]?[id] != nil { registered[arn]?[id] = .some(now) } }
                return ok(action, "")
            case "UpdateAutoScalingGroup":
                if p["DesiredCapacity"] == "0" { groups[p["AutoScalingGroupName"] ?? ""]?.instances = [] }
                return ok(action, "")
            case "DeleteAutoScalingGroup":
                groups[p["AutoScalingGroupName"] ?? ""] = nil
                return ok(action, "")
            case "DescribeTargetGroupAttributes":
                let arn = p["TargetGroupArn"] ?? ""
                return ok(action, "<Attributes><member><Key>deregistration_delay.timeout_seconds</Key><Value>\(delays[arn] ?? 300)</Value></member></Attributes>")
            case "DescribeTargetHealth":
                let arn = p["TargetGroupArn"] ?? ""
                let delay = TimeInterval(delays[arn] ?? 300)
                let listed = (registered[arn] ?? [:]).compactMap { id, since -> String? in
                    guard let since else { return "<member><Target><Id>\(id)</Id></Target><TargetHealth><State>healthy</State></TargetHealth></member>" }
                    return now < since.addingTimeInterval(delay)
                        ? "<member><Target><Id>\(id)</Id></Target><TargetHealth><State>draining</State><Reason>Target.DeregistrationInProgress</Reason></TargetHealth></member>" : nil
                }
                return ok(action, "<TargetHealthDescriptions>" + listed.joined() + "</TargetHealthDescriptions>")
            case "DescribeListeners":
                let shown = stale.map { now < $0.until ? $0.weights : weights } ?? weights
                let groups = shown.map { "<member><TargetGroupArn>\($0.key)</TargetGroupArn><Weight>\($0.value)</Weight></member>" }.joined()
                return ok(action, "<Listeners><member><ListenerArn>\(listener)</ListenerArn><DefaultActions><member><Type>forward</Type><ForwardConfig><TargetGroups>\(groups)</TargetGroups></ForwardConfig></member></DefaultActions></member></Listeners>")
            case "DescribeRules":
                return ok(action, "<Rules></Rules>")
            case "DescribeTargetGroups":
                let arns = p.filter { $0.key.hasPrefix("TargetGroupArns.member.") }.map(\.value)
                return ok(action, "<TargetGroups>" + arns.map { "<member><TargetGroupArn>\($0)</TargetGroupArn><TargetGroupName>x</TargetGroupName><LoadBalancerArns/></member>" }.joined() + "</TargetGroups>")
            case "DescribeTags":
                return ok(action, "<TagDescriptions><member><ResourceArn>\(listener)</ResourceArn><Tags><member><Key>\(ListenerGuard.tagKey)</Key><Value>\(tag)</Value></member></Tags></member></TagDescriptions>")
            default:
                return ok(action, "")
            }
        }
    }

    private func ok(_ action: String, _ body: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [:], body: Data("<\(action)Response><\(action)Result>\(body)</\(action)Result></\(action)Response>".utf8))
    }

    func clients() -> AWSClients {
        let configuration = AWSConfiguration(region: "us-east-1", credentials: EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"]),
                                             endpoints: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0, URL(string: "http://127.0.0.1:9")!) }))
        return AWSClients(client: AWSClient(configuration: configuration, transport: self, retryPolicy: RetryPolicy(maxAttempts: 1), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
    }
}

@Suite struct RemovalEffectsTests {
    /// A release rolling back with green at 0 % on the listener, green's two instances registered in its target group.
    func world() -> (FakeFleetAWS, AWSEffects, Deployment, TestClock) {
        let clock = TestClock(Fixtures.start)
        let fake = FakeFleetAWS(clock: clock)
        var d = Fixtures.deployment()
        d.state = .rollingBack
        d.progress.insert(.trafficRestored)
        d.progress.insert(.greenServed)
        d.plan.settle = .seconds(15)
        let blueTG = d.plan.blue.pool
        let greenTG = d.plan.greenPool
        fake.listener = d.plan.spec.traffic.primaryForward
        fake.tag = d.id
        fake.weights = [blueTG: 100, greenTG: 0]
        fake.delays = [greenTG: 30, blueTG: 300]
        fake.groups[d.plan.greenGroup] = .init(instances: ["i-g1", "i-g2"], targetGroups: [greenTG])
        fake.groups["web-blue"] = .init(instances: ["i-b1", "i-b2"], targetGroups: [blueTG])
        fake.registered[greenTG] = ["i-g1": .none, "i-g2": .none]
        fake.registered[blueTG] = ["i-b1": .none, "i-b2": .none]
        return (fake, AWSEffects(aws: fake.clients(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: clock), d, clock)
    }

    @Test func deregisteringDetachesTheTargetGroupAndReadsItsDelayFromAWS() async throws {
        let (fake, effects, d, _) = world()
        let green = d.plan.greenGroup
        let event = try await effects.perform(.deregisterFleet(green), for: d)
        #expect(event == .fleetDeregistered(fleet: green, pools: [d.plan.greenPool], delaySeconds: 30))
        #expect(fake.groups[green]?.targetGroups == [])
        #expect(fake.actions.contains("DetachLoadBalancerTargetGroups") && fake.actions.contains("DescribeTargetGroupAttributes"))
        // Run again after a crash: nothing left to detach, and the delay is still read for the target group it left.
        let again = try await effects.perform(.deregisterFleet(green), for: d)
        #expect(again == event)
        #expect(fake.actions.filter { $0 == "DetachLoadBalancerTargetGroups" }.count == 1)
    }

    @Test func aFleetWhoseTargetGroupCarriesTrafficIsNotDeregistered() async throws {
        let (fake, effects, d, _) = world()
        fake.weights[d.plan.greenPool] = 10
        fake.weights[d.plan.blue.pool] = 90
        await #expect(throws: RetireError.self) { try await effects.perform(.deregisterFleet(d.plan.greenGroup), for: d) }
        #expect(!fake.actions.contains("DetachLoadBalancerTargetGroups"))
    }

    @Test func theDrainIsReadFromTargetHealthUntilNothingIsRegistered() async throws {
        let (_, effects, d, clock) = world()
        let green = d.plan.greenGroup
        var record = d
        record.removal = FleetRemoval(group: green, trafficLeftAt: clock.now(), settle: .seconds(15), now: clock.now())
        let deregistered = try await effects.perform(.deregisterFleet(green), for: record)
        record = Machine.apply(record, deregistered, now: clock.now()).deployment
        let draining = try await effects.perform(.observeDrain(green), for: record)
        guard case .drainObserved(_, let targets) = draining else { Issue.record("\(draining)"); return }
        #expect(Set(targets.map(\.instanceId)) == ["i-g1", "i-g2"] && targets.allSatisfy { $0.state == "draining" })
        try await clock.sleep(until: clock.now().addingTimeInterval(30))
        #expect(try await effects.perform(.observeDrain(green), for: record) == .drainObserved(fleet: green, targets: []))
    }

    @Test func noGroupIsRemovedUnlessTheRecordShowsItDrained() async throws {
        let (fake, effects, d, clock) = world()
        let green = d.plan.greenGroup
        await #expect(throws: RemovalError.self) { try await effects.perform(.removeGreen, for: d) }
        var settling = d
        settling.removal = FleetRemoval(group: green, trafficLeftAt: clock.now(), settle: .seconds(15), now: clock.now())
        await #expect(throws: RemovalError.self) { try await effects.perform(.removeGreen, for: settling) }
        var completed = d
        completed.state = .completed
        completed.retentionDeadline = clock.now()
        await #expect(throws: RemovalError.self) { try await effects.perform(.retireBlue, for: completed) }
        await #expect(throws: RemovalError.self) { try await effects.perform(.retireFleet("web-blue"), for: d) }
        #expect(!fake.actions.contains("DeleteAutoScalingGroup") && !fake.actions.contains("UpdateAutoScalingGroup"))
        #expect(fake.groups[green] != nil && fake.groups["web-blue"] != nil)
    }

    @Test func theRunnerRemovesGreenOnlyAfterTheSettleAndTheTargetGroupsDelay() async throws {
        let (fake, effects, d, clock) = world()
        let store = try Fixtures.store()
        var record = d
        record.state = .shifting
        record.progress.remove(.trafficRestored)
        record.greenWeight = 10
        fake.weights = [d.plan.blue.pool: 90, d.plan.greenPool: 10]
        record = try store.insert(record, log: LogEntry(from: .shifting, to: .shifting, message: "created"), actor: "t", at: clock.now())
        let restoring = FakeRestore(inner: effects, fake: fake, blue: d.plan.blue.pool, green: d.plan.greenPool)
        let runner = DeploymentRunner(store: store, effects: restoring, clock: clock, actor: "t", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), requestPoll: 0)
        try store.addRequest(deploymentId: record.id, kind: .rollback, reason: "test", actor: "ops", at: clock.now())
        let asked = clock.now()
        let final = try await runner.run(record)
        #expect(final.state == .rolledBack)
        #expect(fake.groups[d.plan.greenGroup] == nil)
        let events = try store.events(deploymentId: record.id)
        let detached = try #require(events.first { $0.message.contains("deregistered (detached from") })
        let deleted = try #require(events.first { $0.message.hasPrefix("green group") && $0.message.contains("deleted") })
        #expect(detached.at == asked.addingTimeInterval(15))
        #expect(deleted.at >= detached.at.addingTimeInterval(30))
        #expect(deleted.at < detached.at.addingTimeInterval(30 + 11), "it goes at the first look after the delay")
    }
}

/// The listener write of `restoreBlue` against the fake (the real router would write it through ModifyListener).
struct FakeRestore: EffectPerformer {
    let inner: AWSEffects
    let fake: FakeFleetAWS
    let blue: String
    let green: String

    func isUnreachable(_ error: Error) -> Bool { inner.isUnreachable(error) }

    func perform(_ effect: Effect, for deployment: Deployment) async throws -> Event {
        switch effect {
        case .restoreBlue, .observeBlue, .restoreBlueFleet:
            fake.weights = [blue: 100, green: 0]
            if effect == .observeBlue { return .blueObserved(CapacityReport(desired: 2, inService: 2, instances: 2)) }
            return effect == .restoreBlue ? .splitConfirmed(green: 0) : .blueFleetRestored(summary: "ok")
        default:
            return try await inner.perform(effect, for: deployment)
        }
    }
}

/// Dies (throws) when the effect named comes, before (or, `afterCall`, after) it reaches AWS, as a killed `gc` would.
struct Dying: EffectPerformer {
    let inner: EffectPerformer
    let kind: String
    var afterCall = false

    func isUnreachable(_ error: Error) -> Bool { inner.isUnreachable(error) }

    func perform(_ effect: Effect, for deployment: Deployment) async throws -> Event {
        if effect.kind == kind, !afterCall { throw CancellationError() }
        let event = try await inner.perform(effect, for: deployment)
        if effect.kind == kind { throw CancellationError() }
        return event
    }
}

@Suite struct HousekeeperRemovalTests {
    @Test func gcRetiresBlueThroughItsSettleAndDrainUnderTheLeaseAndAKilledOneGoesOnFromTheRecord() async throws {
        let (fake, effects, base, clock) = RemovalEffectsTests().world()
        let store = try Fixtures.store()
        var d = base
        d.state = .completed
        d.greenWeight = 100
        d.progress.remove(.trafficRestored)
        d.promotedAt = clock.now().addingTimeInterval(-5)
        d.retentionDeadline = clock.now()
        fake.weights = [d.plan.blue.pool: 0, d.plan.greenPool: 100]
        _ = try store.insert(d, log: LogEntry(from: .completed, to: .completed, message: "completed"), actor: "t", at: clock.now())
        let start = clock.now()

        // The first gc is killed once blue is detached and that is stored, before it looks at the drain.
        let first = Housekeeper(store: store, clock: clock, actor: "gc@a") { _ in Dying(inner: effects, kind: "observeDrain") }
        let due = try first.due(service: nil)
        #expect(due.map(\.id) == [d.id])
        let stopped = await first.collect(due)
        #expect(stopped.first?.problem != nil)
        let stored = try #require(try store.deployment(id: d.id))
        let deregistered = try #require(stored.removal?.deregisteredAt)
        #expect(deregistered == d.promotedAt!.addingTimeInterval(15), "blue was deregistered once its traffic had settled")
        #expect(stored.removal?.drainUntil == deregistered.addingTimeInterval(300))
        #expect(fake.groups["web-blue"]?.targetGroups == [], "blue is out of its target group, still standing")
        #expect(try store.lease(service: d.service) == nil || (try store.lease(service: d.service)?.isLive(at: clock.now()) == false))

        // The next gc goes on from the stored deadlines: no second detach, and blue goes once the delay is over.
        let changes = Messages()
        let second = Housekeeper(store: store, clock: clock, actor: "gc@b", effects: { _ in effects }, onChange: { _, log, _ in changes.add(log.message) })
        let outcomes = await second.collect(try second.due(service: nil))
        #expect(outcomes.first?.problem == nil, "\(outcomes.first?.problem ?? "")")
        #expect(fake.groups["web-blue"] == nil)
        #expect(fake.actions.filter { $0 == "DetachLoadBalancerTargetGroups" }.count == 1)
        let retired = try #require(try store.deployment(id: d.id))
        #expect(retired.blueRetiredAt != nil && retired.removal == nil)
        #expect(retired.blueRetiredAt! >= deregistered.addingTimeInterval(300))
        #expect(clock.now().timeIntervalSince(start) > 60, "the wait outlived the lease's TTL: it was renewed meanwhile")
        #expect(changes.all.contains { $0.hasPrefix("web-blue drained") })
        #expect(try first.due(service: nil).isEmpty)
    }
}

final class Messages: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}

extension HousekeeperRemovalTests {
    @Test func aGCKilledRightAfterItsDetachReachedAWSDeregistersAgainAndStillDrainsTheFullDelay() async throws {
        let (fake, effects, base, clock) = RemovalEffectsTests().world()
        let store = try Fixtures.store()
        var d = base
        d.state = .completed
        d.progress.remove(.trafficRestored)
        // A completed release's record: green carries it all, blue nothing.
        d.greenWeight = 100
        d.promotedAt = clock.now()
        d.retentionDeadline = clock.now()
        fake.weights = [d.plan.blue.pool: 0, d.plan.greenPool: 100]
        _ = try store.insert(d, log: LogEntry(from: .completed, to: .completed, message: "completed"), actor: "t", at: clock.now())
        let first = Housekeeper(store: store, clock: clock, actor: "gc@a") { _ in Dying(inner: effects, kind: "deregisterFleet", afterCall: true) }
        _ = await first.collect(try first.due(service: nil))
        let killed = try store.deployment(id: d.id)
        #expect(fake.groups["web-blue"]?.targetGroups == [] && killed?.removal?.deregisteredAt == nil)
        let detachedAt = clock.now()
        let second = Housekeeper(store: store, clock: clock, actor: "gc@b") { _ in effects }
        let outcomes = await second.collect(try second.due(service: nil))
        #expect(outcomes.first?.problem == nil)
        let retired = try #require(try store.deployment(id: d.id))
        // The target group it left is known from the plan even though the group no longer lists it: its delay counts.
        #expect(retired.blueRetiredAt! >= detachedAt.addingTimeInterval(300))
    }
}

/// Reads that show the listener from before the last write (`ReadConsistency`).
@Suite struct StaleReadEffectsTests {
    let world = RemovalEffectsTests().world

    @Test func aStaleReadOfNoTrafficRightAfterTheRollbacksWriteDoesNotLetGreenBeDeregistered() async throws {
        let (fake, effects, d, clock) = world()
        var record = d
        record.trafficRestoredAt = clock.now()
        // Truth: 10 % still on green (someone else's write, or one that did not land); the read says 100/0 for 2 s.
        fake.weights = [d.plan.blue.pool: 90, d.plan.greenPool: 10]
        fake.stale = (clock.now().addingTimeInterval(2), [d.plan.blue.pool: 100, d.plan.greenPool: 0])
        await #expect(throws: RetireError.self) { try await effects.perform(.deregisterFleet(d.plan.greenGroup), for: record) }
        #expect(!fake.actions.contains("DetachLoadBalancerTargetGroups"))
        #expect(clock.now() >= record.trafficRestoredAt!.addingTimeInterval(effects.readWindow), "it read again after the window")
    }

    /// A read inside the window could not be believed, so none is sent: the removal waits the window out and reads
    /// the listener once (on a busy account, the thrown-away read was one more in the bucket the rollbacks share).
    @Test func rightAfterTheRollbacksWriteTheRemovalReadsTheListenerOnceAfterTheWindowAndNeverBefore() async throws {
        let (fake, effects, d, clock) = world()
        var record = d
        record.trafficRestoredAt = clock.now()
        let event = try await effects.perform(.deregisterFleet(d.plan.greenGroup), for: record)
        guard case .fleetDeregistered = event else { Issue.record("\(event)"); return }
        #expect(fake.actions.filter { $0 == "DescribeListeners" }.count == 1, Comment(rawValue: "\(fake.actions)"))
        #expect(clock.now() >= record.trafficRestoredAt!.addingTimeInterval(effects.readWindow))
    }

    @Test func aStaleReadOfGreenTrafficRightAfterTheRollbacksWriteIsReadAgainNotTakenForTraffic() async throws {
        let (fake, effects, d, clock) = world()
        var record = d
        record.trafficRestoredAt = clock.now()
        fake.stale = (clock.now().addingTimeInterval(2), [d.plan.blue.pool: 90, d.plan.greenPool: 10])
        let event = try await effects.perform(.deregisterFleet(d.plan.greenGroup), for: record)
        guard case .fleetDeregistered = event else { Issue.record("\(event)"); return }
    }

    @Test func aGroupTheRecordSaysCarriesTrafficIsNotDeregisteredWhateverTheListenerReads() async throws {
        let (fake, effects, d, _) = world()
        var record = d
        record.progress.remove(.trafficRestored)
        record.greenWeight = 10
        await #expect(throws: RetireError.self) { try await effects.perform(.deregisterFleet(d.plan.greenGroup), for: record) }
        #expect(!fake.actions.contains("DetachLoadBalancerTargetGroups"))
    }

    @Test func promotionsReadBackWaitsOutAStaleRead() async throws {
        let (fake, effects, d, clock) = world()
        var record = d
        record.state = .promoting
        record.progress.remove(.trafficRestored)
        record.greenWeight = 100
        let started = clock.now()
        fake.weights = [d.plan.blue.pool: 0, d.plan.greenPool: 100]
        fake.stale = (clock.now().addingTimeInterval(2), [d.plan.blue.pool: 50, d.plan.greenPool: 50])
        #expect(try await effects.perform(.confirmPromotion, for: record) == .promotionConfirmed)
        #expect(clock.now() >= started.addingTimeInterval(2) && clock.now() < started.addingTimeInterval(ReadConsistency.readBackLimit))
    }

    @Test func promotionsReadBackCountsAMismatchOnlyAfterItsLimit() async throws {
        let (fake, effects, d, clock) = world()
        var record = d
        record.state = .promoting
        record.greenWeight = 100
        let started = clock.now()
        fake.weights = [d.plan.blue.pool: 50, d.plan.greenPool: 50]
        await #expect(throws: TrafficError.self) { try await effects.perform(.confirmPromotion, for: record) }
        #expect(clock.now() == started.addingTimeInterval(ReadConsistency.readBackLimit))
        #expect(fake.actions.filter { $0 == "DescribeListeners" }.count > 3)
    }
}

/// A step's read before its write, compared with what the deployment last wrote.
@Suite struct HandChangeEffectsTests {
    func shifting() -> (FakeFleetAWS, AWSEffects, Deployment, TestClock) {
        let (fake, effects, d, clock) = RemovalEffectsTests().world()
        var record = d
        record.state = .shifting
        record.progress.remove(.trafficRestored)
        record.greenWeight = 10
        fake.weights = [d.plan.blue.pool: 90, d.plan.greenPool: 10]
        return (fake, effects, record, clock)
    }

    @Test func aSplitSetByHandThatLastsPastTheWindowPausesWithoutAWrite() async throws {
        let (fake, effects, d, clock) = shifting()
        fake.weights = [d.plan.blue.pool: 100, d.plan.greenPool: 0]
        let started = clock.now()
        let event = try await effects.perform(.setSplit(green: 50), for: d)
        guard case .trafficChangedByHand(let change) = event else { Issue.record("\(event)"); return }
        #expect(change.found[d.plan.blue.pool] == 100 && change.expected[d.plan.greenPool] == 10)
        #expect(change.resource == "listener \(d.plan.spec.traffic.primaryForward)")
        #expect(clock.now() >= started.addingTimeInterval(effects.readWindow), "read again after the window")
        #expect(fake.actions.filter { $0 == "DescribeListeners" }.count == 2 && !fake.actions.contains("ModifyListener"))
    }

    @Test func aStaleReadThatShowsTheStepBeforeIsNotTakenForAPerson() async throws {
        let (fake, effects, d, clock) = shifting()
        fake.stale = (clock.now().addingTimeInterval(2), [d.plan.blue.pool: 100, d.plan.greenPool: 0])
        let read = try await effects.readComparing(d, target: 50)
        guard case .asExpected(let weights) = read else { Issue.record("\(read)"); return }
        #expect(weights.percent[d.plan.greenPool] == 10)
    }
}

/// A performer whose chosen effect is a request that never answers.
struct Hanging: EffectPerformer {
    let inner: EffectPerformer
    let kind: String
    let reached: @Sendable () -> Void

    func isUnreachable(_ error: Error) -> Bool { inner.isUnreachable(error) }

    func perform(_ effect: Effect, for deployment: Deployment) async throws -> Event {
        guard effect.kind == kind else { return try await inner.perform(effect, for: deployment) }
        reached()
        try? await Task.sleep(nanoseconds: 600_000_000_000)  // swallows its cancellation, as a curl request may not end at once
        return try await inner.perform(effect, for: deployment)
    }
}

extension HousekeeperRemovalTests {
    @Test func aSignalDuringAHousekeepingRequestAbandonsItAtOnceAndTheTrailSaysWhere() async throws {
        let (fake, effects, base, clock) = RemovalEffectsTests().world()
        let store = try Fixtures.store()
        var d = base
        d.state = .completed
        d.greenWeight = 100
        d.progress.remove(.trafficRestored)
        d.promotedAt = clock.now().addingTimeInterval(-60)
        d.retentionDeadline = clock.now()
        fake.weights = [d.plan.blue.pool: 0, d.plan.greenPool: 100]
        _ = try store.insert(d, log: LogEntry(from: .completed, to: .completed, message: "completed"), actor: "t", at: clock.now())
        let stop = StopRequest()
        let keeper = Housekeeper(store: store, clock: clock, actor: "start@a", effects: { _ in
            Hanging(inner: effects, kind: "deregisterFleet") {
                Task {
                    try await Task.sleep(nanoseconds: 100_000_000)
                    stop.request("SIGINT")
                }
            }
        }, stop: stop)
        let began = Date()
        let outcomes = await keeper.collect(try keeper.due(service: nil))
        #expect(Date().timeIntervalSince(began) < 30, "the request in flight was abandoned, not waited out")
        #expect(outcomes.first?.problem?.contains("interrupted by SIGINT") == true, "\(outcomes.first?.problem ?? "nil")")
        let trail = try store.events(deploymentId: d.id)
        let last = try #require(trail.last)
        #expect(last.message.hasPrefix("interrupted by SIGINT during deregistering web-blue"), Comment(rawValue: last.message))
        #expect(last.message.contains("abandoned"))
        #expect(try store.deployment(id: d.id)?.removal != nil, "the retirement's deadlines stay stored for the next gc")
    }
}
