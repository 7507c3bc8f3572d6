import Foundation
import Logging
import Orchestrator
import StateStore
import SwitchyardCore

/// Housekeeping that `start` and `gc` run: blues past their retention, test routes a failed rollback left.
extension Session {
    /// Housekeeping at `start`: a signal stops it between two steps or mid-request and ends the command (exit 5).
    /// Returns how many blues were due (0: nothing was done, and a read made just before still holds).
    static func housekeepingBeforeStart(_ stop: StopRequest, store: StateStore, service: String, logger: Logger) async throws -> Int {
        // A retirement stops between two steps or abandons its request in flight; either way its settle and drain
        // deadlines are stored and its trail says where it stopped, so a fleet half-deregistered has a record of it.
        let swept = await housekeeping(store: store, service: service, logger: logger, stop: stop)
        if let signal = stop.signal {
            throw StoppedEarly(description: "\(signal) while retiring blues past their retention: "
                + (swept.due > 0 ? "the retirement stopped where its release's trail says (a request in flight was abandoned: AWS may or may "
                    + "not have done it), its deadlines stored, and the next `start` or `switchyard gc` goes on; " : "")
                + "nothing else was changed in AWS, and no deployment was recorded")
        }
        return swept.due
    }

    /// Retires the blue of completed releases whose retention is over (of one service, or all), saying so on stderr
    /// (with each step of the retirement: its settle, its deregistration, its drain). Best effort: a problem is
    /// reported and left for the next command, which goes on from where the record says the retirement got to.
    /// Returns how many blues were due, whether every one of them was retired, and the groups retired.
    @discardableResult
    static func housekeeping(store: StateStore, service: String?, logger: Logger, stop: StopRequest? = nil) async -> (due: Int, clean: Bool, retired: Set<String>) {
        let keeper = Housekeeper(store: store, clock: SystemClock(), actor: actor, effects: { spec in
            try provider(for: spec, logger: logger).performer(facts: nil, clock: SystemClock())
        }, onChange: { d, log, at in
            Console.error(Console.progressLine(d, log, at: at))
            notifier.notify(d, log, at: at)
        }, stop: stop)
        do {
            let due = try keeper.due(service: service)
            guard !due.isEmpty else { return (0, true, []) }
            var clean = true
            var retired: Set<String> = []
            for outcome in await keeper.collect(due) {
                let d = outcome.deployment
                if d.state == .failed {
                    Console.error(outcome.problem.map { "warning: the test route of deployment \(d.id) could not be removed: \($0)" }
                        ?? "removed the test route left by deployment \(d.id) (\(d.service))")
                    clean = clean && outcome.problem == nil
                } else if let problem = outcome.problem {
                    clean = false
                    Console.error("warning: blue \(d.plan.blue.group) of deployment \(d.id) is past its retention but was left alone: \(problem)")
                } else {
                    retired.insert(d.plan.blue.group)
                    Console.error("retired blue \(d.plan.blue.group) of deployment \(d.id) (\(d.service)): its retention ended \(d.retentionDeadline.map(Console.time) ?? "")")
                }
            }
            return (due.count, clean, retired)
        } catch {
            Console.error("warning: could not retire expired blue groups: \(Failure.message(for: error))")
            return (1, false, [])
        }
    }
}
