import Foundation

extension Machine {
    /// Counts the probes through the test route that passed in a row once it was live; a failure starts again from 0.
    static func countTestRouteProbes(_ d: inout Deployment, _ results: [CheckResult], now: Date) {
        guard d.plan.spec.testRoute != nil, d.testRouteId != nil, let http = results.first(where: { $0.name == "http" }) else { return }
        // A rule stored before its live time was kept counts as live.
        if let live = d.testRouteLiveAt, now < live { return }
        d.testRouteProbePasses = http.passed ? (d.testRouteProbePasses ?? 0) + 1 : 0
    }
}

/// What a deployment waits for at a moment because clients see traffic changes late, for `status`, `show` and the
/// live view: "settling until 10:42:13", "draining blue: 2 targets, until 10:42:43".
public enum TrafficWait: Sendable, Hashable {
    /// The current step's weights are confirmed but not yet live; its bake starts then.
    case stepSettling(until: Date)
    /// The test route's rule is not yet live.
    case testRouteSettling(until: Date)
    /// The test route is live; `passes` of the `needed` probes through it have passed before the first weight.
    case testRouteProving(passes: Int, needed: Int)
    /// A fleet (`blue`, `green` or a group's name) that lost its traffic, until clients can no longer reach it.
    case fleetSettling(fleet: String, until: Date)
    /// A fleet being detached from its target groups.
    case fleetDeregistering(fleet: String)
    /// A fleet detached from its target groups, with `targets` of its instances still registered, until `until`.
    case fleetDraining(fleet: String, targets: Int, until: Date)
    /// A drained fleet being scaled to 0 or deleted.
    case fleetRemoving(fleet: String)
}

extension Deployment {
    /// The wait for clients under way at `now`, if any.
    public func trafficWait(at now: Date) -> TrafficWait? {
        if let r = removal {
            let fleet = r.group == plan.greenGroup ? "green" : r.group == plan.blue.group ? "blue" : r.group
            switch r.phase(at: now) {
            case .settling(let until): return .fleetSettling(fleet: fleet, until: until)
            case .deregistering: return .fleetDeregistering(fleet: fleet)
            case .draining(let targets, let until): return .fleetDraining(fleet: fleet, targets: targets, until: until)
            case .removing: return .fleetRemoving(fleet: fleet)
            }
        }
        if state == .shifting, let live = bakeStartedAt, live > now, currentStep?.weight == greenWeight { return .stepSettling(until: live) }
        if state == .checkingHealth || state == .waitingForCapacity || (state == .shifting && greenWeight == 0), testRouteId != nil,
           !reached(.testRouteRemoved), let http = plan.spec.checks.http, http.testRoute != nil {
            if let live = testRouteLiveAt, live > now { return .testRouteSettling(until: live) }
            if !testRouteProven { return .testRouteProving(passes: testRouteProbePasses ?? 0, needed: http.failureThreshold) }
        }
        return nil
    }
}
