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
        "Clear the listener's switchyard:deployment tag left by this deployment id, known to be dead (logged).", valueName: "id"))
    var forceUnlock: String?
    @Flag(name: .customLong("detach-at-pause"), help: "At a manual gate, stop (exit 5) instead of waiting; `switchyard promote ID` carries on.")
    var detachAtPause = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let stop = Session.stopOnSignals()
            let logger = Session.logger()
            let (spec, digest) = try Session.loadSpec(path: release.file)
            let (ami, amiSource) = try release.resolveAMI(region: spec.region)
            let (store, newFileNote) = try state.open()
            if let active = try store.latest(service: spec.service, states: DeploymentState.allCases.filter { !$0.isTerminal }) {
                if let lease = try store.lease(service: spec.service), lease.deploymentId == active.id, lease.isLive(at: Date()) {
                    throw LeaseError.held(lease, at: Date())
                }
                throw StateStoreError.activeDeploymentExists(id: active.id, state: active.state, since: active.createdAt)
            }
            let (aws, _) = try Session.aws(region: spec.region, logger: logger)
            let now = Date()
            let id = Session.newDeploymentId(now: now)
            let planner = Planner(aws: aws, logger: logger)
            var (plan, facts) = try await planner.planWithFacts(spec: spec, ami: ami, deploymentId: id, retirable: try store.blueGroups(service: spec.service),
                                                                endingRetention: release.endRetention)
            let actor = Session.actor
            let listener = ListenerGuard(aws: aws, spec: spec)
            let mayReplace: (String) -> Bool = { owner in
                owner == forceUnlock || ((try? store.deployment(id: owner))??.state.isTerminal ?? false)
            }
            let owner = try await listener.owner()
            if let owner, !mayReplace(owner) { throw ListenerClaimed(resource: listener.resourceArn, owner: owner) }
            let swept = await Session.housekeeping(store: store, service: spec.service, logger: logger, stop: stop)
            if swept.due > 0 {
                // A retirement ran (settled and drained, perhaps for minutes): the plan's answers are that old, and a
                // group it would have retired may be gone already.
                (plan, facts) = try await planner.planWithFacts(spec: spec, ami: ami, deploymentId: id, retirable: try store.blueGroups(service: spec.service),
                                                                endingRetention: release.endRetention)
            }
            var deployment = Deployment(id: id, plan: plan, fileDigest: digest, actor: actor, now: Date())
            var details = ["file": release.file, "file_digest": digest]
            if let amiSource { details["ami_source"] = amiSource }
            if release.endRetention, !plan.retire.isEmpty { details["end_retention"] = plan.retire.joined(separator: ",") }
            let created = LogEntry(from: .pending, to: .pending,
                                   message: "deployment of \(plan.ami) created from \(release.file) by \(actor)" + (amiSource.map { " (AMI from \($0))" } ?? "")
                                       + (details["end_retention"].map { "; --end-retention: \($0) may be retired before its retention deadline" } ?? ""),
                                   details: details)
            if let signal = stop.signal {
                Console.error("\(signal) before the deployment was created: nothing was changed")
                return .interrupted
            }
            let holding = DeploymentRunner.Holding(holder: LeaseHolder(actor: actor), ttl: Session.leaseTTL)
            deployment = try store.insert(deployment, log: created, actor: actor, at: Date(), lease: holding.holder, ttl: holding.ttl)
            defer { try? store.releaseLease(service: spec.service, holder: holding.holder) }
            Console.error("deployment \(id) started")
            if let newFileNote { Console.error(newFileNote) }
            if let owner, owner == forceUnlock {
                let log = LogEntry(from: .pending, to: .pending, message: "listener tag of deployment \(owner) cleared with --force-unlock by \(actor)",
                                   details: ["force_unlock": owner])
                deployment = try store.save(deployment, log: log, actor: actor, at: Date())
            }
            do {
                try await listener.claim(for: id, owner: owner, mayReplace: mayReplace)
            } catch {
                // Nothing else was touched yet: end the deployment here rather than leave it blocking the service.
                var failed = deployment
                failed.state = .failed
                failed.failureReason = error is ListenerClaimed
                    ? "another deployment claimed the listener at the same moment; nothing was changed in AWS. \(error)"
                    : "could not tag \(listener.resourceArn) with \(ListenerGuard.tagKey) (\(Failure.message(for: error))); "
                        + "nothing else was changed in AWS. Switchyard needs elasticloadbalancing:AddTags, RemoveTags and DescribeTags on it."
                try store.save(failed, log: LogEntry(from: .pending, to: .failed, message: failed.failureReason ?? ""), actor: actor, at: Date())
                try Session.printFinal(id, store: store, json: output.json)
                if error is ListenerClaimed { throw error }
                throw UnexpectedFailure(description: "deployment \(id) failed: \(failed.failureReason ?? "")")
            }
            let final = try await Session.printingWhenStopped(id, store: store, json: output.json) {
                try await Session.drive(deployment, store: store, aws: aws, actor: actor, logger: logger, holding: holding,
                                        detachAtPause: detachAtPause, facts: facts)
            }
            await Session.releaseListener(listener, final)
            Console.error(Self.summary(final))
            try Session.printFinal(id, store: store, json: output.json)
            return Exit.forState(final.state)
        }
    }


    static func summary(_ d: Deployment) -> String {
        switch d.state {
        case .completed:
            return "deployment \(d.id) completed: \(d.ami) serves 100% of \(d.service) from \(d.plan.greenAutoScalingGroup)"
        case .rolledBack:
            return "deployment \(d.id) rolled back: \(d.rollbackReason ?? "no reason recorded")"
        case .failed:
            return "deployment \(d.id) failed: \(d.failureReason ?? "no reason recorded")"
        default:
            return "deployment \(d.id) stopped in state \(d.state); continue with `switchyard resume \(d.id)`"
        }
    }
}
