import AWS
import Foundation
import Orchestrator
import SwitchyardCore

/// `checks.alarms`: each named CloudWatch alarm not in ALARM, every alarm in one `DescribeAlarms` per 100. Runs before
/// traffic too: an alarm already firing stops the release before green serves anyone.
struct AlarmsCheck: CheckKind {
    var section: String { "checks.alarms" }
    var beforeTraffic: Bool { true }

    func reads(_ plan: ReleasePlan) -> [TickCost.Read] {
        let alarms = plan.spec.checks.alarms
        guard !alarms.isEmpty else { return [] }
        return [TickCost.Read(service: "monitoring", action: "DescribeAlarms", calls: TickCost.batches(alarms.count, of: CloudWatch.maxAlarmNamesPerCall),
                              purpose: "the \(Spelling.count(alarms.count, "alarm")) of checks.alarms")]
    }

    func check(_ d: Deployment, _ tick: CheckTick) -> ScheduledCheck? {
        let alarms = d.plan.spec.checks.alarms
        guard !alarms.isEmpty else { return nil }
        let names = alarms.map { "alarm:\($0)" }
        let cloudWatch = tick.effects.aws.cloudWatch, readFailures = tick.readFailures
        return tick.reading("alarms", resultNames: names, from: [.cloudWatch]) {
            do {
                return Self.results(alarms, try await cloudWatch.describeAlarms(names: alarms))
            } catch {
                return names.map { CheckResult(name: $0, passed: false, evidence: "could not read the alarms: \(error)", threshold: readFailures) }
            }
        }
    }

    /// One result per configured alarm. moto ignores StateValue beside AlarmNames, so the state is judged here.
    static func results(_ names: [String], _ alarms: [MetricAlarm]) -> [CheckResult] {
        names.map { name in
            guard let alarm = alarms.first(where: { $0.name == name }) else {
                return CheckResult(name: "alarm:\(name)", passed: false, evidence: "alarm \(name) does not exist")
            }
            let reason = alarm.stateReason.map { ": \($0)" } ?? ""
            return CheckResult(name: "alarm:\(name)", passed: alarm.state != "ALARM", evidence: "alarm \(name) is \(alarm.state)\(reason)")
        }
    }
}
