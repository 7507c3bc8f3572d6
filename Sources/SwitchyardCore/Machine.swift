import Foundation

/// What the orchestrator does next for a deployment, decided from the stored record and the time alone.
public enum Decision: Sendable, Hashable {
    /// Store this state change, then decide again.
    case transition(Transition)
    /// Run this effect against AWS and feed its outcome to `Machine.apply`.
    case perform(Effect)
    /// Nothing is due before this moment.
    case wait(until: Date)
    /// The deployment is terminal.
    case done
}

/// A new version of the record, with the audit-log entry that explains it (if the change is worth one).
public struct Transition: Sendable, Hashable {
    public var deployment: Deployment
    public var log: LogEntry?

    public init(deployment: Deployment, log: LogEntry?) {
        self.deployment = deployment
        self.log = log
    }
}

/// One line of the audit trail.
public struct LogEntry: Sendable, Hashable, Codable {
    public var from: DeploymentState
    public var to: DeploymentState
    public var message: String
    public var details: [String: String]

    public init(from: DeploymentState, to: DeploymentState, message: String, details: [String: String] = [:]) {
        self.from = from
        self.to = to
        self.message = message
        self.details = details
    }

    /// An event's details about one fleet: its name under `fleet`, with `more`. The same name is also under `asg`, the
    /// key events had before they spoke of fleets: kept for readers of `show --json` and the audit log written against
    /// it (docs/commands.md says it goes in 0.3), and the only place the core still writes it.
    public static func fleet(_ name: String, _ more: [String: String] = [:]) -> [String: String] {
        more.merging([fleetKey: name, legacyFleetKey: name]) { _, name in name }
    }

    /// The detail key naming the fleet an event is about.
    public static let fleetKey = "fleet"
    /// The same name under the key events had before 0.2 (an Auto Scaling group's), deprecated.
    public static let legacyFleetKey = "asg"
}

