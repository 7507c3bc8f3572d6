import ArgumentParser
import Foundation
import Orchestrator
import StateStore
import SwitchyardCore

struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release an AMI: create green, prove it healthy, shift traffic step by step, promote or roll back.",
        discussion: """
            Runs the deployment in the foreground until it completes (exit 0), rolls back (exit 3) or fails \
            (exit 1). The first line on stderr is `deployment <ID> started`; then one line per step.
            """)

    @OptionGroup var release: ReleaseOptions
    @OptionGroup var state: StateOptions
    @Option(name: .customLong("force-unlock"), help: ArgumentHelp(
        "Clear the listener's switchyard:deployment:<id> tag left by this deployment id, known to be dead (logged).", valueName: "id"))
    var forceUnlock: String?
    @Flag(name: .customLong("detach-at-pause"), help: "At a manual gate, stop (exit 5) instead of waiting; `switchyard promote ID` carries on.")
    var detachAtPause = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let stop = Session.stopOnSignals()
            let logger = Session.logger()
            let (spec, digest) = try Session.loadSpec(path: release.file)
            let (ami, amiSource) = try release.resolveImage(spec)
            let (store, newFileNote) = try state.open()
            if let active = try store.latest(service: spec.service, states: DeploymentState.allCases.filter { !$0.isTerminal }) {
                if let lease = try store.lease(service: spec.service), lease.deploymentId == active.id, lease.isLive(at: Date()) {
                    throw LeaseError.held(lease, at: Date())
                }
                if active.movedTo != nil { throw MovedAwayActive(deployment: active) }
                throw StateStoreError.activeDeploymentExists(id: active.id, state: active.state, since: active.createdAt)
            }
            // A failed rollback that left green weighted is not over either: its traffic is not where `failed` says.
            let latest = try store.deployments(service: spec.service, limit: 1, activeOnly: false).first
            if let last = latest, last.trafficUnsettled {
                throw TrafficUnsettled(deployment: last)
            }
            let provider = try Session.provider(for: spec, logger: logger)
            let now = Date()
            let id = Session.newDeploymentId(now: now)
            let retained = try store.retainedBlues(service: spec.service)
            let context = PlanContext.of(retirable: try store.blueGroups(service: spec.service), retained: retained, latest: latest,
                                         endingRetention: release.endRetention, now: now)
            let actor = Session.actor
            let listener = provider.fence(spec)
            // Nothing is changed in AWS before the claim: a signal until then ends the command at once.
            var (planned, owners) = try await Session.beforeAnyChange(stop, "planning") {
                (try await provider.plan(spec, image: ami, deploymentId: id, context: context), try await listener.owners())
            }
            let unlock = forceUnlock
            let mayReplace: @Sendable (String) -> Bool = { owner in
                owner == unlock || ((try? store.deployment(id: owner))??.state.isTerminal ?? false)
            }
            if let owner = owners.first(where: { !mayReplace($0) }) { throw listener.refusal(heldBy: owner) }
            let retired = try await Session.housekeepingBeforeStart(stop, store: store, service: spec.service, logger: logger)
            if retired > 0 {
                // A retirement ran (settled and drained, perhaps for minutes): the plan's answers are that old, and a
                // group it would have retired may be gone already.
                var replanning = context
                replanning.retirable = try store.blueGroups(service: spec.service)
                let again = replanning
                planned = try await Session.beforeAnyChange(stop, "planning again after retiring blues",
                                                            unchanged: Session.unchangedInAWS(besidesHousekeeping: retired) + ", and no deployment was recorded") {
                    try await provider.plan(spec, image: ami, deploymentId: id, context: again)
                }
            }
            // The tags read at the end of planning are an instant old unless housekeeping took its time: then read them again.
            let known: [String]? = retired == 0 ? owners : nil
            let plan = planned.plan
            var deployment = Deployment(id: id, plan: plan, fileDigest: digest, actor: actor, now: Date())
            var details = ["file": release.file, "file_digest": digest]
            if let amiSource { details["ami_source"] = amiSource }
            if release.endRetention, !plan.retire.isEmpty { details["end_retention"] = plan.retire.joined(separator: ",") }
            let created = LogEntry(from: .pending, to: .pending,
                                   message: "deployment of \(plan.image) created from \(release.file) by \(actor)" + (amiSource.map { " (AMI from \($0))" } ?? "")
                                       + (details["end_retention"].map { "; --end-retention: \($0) may be retired before its retention deadline" } ?? ""),
                                   details: details)
            if let signal = stop.signal {
                Console.error("\(signal) before the deployment was created: \(Session.unchangedInAWS(besidesHousekeeping: retired)), and no deployment was recorded")
                return .interrupted
            }
            let holding = DeploymentRunner.Holding(holder: LeaseHolder(actor: actor), ttl: Session.leaseTTL)
            deployment = try store.insert(deployment, log: created, actor: actor, at: Date(), lease: holding.holder, ttl: holding.ttl)
            defer { try? store.releaseLease(service: spec.service, holder: holding.holder) }
            Console.error("deployment \(id) started")
            if let newFileNote { Console.error(newFileNote) }
            if let owner = owners.first(where: { $0 == forceUnlock }) {
                let log = LogEntry(from: .pending, to: .pending, message: "listener tag of deployment \(owner) cleared with --force-unlock by \(actor)",
                                   details: ["force_unlock": owner])
                deployment = try store.save(deployment, log: log, actor: actor, at: Date())
            }
            do {
                try await stop.abandoning { try await listener.claim(for: id, owners: known, mayReplace: mayReplace) }
            } catch {
                // Nothing but the tag was touched: end the deployment here rather than leave it blocking the service.
                // Stopped mid-claim, the tag this start wrote (or may have written) is taken off again: it would block
                // every start from another state file until --force-unlock.
                var untagged: Result<Void, Error>?
                if error is StoppedBySignal {
                    do {
                        // Bounded: the operator asked to stop, and a second signal would leave the tag anyway.
                        try await Session.within(listener.settle + 5, "taking the tag off again") { try await listener.release(for: id) }
                        untagged = .success(())
                    } catch let failure {
                        untagged = .failure(failure)
                    }
                }
                var failed = deployment
                failed.state = .failed
                failed.failureReason = Self.claimFailure(error, listener: listener, id: id, untagged: untagged, housekept: retired)
                try store.save(failed, log: LogEntry(from: .pending, to: .failed, message: failed.failureReason ?? ""), actor: actor, at: Date())
                try Session.printFinal(id, store: store, json: output.json)
                // Another release holds the traffic (exit 4), as the fence's claim said.
                if (error as? ProviderFailure)?.failureKind == .conflict { throw error }
                if let stopped = error as? StoppedBySignal { throw StoppedEarly(description: "\(stopped.signal): \(failed.failureReason ?? "")") }
                throw UnexpectedFailure(description: "deployment \(id) failed: \(failed.failureReason ?? "")")
            }
            let final = try await Session.printingWhenStopped(id, store: store, json: output.json) {
                try await Session.drive(deployment, store: store, provider: provider, actor: actor, logger: logger, holding: holding,
                                        detachAtPause: detachAtPause, facts: planned.facts)
            }
            await Session.releaseListener(listener, final)
            Console.error(Self.summary(final))
            try Session.printFinal(id, store: store, json: output.json)
            return Exit.forState(final.state)
        }
    }

    /// Why a claim of the listener ended the deployment before anything but the tag changed, truthfully. `untagged`
    /// is how taking the tag off again went, after a signal; `housekept` how many blues housekeeping worked on first.
    static func claimFailure(_ error: Error, listener: any TrafficFence, id: String, untagged: Result<Void, Error>? = nil, housekept: Int = 0) -> String {
        let unchanged = Session.unchangedInAWS(besidesHousekeeping: housekept)
        switch error {
        case let refused as ProviderFailure where refused.failureKind == .conflict:
            // Another deployment holds the mark, or this claim's own never read back: the fence's words.
            return "\(refused)"
        case let stopped as StoppedBySignal:
            let tagging = "interrupted by \(stopped.signal) while tagging \(listener.resource) with \(listener.mark(for: id))"
            if case .failure(let failure) = untagged {
                return "\(tagging); taking the tag off again failed (\(Failure.message(for: failure))), so it may stand: it blocks no later start "
                    + "from this state file, as this deployment is over, and a start from another clears it with `--force-unlock \(id)`. "
                    + "Besides the tag, \(unchanged)."
            }
            return "\(tagging); the tag was taken off again; besides the tag, \(unchanged)."
        default:
            return "could not tag \(listener.resource) with \(listener.mark(for: id)) (\(Failure.message(for: error))); "
                + "besides the tag, \(unchanged). Switchyard needs elasticloadbalancing:AddTags, RemoveTags and DescribeTags on it."
        }
    }

    static func summary(_ d: Deployment) -> String {
        switch d.state {
        case .completed:
            return "deployment \(d.id) completed: \(d.image) serves 100% of \(d.service) from \(d.plan.greenGroup)"
        case .rolledBack:
            return "deployment \(d.id) rolled back: \(d.rollbackReason ?? "no reason recorded")"
        case .failed:
            return "deployment \(d.id) failed: \(d.failureReason ?? "no reason recorded")"
        default:
            return "deployment \(d.id) stopped in state \(d.state); continue with `switchyard resume \(d.id)`"
        }
    }
}

/// A start refused because the service's last deployment failed with green still weighted (exit 4).
struct TrafficUnsettled: Error, CustomStringConvertible {
    var deployment: Deployment

    var description: String {
        "deployment \(deployment.id) of \(deployment.service) failed with traffic still split (blue \(deployment.blueWeight)% / green "
            + "\(deployment.greenWeight)%): finish it with `switchyard rollback \(deployment.id)` before a new release"
            + (deployment.failureReason.map { ". It failed: \($0)" } ?? "")
    }
}
