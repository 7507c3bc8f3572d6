import ArgumentParser
import Foundation
import Orchestrator
import SwitchyardCore

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a release would create and change, without changing anything.",
        discussion: """
            Validates the deployment file and the AMI against AWS, discovers blue from the listener, and prints \
            the green group, the launch template version, the target groups and the steps. Makes no change in \
            AWS and writes nothing to the state file.
            """)

    @OptionGroup var release: ReleaseOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Failure.reporting {
            let logger = Session.logger()
            let (spec, _) = try Session.loadSpec(path: release.file)
            let provider = try Session.provider(for: spec, logger: logger)
            // Blue groups of this service's earlier deployments: they may be retired from green's target group, unless
            // a record keeps one for rollback.
            let store = try state.openIfExists()
            let retirable = try store?.blueGroups(service: spec.service) ?? []
            let retained = try store?.retainedBlues(service: spec.service) ?? []
            let latest = try store?.deployments(service: spec.service, limit: 1, activeOnly: false).first
            let context = PlanContext.of(retirable: retirable, retained: retained, latest: latest, endingRetention: release.endRetention, now: Date())
            let plan = try await provider.plan(spec, image: try release.resolveImage(spec).ami, deploymentId: "<deployment-id>",
                                               context: context).plan
            let delays = try await provider.drainDelays(plan)
            // A release running now (perhaps from another machine's state file) would make `start` exit 4: say so.
            let fence = provider.fence(spec)
            let claimedBy = try await fence.owner()
            if plan.blue.image == plan.image {
                Console.error("warning: blue \(plan.blue.group) already runs \(plan.image): a release would replace its "
                    + "instances with new ones of the same image")
            }
            if output.json {
                let view = JSONViews.PlanView(plan, listenerClaimedBy: claimedBy, deregistrationDelays: delays, tickCost: provider.tickCost(plan))
                Console.out(try JSONViews.encode(JSONViews.PlanOutput(view: view, cloud: try provider.presenter.json(plan))))
            } else {
                Console.out(Self.describe(plan, presenter: provider.presenter, deregistrationDelays: delays, tickCost: provider.tickCost(plan)))
                if let claimedBy {
                    let what = spec.traffic.traits.fencedName
                    Console.out("  warning   \(what) tagged \(fence.mark(for: claimedBy)): `start` refuses while that "
                        + "deployment runs (or `--force-unlock \(claimedBy)` if it is dead)")
                }
            }
            return .success
        }
    }

    static func describe(_ p: ReleasePlan, presenter: any PlanPresenter, deregistrationDelays: [String: Int] = [:], tickCost: TickCost) -> String {
        let fleets = presenter.fleets(p)
        var lines = [
            "Release of \(p.image) for service \(p.spec.service) in \(p.spec.region)",
            "  traffic   " + presenter.traffic(p),
            "  blue      \(p.blue.group) on \(p.spec.traffic.poolDisplay(p.blue.pool))",
            "            " + fleets.blue,
            "  green     \(p.greenGroup) on \(p.spec.traffic.poolDisplay(p.greenPool))",
            "            " + fleets.green,
        ]
        if let pair = p.pair {
            let before = pair.greenBefore
            lines.append("  pair      pair mode: green = \(p.greenGroup) (idle), no group is created or deleted")
            lines.append("            \(before.name) now: launch template version \(before.templateVersion), min/desired/max \(before.sizes); "
                + "a rollback puts that back, and blue \(p.blue.group) is scaled to 0/0/0 (kept) after its retention")
        }
        if let fleet = p.fleet { lines += describe(fleet, p, presenter: presenter) }
        for group in p.retire {
            let how = p.isPair ? "scaled to 0 first, kept" : "scaled to 0 and deleted first"
            lines.append("  retire    \(group) (stands on green's \(p.spec.cloud.pool) with no traffic; \(how))")
        }
        lines.append("  steps")
        var k = 0
        for step in p.spec.steps {
            switch step {
            case .weight(let w, let bake):
                k += 1
                if let shared = p.shared {
                    // The counts if nothing else changes; each step reads them afresh (SharedStep).
                    let split = SharedSplit.step(share: w, startHealthy: shared.startHealthy, blueHealthy: 0, greenHealthy: 0)
                    lines.append("    \(k). blue \(100 - w)% / green \(w)% for \(bake): \(split.blue) blue and \(split.green) green of \(split.total) healthy instances")
                } else {
                    lines.append("    \(k). blue \(100 - w)% / green \(w)% for \(bake)")
                }
            case .pause:
                lines.append("       manual gate: waits for `switchyard promote`")
            }
        }
        if let sticky = p.stickyForwards, !sticky.isEmpty {
            let longest = sticky.values.max() ?? 0
            lines.append("  sticky    target-group stickiness is on (\(Set(sticky.values).count == 1 ? "" : "up to ")\(longest) s): a client stays on the group it was bound to")
            lines.append("            whatever the weights, so each step moves new sessions only. In order: each step writes every forward,")
            lines.append("            stickiness kept; a rollback writes 100% blue with stickiness off in the same write, removes green,")
            lines.append("            then turns stickiness back on; after promotion blue is kept \(p.spec.promotion.blueRetention) (at least \(longest) s)")
        }
        lines += presenter.testRoute(p)
        lines += presenter.checks(p)
        lines += p.spec.traffic.traits.settlesByTTL ? dnsWait(p) : settle(p)
        lines += presenter.removal(p, drainDelays: deregistrationDelays)
        lines += describe(hooks: p.spec)
        lines.append(requests(tickCost, interval: p.spec.checks.interval, cloud: p.spec.cloud.name))
        lines.append("  total bake \(p.spec.totalBake); checks every \(p.spec.checks.interval); blue kept \(p.spec.promotion.blueRetention) after promotion")
        return lines.joined(separator: "\n")
    }

    /// What a bake costs AWS's rate limits: the reads of each check tick, those made only when an answer changed, and
    /// what a minute holds, steady and at most.
    static func requests(_ cost: TickCost, interval: TimeSpan, cloud: String = "AWS") -> String {
        let services = cost.perMinuteByService.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        func named(_ r: TickCost.Read) -> String { r.calls > 1 ? "\(r.action) ×\(r.calls)" : r.action }
        let every = cost.reads.filter { $0.refresh == nil }.map(named).joined(separator: ", ")
        let sometimes = cost.reads.filter { $0.refresh != nil }
            .map { "\(named($0)) (\($0.purpose), and at least every \(TimeSpan(milliseconds: Int64(($0.refresh ?? 0) * 1000))))" }
        var line = "  requests  while a step bakes, a check tick every \(interval) asks \(cloud) \(Spelling.count(cost.perTick, "request")) (\(every))"
        if !sometimes.isEmpty { line += " and " + sometimes.joined(separator: ", ") }
        line += ": \(cost.perMinute) a minute in a steady bake (\(services)), at most \(cost.perMinuteAtMost)"
        guard !cost.look.isEmpty else { return line }
        let reads = cost.look.map(named).joined(separator: ", ")
        return line + "\n            while a step is scaled to, a look every \(interval) asks \(Spelling.count(cost.look.reduce(0) { $0 + $1.calls }, "request")) "
            + "(\(reads)) and at most one write (a scale, a deregistration, a termination), with a check tick between two looks: "
            + "at most \(cost.lookPerMinuteAtMost) a minute"
    }

    /// Each hook with its point, timeout and `on_failure`, in the order the release runs them.
    static func describe(hooks spec: DeploymentSpec) -> [String] {
        guard let hooks = spec.hooks else { return [] }
        let steps = spec.weightSteps.count
        var lines: [String] = []
        for point in HookPoint.allCases {
            for hook in hooks[point] {
                let when = point != .afterStep ? "" : steps == 1 ? ", at the one step" : ", at each of the \(steps) steps"
                lines.append((lines.isEmpty ? "  hooks     " : "            ")
                    + "\(point): \(hook.commandLine) (timeout \(hook.timeout), on failure \(hook.onFailure.rawValue))\(when)")
            }
        }
        return lines
    }




    /// The settle added before each bake (ALB listeners).
    static func settle(_ p: ReleasePlan) -> [String] {
        let settle = p.trafficSettle
        let steps = p.spec.weightSteps.count
        let source = p.spec.traffic.settle == nil ? "traffic.settle, the default" : "traffic.settle"
        let total = TimeSpan(milliseconds: settle.milliseconds * Int64(steps))
        return ["  settle    \(settle) (\(source)): a listener change counts as live that long after it is confirmed, so each step's bake "
            + "and checks start then (+\(total) over \(Spelling.count(steps, "step"))), and the test route is trusted only after it"]
    }


    /// The records' TTL added before each bake, and a warning when it is long.
    static func dnsWait(_ p: ReleasePlan) -> [String] {
        guard let ttl = p.trafficSettleSeconds, p.spec.traffic.traits.settlesByTTL else { return [] }
        let steps = p.spec.weightSteps.count
        let settle = p.trafficSettle
        var lines = [settle.milliseconds <= Int64(ttl) * 1000
            ? "  dns       each step waits TTL \(ttl) s before its bake: +\(ttl * steps) s total (\(Spelling.count(steps, "step"))); after a rollback green "
                + "stays \(ttl) s more, until resolvers forget it"
            : "  dns       each step waits \(settle) before its bake (the TTL, \(ttl) s, and \(p.spec.traffic.settle == nil ? "15 s for the name servers to take the change up" : "the rest of traffic.settle")): "
                + "+\(TimeSpan(milliseconds: settle.milliseconds * Int64(steps))) total (\(Spelling.count(steps, "step"))); after a rollback green stays \(settle) more, until resolvers forget it"]
        if ttl > 60 {
            lines.append("  warning   the records' TTL is \(ttl) s (over 60 s): clients keep an old answer that long, so each step and a rollback "
                + "take that long to reach them; lower the TTL before releasing")
        }
        return lines
    }


    /// The fleet section: what green copies, what it cannot, how both groups are pinned while the release runs.
    static func describe(_ f: FleetPlan, _ p: ReleasePlan, presenter: any PlanPresenter) -> [String] {
        var lines: [String] = []
        if let source = f.architectureSource { lines.append("  arch      \(p.blue.architecture.isEmpty ? "unknown" : p.blue.architecture) from \(source)") }
        lines.append("  copies    " + (f.items.isEmpty ? "nothing beyond the group's shape" : f.items[0]))
        for item in f.items.dropFirst() { lines.append("            \(item)") }
        for item in f.notCopied { lines.append("  not copied \(item)") }
        let pinned = presenter.pinned(p, f)
        if let first = pinned.first { lines.append("  pinned    \(first)") }
        lines += pinned.dropFirst()
        let others = f.otherPools + f.otherLoadBalancers
        if !others.isEmpty {
            lines.append("  others    green joins \(others.joined(separator: ", ")) at promotion (fleet.other_target_groups: join_at_promotion)")
        }
        if p.spec.fleet.templateDefault == .promote {
            lines.append("            green's version becomes the launch template's default at promotion (fleet.launch_template_default: promote)")
        }
        return lines
    }
}