/// The deployment state machine: pure functions of the record, an event and the time.
public enum Machine {
    /// Decides the next thing to do for `d` at `now`. Calling it twice without applying anything gives the same answer.
    public static func decide(_ d: Deployment, now: Date) -> Decision {
        if d.state.isTerminal { return .done }
        let spec = d.plan.spec
        switch d.state {
        case .pending:
            return .perform(.begin)
        case .launching:
            if let retry = d.effectRetry, retry.notBefore > now { return .wait(until: retry.notBefore) }
            if let group = d.plan.retire.first(where: { !d.retiredGroups.contains($0) && !(d.leftOffGroups ?? []).contains($0) }) {
                // The plan read no traffic on green's target group when the deployment was created: the settle counts
                // from then.
                return removing(d, group: group, trafficLeftAt: d.createdAt, now: now, then: .retireFleet(group),
                                why: "retiring \(group) from green's \(d.plan.spec.cloud.pool)")
            }
            // Before the new version exists: a blue on `$Latest` would launch it at once.
            if d.plan.fleet != nil && !d.reached(.bluePinned) { return .perform(.pinBlue) }
            guard let version = d.greenTemplateVersion else { return .perform(.ensureGreenTemplate) }
            return .perform(.ensureGreenFleet(template: version))
        case .waitingForCapacity:
            if let copy = pendingCopy(d) { return .perform(.copyToGreen(copy)) }
            // The test route is up before green is checked, so the probe reaches green from its first tick.
            if d.needsTestRoute { return .perform(.ensureTestRoute) }
            if let failures = d.greenCapacity?.launchFailures, LaunchFailureRule.endsTheWait(failures) {
                return rollback(d, now: now, reason: "green could not launch its instances: \(failures.inARow) launch activities in a row failed "
                    + "(the wait ends at \(LaunchFailureRule.limit), before fleet.capacity_timeout \(spec.fleet.capacityTimeout)); \(spec.cloud.name) says: \(failures.message)",
                    check: "capacity")
            }
            if now >= d.phaseStartedAt.adding(spec.fleet.capacityTimeout) {
                let seen = d.lastObservation.map { " (last seen: \($0))" } ?? ""
                return rollback(d, now: now, reason: "green did not reach \(d.plan.blue.desiredCapacity) InService instances within fleet.capacity_timeout \(spec.fleet.capacityTimeout)\(seen)", check: "capacity")
            }
            return due(d, now: now, .observeCapacity)
        case .checkingHealth:
            if d.needsTestRoute { return .perform(.ensureTestRoute) }
            if now >= d.phaseStartedAt.adding(spec.checks.healthyTimeout) {
                let seen = d.lastObservation.map { " (last seen: \($0))" } ?? ""
                return rollback(d, now: now, reason: "green targets were not all healthy within checks.healthy_timeout \(spec.checks.healthyTimeout)\(seen)", check: "target-health")
            }
            return due(d, now: now, .observeGreenHealth)
        case .shifting:
            return decideShifting(d, now: now)
        case .paused:
            if d.recheckAfterResume == true { return .perform(.runChecks) }
            if d.promoteRequested {
                if !d.consecutiveFailures.isEmpty { return due(d, now: now, .runChecks) }
                if let back = d.hookPause { return .transition(leaveHookPause(d, back: back, now: now)) }
                if d.handChange != nil { return .transition(leaveHandPause(d, accept: nil, now: now)) }
                var next = d
                next.promoteRequested = false
                return .transition(advance(next, now: now, message: "promoted past the manual gate"))
            }
            return due(d, now: now, .runChecks)
        case .promoting:
            if let hook = hookDecision(d, .beforePromotion, now: now) { return hook }
            if d.testRouteMayStand { return .perform(.removeTestRoute) }
            if d.plan.fleet != nil && !d.reached(.greenReleased) { return .perform(.releaseGreen) }
            if d.reached(.promotionConfirmed) {
                return hookDecision(d, .afterPromotion, now: now) ?? .transition(complete(d, now: now))
            }
            return .perform(.confirmPromotion)
        case .rollingBack:
            if let retry = d.effectRetry, retry.notBefore > now { return .wait(until: retry.notBefore) }
            // Traffic goes back to blue first, whatever blue holds (green is failing): the read of what blue can carry
            // comes after it, for the log, and is not on the way back.
            if !d.reached(.trafficRestored) {
                guard d.plan.shared != nil else { return .perform(.restoreBlue) }
                return restoringSharedBlue(d, now: now)
            }
            if d.plan.fleet != nil && d.blueCapacityAtRollback == nil { return .perform(.observeBlue) }
            if d.testRouteMayStand { return .perform(.removeTestRoute) }
            if let retiring = interruptedRetirement(d, now: now) { return retiring }
            if !d.reached(.greenRemoved) {
                let left = d.mayHaveServedGreen ? (d.trafficRestoredAt ?? now) : nil
                return removing(d, group: d.plan.greenGroup, trafficLeftAt: left, now: now, then: .removeGreen,
                                why: "green \(d.plan.greenGroup) leaves service")
            }
            if d.needsStickinessRestored { return .perform(.restoreStickiness) }
            if d.plan.fleet != nil && !d.reached(.blueRestored) { return .perform(.restoreBlueFleet) }
            if let hook = hookDecision(d, .afterRollback, now: now) { return hook }
            var next = d
            next.state = .rolledBack
            next.updatedAt = now
            let green = d.plan.isPair ? "green \(d.plan.greenGroup) back as it was" : "green removed"
            return .transition(Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .rolledBack, message: "rolled back: traffic is 100% on blue \(d.plan.blue.group), \(green)")))
        case .completed, .rolledBack, .failed:
            return .done
        }
    }

    /// The first copy from blue that green still lacks.
    static func pendingCopy(_ d: Deployment) -> FleetCopy? {
        guard let fleet = d.plan.fleet else { return nil }
        let done = Set(d.greenCopies ?? [])
        return fleet.copies.first { !done.contains($0) }
    }

    /// Either the observation is due now, or the wait until it is.
    static func due(_ d: Deployment, now: Date, _ effect: Effect) -> Decision {
        if let next = d.nextCheckAt, next > now { return .wait(until: next) }
        return .perform(effect)
    }

    private static func rollback(_ d: Deployment, now: Date, reason: String, check: String) -> Decision {
        .transition(startRollback(d, now: now, reason: reason, details: ["check": check]))
    }

    /// Moves any non-terminal deployment to `rolling_back`, keeping the first reason given.
    public static func startRollback(_ d: Deployment, now: Date, reason: String, details: [String: String] = [:]) -> Transition {
        var next = d
        next.state = .rollingBack
        next.rollbackReason = d.rollbackReason ?? reason
        next.hookPause = nil
        next.runningHook = nil
        next.shareHealthySeen = nil
        next.phaseStartedAt = now
        next.nextCheckAt = nil
        next.updatedAt = now
        return Transition(deployment: next, log: LogEntry(from: d.state, to: .rollingBack, message: "rolling back: \(reason)", details: details))
    }

    /// Applies what an effect or an operator reported. Events that do not fit the state change nothing.
    public static func apply(_ d: Deployment, _ event: Event, now: Date) -> Transition {
        if let removal = applyRemoval(d, event, now: now) { return removal }
        if let hand = applyHandChange(d, event, now: now) { return hand }
        var next = d
        next.updatedAt = now
        let interval = d.plan.spec.checks.interval
        switch (d.state, event) {
        case (.pending, .begun):
            next.state = .launching
            next.phaseStartedAt = now
            return Transition(deployment: next, log: LogEntry(from: .pending, to: .launching, message: "release of \(d.image) started: blue is \(d.plan.blue.group)"))
        case (.launching, .fleetRetired(let name)), (.rollingBack, .fleetRetired(let name)) where d.state == .launching || d.removal?.group == name:
            if !next.retiredGroups.contains(name) { next.retiredGroups.append(name) }
            if next.removal?.group == name { next.removal = nil }
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "retired \(name) from green's \(d.plan.spec.cloud.pool)", details: LogEntry.fleet(name)))
        case (.launching, .greenTemplateReady(let version)):
            next.greenTemplateVersion = version
            let cloud = d.plan.spec.cloud
            let message = cloud.versionedTemplates ? "\(cloud.template) \(d.plan.blue.templateName) version \(version) uses \(d.image)"
                : "green's \(cloud.template) is \(d.plan.blue.templateName)'s with \(cloud.image) \(d.image)"
            return Transition(deployment: next, log: LogEntry(from: .launching, to: .launching, message: message, details: ["launch_template_version": String(version)]))
        case (.launching, .greenFleetReady):
            next.progress.insert(.greenGroupCreated)
            next.state = .waitingForCapacity
            next.phaseStartedAt = now
            next.nextCheckAt = nil
            let how = d.plan.isPair ? "of the pair set to \(d.plan.spec.cloud.template) version \(d.greenTemplateVersion.map(String.init) ?? "?") and" : "created with"
            let where_ = d.plan.shared == nil ? "" : " in the shared \(d.plan.spec.traffic.poolNamed(d.plan.spec.traffic.pools.first ?? ""))"
            return Transition(deployment: next, log: LogEntry(from: .launching, to: .waitingForCapacity, message: "green group \(d.plan.greenGroup) \(how) desired capacity \(d.plan.greenLaunchCapacity)\(where_)", details: LogEntry.fleet(d.plan.greenGroup)))
        case (.waitingForCapacity, .capacityObserved(let report)):
            next.lastObservation = report.summary
            next.lastObservationAt = now
            next.greenCapacity = report
            if d.plan.shared != nil {
                // Green stands in blue's target group at 0 instances: each step scales it out and waits for its
                // instances to be healthy there before blue gives any up, so its health is proven step by step.
                next.state = .shifting
                next.progress.insert(.greenServed)
                next.phaseStartedAt = now
                next.nextCheckAt = nil
                next.bakeStartedAt = nil
                return Transition(deployment: next, log: LogEntry(from: .waitingForCapacity, to: .shifting, message:
                    "green \(d.plan.greenGroup) stands in the shared \(d.plan.spec.traffic.poolNamed(d.plan.spec.traffic.pools.first ?? "")) at \(report.summary); each step scales it to its share"))
            }
            if report.inService >= d.plan.blue.desiredCapacity {
                next.state = .checkingHealth
                next.phaseStartedAt = now
                next.nextCheckAt = nil
                return Transition(deployment: next, log: LogEntry(from: .waitingForCapacity, to: .checkingHealth, message: "green has \(report.summary)"))
            }
            next.nextCheckAt = now.adding(interval)
            return Transition(deployment: next, log: launchFailureLog(d, report))
        case (.checkingHealth, .greenHealthObserved(let report, let checks)):
            next.lastObservation = report.summary
            next.lastObservationAt = now
            next.lastChecks = [CheckResult(name: "target-health", passed: report.allHealthy(expected: d.plan.blue.desiredCapacity),
                                           evidence: report.summary)] + checks
            if !checks.isEmpty {
                let checked = applyChecks(next, checks, now: now)
                if checked.deployment.state == .rollingBack { return checked }
                next = checked.deployment
            }
            if report.allHealthy(expected: d.plan.blue.desiredCapacity), !next.testRouteProven {
                next.lastObservationAt = now
                next.lastObservation = "\(report.summary); test route: \(next.testRouteProbePasses ?? 0)/\(d.plan.spec.checks.http?.failureThreshold ?? 0) probes passed since it went live"
                next.nextCheckAt = now.adding(interval)
                return Transition(deployment: next, log: nil)
            }
            if report.allHealthy(expected: d.plan.blue.desiredCapacity) {
                next.state = .shifting
                // From here a weight may be written: green's removal waits the settle and the drain.
                next.progress.insert(.greenServed)
                next.phaseStartedAt = now
                next.nextCheckAt = nil
                next.bakeStartedAt = nil
                return Transition(deployment: next, log: LogEntry(from: .checkingHealth, to: .shifting, message: "every green target is healthy (\(report.summary))"))
            }
            next.nextCheckAt = now.adding(interval)
            return Transition(deployment: next, log: nil)
        case (.shifting, .splitConfirmed(let green)):
            let before = d.greenWeight
            next.greenWeight = green
            if d.plan.shared != nil { next.shareBase = d.shareTotal ?? d.shareBase }
            next.shareTotal = nil
            next.shareHealthySeen = nil
            next.trafficBaseline = nil
            // Load balancer nodes apply the change seconds after the API confirms it, and resolvers keep the old answer
            // for the records' TTL: the bake counts from when clients see the step. Stored as the bake's start, so a
            // resumed run still waits it out.
            let settle = d.plan.trafficSettle
            next.weightsConfirmedAt = now
            next.bakeStartedAt = now.adding(settle)
            next.checksPendingAtWeight = true
            next.nextCheckAt = now.adding(interval)
            var details = ["green_weight": String(green), "blue_weight": String(100 - green), "confirmed_at": StoredTime.text(now)]
            var message = "step \(d.stepLabel): weights blue \(100 - green)% / green \(green)% (was \(100 - before)/\(before))"
            if settle > .zero {
                details["settle_seconds"] = String(format: "%g", settle.seconds)
                details["live_at"] = StoredTime.text(now.adding(settle))
                // A plan without its own settle took the records' TTL (Route 53, before traffic.settle existed).
                message += d.plan.spec.traffic.traits.settlesByTTL || d.plan.settle == nil ? "; the bake starts after the records' TTL, \(settle)"
                    : "; the bake starts once it is live, after traffic.settle \(settle) (settling until \(StoredTime.clock(now.adding(settle))))"
            }
            return Transition(deployment: next, log: LogEntry(from: .shifting, to: .shifting, message: message, details: details))
        case (.shifting, .splitProgressing(let green, let summary, let total, let healthy)) where d.currentStep?.weight == green,
             (.rollingBack, .splitProgressing(let green, let summary, let total, let healthy)) where green == 0 && !d.reached(.trafficRestored):
            if d.state == .shifting, next.shareTotal == nil { next.shareTotal = total }
            next.shareHealthySeen = healthy
            next.lastObservation = summary
            next.lastObservationAt = now
            next.nextCheckAt = now.adding(interval)
            // The trail keeps each action taken (and each new wait), not every look that found nothing new.
            guard summary != d.lastObservation else { return Transition(deployment: next, log: nil) }
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "toward \(green)% green: \(summary)",
                                                              details: ["green_weight": String(green)]))
        case (.shifting, .checksObserved(let results)), (.paused, .checksObserved(let results)),
             (.checkingHealth, .checksObserved(let results)):
            return applyChecks(next, results, now: now)
        case (.promoting, .promotionConfirmed):
            next.promotedAt = now
            guard pendingHook(d, .afterPromotion) != nil else { return complete(next, now: now) }
            next.progress.insert(.promotionConfirmed)
            return Transition(deployment: next, log: LogEntry(from: .promoting, to: .promoting, message: "\(d.plan.spec.traffic.traits.splitName) read back at 100% green; the after_promotion hooks run before the release is completed"))
        case (_, .hookFinished(let ref, let result)):
            return applyHook(d, ref, result, now: now)
        case (_, .hookInterrupted(let ref)):
            return applyHookInterrupted(d, ref, now: now)
        case (.rollingBack, .splitConfirmed(let green)) where green == 0:
            next.greenWeight = 0
            next.shareHealthySeen = nil
            next.progress.insert(.trafficRestored)
            // Green's removal counts its settle from here (begun by the next decision, with its own log line).
            next.trafficRestoredAt = now
            // Clients bound to green by stickiness would stay there whatever the weights: the same write turned it off.
            let sticky = d.plan.isSticky ? "; stickiness off until green is gone" : ""
            let traits = d.plan.spec.traffic.traits
            if traits.settlesByTTL {
                let drain = "\(traits.splitName) read back at 100% blue; green stays \(d.plan.trafficSettle) more, until resolvers forget it"
                return Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .rollingBack, message: drain, details: ["green_weight": "0", "blue_weight": "100"]))
            }
            return Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .rollingBack, message: "\(traits.splitName) read back at 100% blue\(sticky)", details: ["green_weight": "0", "blue_weight": "100"]))
        case (.waitingForCapacity, .testRouteReady(let arn)), (.checkingHealth, .testRouteReady(let arn)):
            next.testRouteId = arn
            // Probe traffic reaches green from here; the rule counts as live only once the settle is over.
            next.progress.insert(.greenServed)
            if d.testRouteId != arn || d.testRouteLiveAt == nil {
                next.testRouteLiveAt = now.adding(d.plan.trafficSettle)
                next.testRouteProbePasses = 0
            }
            let header = d.plan.spec.testRoute?.header ?? DeploymentSpec.TestRoute.defaultHeader
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "test route: requests carrying \(header): \(DeploymentSpec.TestRoute.value) go to green's \(d.plan.spec.cloud.pool) \(d.plan.greenPool)", details: ["rule_arn": arn]))
        case (.promoting, .testRouteRemoved), (.rollingBack, .testRouteRemoved):
            next.progress.insert(.testRouteRemoved)
            // Requests with the header reach green until the rule's deletion is live everywhere.
            if d.state == .rollingBack, d.reached(.trafficRestored) { next.trafficRestoredAt = now }
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "test route removed", details: d.testRouteId.map { ["rule_arn": $0] } ?? [:]))
        case (.failed, .testRouteRemoved) where d.testRouteMayStand:
            next.progress.insert(.testRouteRemoved)
            next.updatedAt = d.updatedAt
            return Transition(deployment: next, log: LogEntry(from: .failed, to: .failed, message: "test route left by the failed rollback removed"))
        case (.rollingBack, .stickinessRestored):
            next.progress.insert(.stickinessRestored)
            return Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .rollingBack, message: "stickiness turned back on now that green is gone"))
        case (.rollingBack, .greenRemoved):
            next.progress.insert(.greenRemoved)
            if next.removal?.group == d.plan.greenGroup { next.removal = nil }
            let how = d.plan.pair.map { "scaled back to \($0.greenBefore.sizes) (min/desired/max) with its own \(d.plan.spec.cloud.template) version \($0.greenBefore.templateVersion), processes and \(d.plan.spec.cloud.pool)s; it is kept (pair mode)" } ?? "scaled to 0 and deleted"
            return Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .rollingBack, message: "green group \(d.plan.greenGroup) \(how)"))
        case (.paused, .promoteRequested) where !d.promoteRequested:
            next.promoteRequested = true
            return Transition(deployment: next, log: LogEntry(from: .paused, to: .paused, message: "promotion past the manual gate requested"))
        case (.completed, .rollbackRequested(let reason, let actor)) where d.blueRetained(at: now):
            return startRollback(d, now: now, reason: "requested by \(actor): \(reason)",
                                 details: ["actor": actor, "check": "manual", "undo": "completed release, blue \(d.plan.blue.group) still retained"])
        case (.failed, .rollbackRequested(let reason, let actor)):
            var retry = d
            retry.failureReason = nil
            return startRollback(retry, now: now, reason: "requested by \(actor): \(reason)",
                                 details: ["actor": actor, "check": "manual", "retry": "rollback retried after: \(d.failureReason ?? "a failure")"])
        case (.completed, .blueRetired(let by)) where d.blueRetiredAt == nil:
            next.blueRetiredAt = now
            if next.removal?.group == d.plan.blue.group { next.removal = nil }
            // Housekeeping after the end: the release finished when it was promoted, not now.
            next.updatedAt = d.updatedAt
            let why = by.map { "deployment \($0) needs where it stands (green's target group or load balancer), so the retention ended early" } ?? "its retention ended"
            var details = LogEntry.fleet(d.plan.blue.group)
            if let by { details["by_deployment"] = by }
            return Transition(deployment: next, log: LogEntry(from: .completed, to: .completed, message: "blue \(d.plan.blue.group) \(d.plan.isPair ? "scaled to 0 and kept (pair mode)" : "scaled to 0 and deleted"): \(why)", details: details))
        case (.launching, .bluePinned(let summary)):
            next.progress.insert(.bluePinned)
            return Transition(deployment: next, log: LogEntry(from: .launching, to: .launching, message: "blue \(d.plan.blue.group) pinned for the release: \(summary)", details: LogEntry.fleet(d.plan.blue.group)))
        case (.waitingForCapacity, .copiedToGreen(let kind, let summary)):
            next.greenCopies = (d.greenCopies ?? []) + [kind]
            return Transition(deployment: next, log: LogEntry(from: .waitingForCapacity, to: .waitingForCapacity, message: "copied to green: \(summary)", details: ["copy": kind.rawValue]))
        case (.promoting, .greenReleased(let summary)):
            next.progress.insert(.greenReleased)
            return Transition(deployment: next, log: LogEntry(from: .promoting, to: .promoting, message: "green \(d.plan.greenGroup) released: \(summary)"))
        case (.rollingBack, .blueObserved(let report)):
            next.blueCapacityAtRollback = report
            return Transition(deployment: next, log: blueCapacityLog(d, report))
        case (.rollingBack, .blueFleetRestored(let summary)):
            next.progress.insert(.blueRestored)
            return Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .rollingBack, message: "blue \(d.plan.blue.group) restored: \(summary)", details: LogEntry.fleet(d.plan.blue.group)))
        case (.completed, .greenTemplateDeleted(let version)) where !d.reached(.templateVersionDeleted),
             (.rolledBack, .greenTemplateDeleted(let version)) where !d.reached(.templateVersionDeleted):
            next.progress.insert(.templateVersionDeleted)
            // Housekeeping after the end, like retiring blue.
            next.updatedAt = d.updatedAt
            return Transition(deployment: next, log: LogEntry(from: d.state, to: d.state, message: "\(d.plan.spec.cloud.template) \(d.plan.blue.templateName) version \(version) deleted: its release is over and no group uses it", details: ["launch_template_version": String(version)]))
        case (let state, .rollbackRequested(let reason, let actor)) where !state.isTerminal && state != .rollingBack:
            return startRollback(d, now: now, reason: "requested by \(actor): \(reason)", details: ["actor": actor, "check": "manual"])
        case (let state, .effectFailed(let effect, let message)) where !state.isTerminal:
            return applyFailure(d, effect: effect, message: message, now: now)
        case (let state, .effectUnreachable(let effect, let message)) where !state.isTerminal:
            return applyUnreachable(d, effect: effect, message: message, now: now)
        default:
            return Transition(deployment: d, log: nil)
        }
    }

    /// What blue can carry before traffic returns to it, against what it had when the release started.
    private static func blueCapacityLog(_ d: Deployment, _ report: CapacityReport) -> LogEntry {
        let had = d.plan.blue.desiredCapacity
        let details = LogEntry.fleet(d.plan.blue.group, ["blue_in_service": String(report.inService), "blue_desired_at_start": String(had)])
        if report.inService >= had {
            return LogEntry(from: .rollingBack, to: .rollingBack, message: "blue \(d.plan.blue.group) has \(report.inService) InService instances (\(had) when the release started): it carries the traffic back", details: details)
        }
        return LogEntry(from: .rollingBack, to: .rollingBack, message: "warning: blue \(d.plan.blue.group) has only \(report.inService) InService instances (\(had) when the release started); traffic went back to it anyway, as green is being rolled back", details: details)
    }

    static func applyChecks(_ d: Deployment, _ results: [CheckResult], now: Date) -> Transition {
        var next = d
        countTestRouteProbes(&next, results, now: now)
        next.nextCheckAt = now.adding(d.plan.spec.checks.interval)
        next.recheckAfterResume = nil
        next.lastChecks = results
        next.lastChecksAt = now
        next.checksPendingAtWeight = false
        var failing: [CheckResult] = []
        for result in results {
            if result.passed {
                next.consecutiveFailures[result.name] = nil
            } else {
                let count = (next.consecutiveFailures[result.name] ?? 0) + 1
                next.consecutiveFailures[result.name] = count
                if count >= result.threshold { failing.append(result) }
            }
        }
        guard let first = failing.first else { return Transition(deployment: next, log: nil) }
        let count = next.consecutiveFailures[first.name] ?? 1
        var details = ["check": first.name, "evidence": first.evidence, "consecutive_failures": String(count)]
        if failing.count > 1 { details["other_failures"] = failing.dropFirst().map { "\($0.name): \($0.evidence)" }.joined(separator: "; ") }
        return startRollback(next, now: now, reason: "check \(first.name) failed \(Spelling.count(count, "time")) in a row: \(first.evidence)", details: details)
    }

    static func applyFailure(_ d: Deployment, effect: Effect, message: String, now: Date) -> Transition {
        guard d.state == .rollingBack else {
            return startRollback(d, now: now, reason: "\(effect.title) failed: \(message)", details: ["effect": effect.title])
        }
        var next = d
        next.state = .failed
        next.updatedAt = now
        let traffic: String
        if d.reached(.trafficRestored) {
            traffic = "Traffic is 100% on blue \(d.plan.blue.group)."
        } else {
            traffic = "Traffic is where the last confirmed step left it: blue \(d.blueWeight)% / green \(d.greenWeight)%."
        }
        next.failureReason = "\(effect.title) failed during rollback: \(message). \(traffic) Retry with `switchyard rollback \(d.id)`."
        return Transition(deployment: next, log: LogEntry(from: .rollingBack, to: .failed, message: next.failureReason ?? message, details: ["effect": effect.title]))
    }
}

extension Date {
    /// This moment moved on by a deployment-file duration.
    public func adding(_ span: TimeSpan) -> Date { addingTimeInterval(span.seconds) }
}
