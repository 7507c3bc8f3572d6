import ArgumentParser
import Foundation
import StateStore
import SwitchyardCore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the active deployments, or one deployment: state, step, weights.")

    @Argument(help: "A deployment id (default: every active deployment).", completion: Completions.deploymentIds) var id: String?
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            // A read command: it never changes AWS (blues past their retention go in `start` and `gc`).
            let store: StateStore? = try state.openForReading()
            let deployments: [Deployment]
            if let id {
                guard let d = try store?.deployment(id: id) else { throw UsageError("no deployment \(id) in \(state.path)") }
                deployments = [d]
            } else {
                deployments = try Self.active(store)
            }
            if output.json {
                func view(_ d: Deployment) async throws -> JSONViews.DeploymentView {
                    let lease = try store?.lease(deploymentId: d.id).flatMap { d.state.isTerminal ? nil : $0 }
                    let blue = Show.hasBlueToRead(d, now: Date()) ? await Show.readBlue(d) : nil
                    return JSONViews.DeploymentView(d, events: nil, lease: lease, blueRead: blue)
                }
                if id != nil, let d = deployments.first {
                    Console.out(try JSONViews.encode(await view(d)))
                } else {
                    var views: [JSONViews.DeploymentView] = []
                    for d in deployments { views.append(try await view(d)) }
                    Console.out(try JSONViews.encode(views))
                }
            } else if deployments.isEmpty {
                Console.out("no active deployments")
            } else {
                let now = Date()
                for d in deployments {
                    Console.out("\(d.id)  \(d.service)  \(d.state.rawValue)  step \(d.stepLabel)  blue \(d.blueWeight)% / green \(d.greenWeight)% "
                        + "(\(Self.weightsAge(d, now: now)))  \(d.image)"
                        + (d.lastObservation.map { "  (\($0)\(Console.age(d.lastObservationAt, now: now)))" } ?? ""))
                    if let checks = d.lastChecks, !checks.isEmpty, !d.state.isTerminal {
                        // Checks run only while a process runs the release: their last results carry their age.
                        let shown = checks.map { "\($0.passed ? "ok" : "FAIL") \($0.name)" }.joined(separator: ", ")
                        Console.out("  last checks: \(shown)\(Console.age(d.lastChecksAt, now: now))")
                    }
                    if let wait = d.trafficWait(at: now) { Console.out("  " + Console.waiting(wait)) }
                    if let change = d.handChange {
                        Console.out("  paused: traffic changed by hand (\(change.summary)): `switchyard promote \(d.id)` writes the next step over it, "
                                    + "`switchyard resume \(d.id) --accept-current` adopts it, `switchyard rollback \(d.id)` goes back to blue")
                    } else if d.state == .paused {
                        Console.out("  waiting at a manual gate: `switchyard promote \(d.id)` lets it go on")
                    }
                    if d.trafficUnsettled {
                        Console.out("  its rollback failed with green still at \(d.greenWeight)%: `switchyard rollback \(d.id)` finishes it"
                            + (d.failureReason.map { " (\($0))" } ?? ""))
                    }
                    if let to = d.movedTo {
                        Console.out("  moved to \(to) by `switchyard state copy --move`: it goes on there, not here")
                    } else if !d.state.isTerminal {
                        let lease = try store?.lease(service: d.service).flatMap { $0.deploymentId == d.id ? $0 : nil }
                        Console.out("  " + Self.runner(d, lease: lease, now: now))
                    } else if Show.hasBlueToRead(d, now: now) {
                        // Read from AWS now, as `show` does: another state file, gc or a person may have removed it.
                        Console.out("  " + Show.describe(await Show.readBlue(d), d))
                    }
                }
            }
            return .success
        }
    }

    /// `confirmed 14 min ago`: how old the weights shown are, from the record (status reads no listener); `as last
    /// written` when no step's weights were confirmed yet (those of the plan's start, or of a record without the time).
    static func weightsAge(_ d: Deployment, now: Date) -> String {
        guard let at = d.weightsConfirmedAt else { return "as last written" }
        return "confirmed " + Console.age(at, now: now).dropFirst(2)
    }

    /// The deployments that are not over: every one in a non-terminal state, and each service's latest deployment
    /// when it failed with traffic still on green (its state is final, its traffic is not where a final state says).
    static func active(_ store: StateStore?) throws -> [Deployment] {
        guard let store else { return [] }
        let running = try store.deployments(service: nil, limit: 1000, activeOnly: true)
        var latest: [String: Deployment] = [:]
        for d in try store.deployments(service: nil, limit: 200, activeOnly: false) where latest[d.service] == nil { latest[d.service] = d }
        let unsettled = latest.values.filter(\.trafficUnsettled).sorted { $0.createdAt > $1.createdAt }
        return running + unsettled.filter { d in !running.contains { $0.service == d.service } }
    }

    /// Who runs an active deployment (host, pid, actor) and whether it is alive, from its lease: the same answer on
    /// every machine that shares the state.
    static func runner(_ d: Deployment, lease: Lease?, now: Date) -> String {
        let carryOn = "`switchyard resume \(d.id)` carries it on, `switchyard rollback \(d.id)` rolls it back from here"
        guard let lease else { return "no live process runs it: " + carryOn }
        if lease.isLive(at: now) {
            return "run by \(lease.describe(at: now)); live (lease renewed until \(Console.time(lease.expiresAt)))"
        }
        let why = now >= lease.expiresAt
            ? "its lease expired \(String(format: "%.0f", now.timeIntervalSince(lease.expiresAt)))s ago"
            : "its process is gone from this host"
        return "no live process runs it (last run by \(lease.describe(at: now)); \(why)): " + carryOn
    }
}
