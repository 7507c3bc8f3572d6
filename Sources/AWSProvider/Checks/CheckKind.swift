import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// One kind of check green is judged by at each tick: target health, alarms, the HTTP probe, metrics. A kind is one
/// type in this folder that reads its own section of the deployment file (`section`, a key of the file's schema: `AWSFileFormat.schema`),
/// says what one tick of it asks AWS (its part of `TickCost`, the figure `plan` prints) and makes the tick's check.
/// `CheckKinds.registered` lists them: a tick runs each one its plan configures, and `TickCost.of` adds up their
/// reads, so what plan says a tick costs and what a tick sends come from the same place (TickBatchingTests holds the
/// two equal for every kind). Hooks are not check kinds: they are effects of their own, run between steps
/// (docs/check-kinds.md).
protocol CheckKind: Sendable {
    /// The deployment file's section it reads, e.g. `checks.alarms`.
    var section: String { get }
    /// Whether it also runs beside the health read that gates the first step, before green takes traffic.
    var beforeTraffic: Bool { get }
    /// What one tick of it asks AWS for this plan: nothing when the plan does not configure it or it asks AWS nothing.
    func reads(_ plan: ReleasePlan) -> [TickCost.Read]
    /// This tick's check, or nil when the plan does not configure it.
    func check(_ d: Deployment, _ tick: CheckTick) -> ScheduledCheck?
}

/// What a kind builds a tick's check from: the performer (its clients, memo and clock) and the tick's rules.
struct CheckTick: Sendable {
    let effects: AWSEffects
    /// Failures in a row of a read that fails or times out that roll back: an AWS hiccup is not evidence against green.
    let readFailures: Int
    /// The same for a read AWS throttled: about a minute of ticks (`AWSEffects.throttledThreshold`).
    let throttledFailures: Int
    /// How long an AWS read of a check is given: one interval, never less than `AWSEffects.awsReadFloor`.
    let readTimeout: TimeInterval

    init(effects: AWSEffects, interval: TimeSpan) {
        self.effects = effects
        readFailures = 3
        throttledFailures = AWSEffects.throttledThreshold(interval, readFailures: readFailures)
        readTimeout = max(interval.seconds, AWSEffects.awsReadFloor)
    }

    /// A check that reads AWS: its timeout, and its throttling watch from this moment, the tick's start.
    func reading(_ name: String, resultNames: [String]? = nil, from services: [AWSService],
                 run: @escaping @Sendable () async -> [CheckResult]) -> ScheduledCheck {
        ScheduledCheck(name: name, resultNames: resultNames, timeoutThreshold: readFailures, timeout: readTimeout,
                       throttled: effects.throttledSinceNow(services), throttledThreshold: throttledFailures,
                       cloud: AWSTrafficBackends.words.name, run: run)
    }
}

/// The check kinds, in the order a tick lists their results and `TickCost` their reads. A new kind is one type and
/// one line here.
enum CheckKinds {
    static let registered: [any CheckKind] = [TargetHealthCheck(), AlarmsCheck(), HTTPProbeCheck(), MetricsCheck()]
}

extension AWSEffects {
    /// The shortest time an AWS read of a check is given, whatever `checks.interval` says: an answer takes a few
    /// hundred ms on a busy day, and a read cut short counts against green.
    static let awsReadFloor: TimeInterval = 2

    /// The checks of one tick, one per configured kind: while green takes traffic, every kind; before it
    /// (`beforeTraffic`, beside the health read that gates the first step), the kinds that run then. Each waits at
    /// most one interval (the probe at most its own timeout), so a tick never outlasts the interval. A read that fails
    /// or times out counts as a failure, but only three in a row roll back; an alarm in ALARM or an unhealthy target
    /// is evidence at once.
    func checks(_ d: Deployment, beforeTraffic: Bool = false) -> [ScheduledCheck] {
        let tick = CheckTick(effects: self, interval: d.plan.spec.checks.interval)
        return CheckKinds.registered.filter { !beforeTraffic || $0.beforeTraffic }.compactMap { $0.check(d, tick) }
    }

    /// Whether AWS has throttled any of `services` since this moment (a tick's start), asked when a check times out.
    func throttledSinceNow(_ services: [AWSService]) -> @Sendable () -> Bool {
        let since = Date().timeIntervalSince1970
        let aws = self.aws
        return { aws.throttled(services, since: since) }
    }

    /// The failures in a row a check whose reads AWS throttled takes to roll back: the ticks of about a minute, at
    /// least `readFailures`.
    static func throttledThreshold(_ interval: TimeSpan, readFailures: Int) -> Int {
        max(readFailures, Int((60 / max(interval.seconds, 0.001)).rounded(.up)))
    }
}
