import Foundation
import Orchestrator
import SQLiteStateStore
import StateStore
import SwitchyardCore

/// A clock that jumps forward instead of sleeping.
final class TestClock: DeploymentClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    func now() -> Date { lock.withLock { current } }

    func sleep(until date: Date) async throws {
        lock.withLock { if date > current { current = date } }
    }
}

/// An in-process AWS: records every effect, answers with the events a healthy world gives, and can be told to misbehave.
final class FakeWorld: EffectPerformer, @unchecked Sendable {
    private let lock = NSLock()
    private var _effects: [Effect] = []
    private var _storedStates: [DeploymentState] = []
    var failingCheckAfter: Int?
    var failingEffect: Effect?
    /// Thrown once, the first time this effect comes, as an error this world calls out of reach.
    var outOfReachOnce: Effect?
    var unhealthyUntilObservation = 0
    /// Called as each effect starts, outside the lock: lets a test act as another process at that moment.
    var onEffect: (@Sendable (Effect) -> Void)?
    let store: StateStore?
    private var checks = 0
    private var healthObservations = 0

    init(store: StateStore? = nil) { self.store = store }

    var effects: [Effect] { lock.withLock { _effects } }
    /// The state stored in the state file at the moment each effect started.
    var storedStates: [DeploymentState] { lock.withLock { _storedStates } }

    /// Only this world's own out-of-reach error is worth trying again: the runner must ask the performer, not guess.
    func isUnreachable(_ error: Error) -> Bool {
        if case FakeError.outOfReach = error { return true }
        return false
    }

    func perform(_ effect: Effect, for d: Deployment) async throws -> Event {
        let stored = try store?.deployment(id: d.id)
        onEffect?(effect)
        return try lock.withLock {
            _effects.append(effect)
            if let stored { _storedStates.append(stored.state) }
            if effect == failingEffect { throw FakeError.refused(effect.title) }
            if effect == outOfReachOnce {
                outOfReachOnce = nil
                throw FakeError.outOfReach(effect.title)
            }
            switch effect {
            case .begin: return .begun
            case .retireFleet(let name): return .fleetRetired(name)
            case .ensureGreenTemplate: return .greenTemplateReady(7)
            case .ensureGreenFleet: return .greenFleetReady
            case .observeCapacity: return .capacityObserved(CapacityReport(desired: 2, inService: 2, instances: 2))
            case .observeGreenHealth:
                healthObservations += 1
                let state = healthObservations > unhealthyUntilObservation ? "healthy" : "initial"
                return .greenHealthObserved(TargetHealthReport(targets: [.init(instanceId: "i-1", state: state), .init(instanceId: "i-2", state: "healthy")]))
            case .setSplit(let green): return .splitConfirmed(green: green)
            case .runChecks:
                checks += 1
                let failing = failingCheckAfter.map { checks > $0 } ?? false
                return .checksObserved([CheckResult(name: "target-health", passed: !failing, evidence: failing ? "i-1 unhealthy (Target.ResponseCodeMismatch)" : "2/2 healthy")])
            case .confirmPromotion: return .promotionConfirmed
            case .restoreBlue: return .splitConfirmed(green: 0)
            case .removeGreen: return .greenRemoved
            case .retireBlue: return .blueRetired(by: nil)
            case .ensureTestRoute: return .testRouteReady(id: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3")
            case .removeTestRoute: return .testRouteRemoved
            case .restoreStickiness: return .stickinessRestored
            case .pinBlue: return .bluePinned(summary: "MinSize 2 (was 1)")
            case .copyToGreen(let kind): return .copiedToGreen(kind, summary: kind.rawValue)
            case .releaseGreen: return .greenReleased(summary: "MinSize 1, MaxSize 4")
            case .observeBlue: return .blueObserved(CapacityReport(desired: 2, inService: 2, instances: 2))
            case .restoreBlueFleet: return .blueFleetRestored(summary: "MinSize 1")
            case .runHook(let ref): return .hookFinished(ref, HookResult(exitCode: 0))
            case .deregisterFleet(let group): return .fleetDeregistered(fleet: group, pools: [d.plan.greenPool], delaySeconds: 300)
            case .observeDrain(let group): return .drainObserved(fleet: group, targets: [])
            case .removeGreenTemplate(let version): return .greenTemplateDeleted(version)
            }
        }
    }
}

enum FakeError: Error, CustomStringConvertible {
    case refused(String)
    case outOfReach(String)
    var description: String {
        switch self {
        case .refused(let what): return "AccessDenied: \(what) refused"
        case .outOfReach(let what): return "\(what): no answer within the deadline"
        }
    }
}

enum Fixtures {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func spec(steps: [DeploymentSpec.Step] = [.weight(10, bake: .seconds(60)), .weight(50, bake: .seconds(60)), .weight(100, bake: .seconds(30))]) -> DeploymentSpec {
        DeploymentSpec(
            service: "web", region: "us-east-1",
            traffic: .init(primaryForward: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2",
                           pools: ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1",
                                          "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2"]),
            fleet: .init(), steps: steps, checks: .init(interval: .seconds(10)), promotion: .init(blueRetention: .minutes(30)))
    }

    static func deployment(id: String = "20261124-000000-0001", spec: DeploymentSpec = spec(), retire: [String] = []) -> Deployment {
        let blue = BlueFleet(group: "web-blue", pool: spec.traffic.pools[0], templateId: "lt-1",
                             templateName: "web", templateVersion: 3, image: "ami-11111111", architecture: "x86_64",
                             minSize: 2, maxSize: 4, desiredCapacity: 2)
        let plan = ReleasePlan(spec: spec, image: "ami-22222222", blue: blue, greenPool: spec.traffic.pools[1],
                               greenGroup: "switchyard-web-\(id)", retire: retire)
        return Deployment(id: id, plan: plan, fileDigest: "abc", actor: "test@host", now: start)
    }

    static func store() throws -> StateStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-tests-\(UUID().uuidString)")
        return try SQLiteStateStore(path: dir.appendingPathComponent("state.db").path)
    }
}
