import Foundation
@testable import SwitchyardCore
import Testing

/// `Deployment.trafficWait`: what `status`, `show` and the live view say a deployment waits for, case by case.
@Suite struct TrafficWaitTests {
    let later = start.addingTimeInterval(15)

    /// A release at step 1 (10 %), its weights confirmed at `start` and live at `later`.
    func atStep() -> Deployment {
        var d = settled()
        d.state = .shifting
        return Machine.apply(d, .splitConfirmed(green: 10), now: start).deployment
    }

    /// A release with a test route whose rule was created at `start` and is live at `later`, needing 3 probes.
    func withTestRoute(_ state: DeploymentState = .checkingHealth) -> Deployment {
        var d = settled()
        d.plan.spec.checks.http = .init(url: "http://alb.internal/healthz", failureThreshold: 3, testRoute: .init())
        d.state = state
        d.testRouteId = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"
        d.testRouteLiveAt = later
        return d
    }

    /// A rollback with green's removal stored at `start`, settling until `later`.
    func removing(_ group: String? = nil) -> Deployment {
        var d = restored(settled())
        d.removal = FleetRemoval(group: group ?? d.plan.greenGroup, trafficLeftAt: start, settle: .seconds(15), now: start)
        return d
    }

    @Test func aConfirmedStepSettlesUntilItIsLiveThenWaitsForNothing() {
        let d = atStep()
        #expect(d.trafficWait(at: start.addingTimeInterval(1)) == .stepSettling(until: later))
        #expect(d.trafficWait(at: later) == nil)
        // A step whose weight is not written yet does not settle.
        var next = d
        next.stepIndex = 1
        #expect(next.trafficWait(at: start.addingTimeInterval(1)) == nil)
        // Nor a paused or rolling-back release.
        var paused = d
        paused.state = .paused
        #expect(paused.trafficWait(at: start.addingTimeInterval(1)) == nil)
    }

    @Test func theTestRouteSettlesThenIsProvenByProbesBeforeTheFirstWeight() {
        let d = withTestRoute()
        #expect(d.trafficWait(at: start.addingTimeInterval(1)) == .testRouteSettling(until: later))
        #expect(d.trafficWait(at: later) == .testRouteProving(passes: 0, needed: 3))
        var proving = d
        proving.testRouteProbePasses = 2
        #expect(proving.trafficWait(at: later) == .testRouteProving(passes: 2, needed: 3))
        proving.testRouteProbePasses = 3
        #expect(proving.trafficWait(at: later) == nil, "proven: nothing to wait for")
        // The same at shifting before the first weight; not once green has a weight, nor once the route is gone.
        #expect(withTestRoute(.shifting).trafficWait(at: later) == .testRouteProving(passes: 0, needed: 3))
        var weighted = withTestRoute(.shifting)
        weighted.greenWeight = 10
        #expect(weighted.trafficWait(at: later) == nil)
        var removed = d
        removed.progress.insert(.testRouteRemoved)
        #expect(removed.trafficWait(at: later) == nil)
        // Without a test route in the file, a stray rule arn waits for nothing.
        var plain = d
        plain.plan.spec.checks.http = .init(url: "http://alb.internal/healthz", failureThreshold: 3)
        #expect(plain.trafficWait(at: start.addingTimeInterval(1)) == nil)
    }

    @Test func aFleetLeavingServiceSettlesDeregistersDrainsAndIsRemovedEachNamed() {
        var d = removing()
        #expect(d.trafficWait(at: start.addingTimeInterval(1)) == .fleetSettling(fleet: "green", until: later))
        #expect(d.trafficWait(at: later) == .fleetDeregistering(fleet: "green"))
        d = Machine.apply(d, .fleetDeregistered(fleet: d.plan.greenGroup, pools: [tgB], delaySeconds: 30), now: later).deployment
        let until = later.addingTimeInterval(30)
        #expect(d.trafficWait(at: later) == .fleetDraining(fleet: "green", targets: 0, until: until))
        d = Machine.apply(d, .drainObserved(fleet: d.plan.greenGroup, targets: [target("i-1", "draining"), target("i-2", "draining"), target("i-3", "unused")]),
                          now: later.addingTimeInterval(1)).deployment
        #expect(d.trafficWait(at: later.addingTimeInterval(1)) == .fleetDraining(fleet: "green", targets: 2, until: until), "unused targets do not count")
        d = Machine.apply(d, .drainObserved(fleet: d.plan.greenGroup, targets: []), now: until).deployment
        #expect(d.trafficWait(at: until) == .fleetRemoving(fleet: "green"))
    }

    @Test func theRemovalNamesBlueAndAnyOtherGroupByWhatItIs() {
        let blue = removing(settled().plan.blue.group)
        #expect(blue.trafficWait(at: start) == .fleetSettling(fleet: "blue", until: later))
        let other = removing("web-old")
        #expect(other.trafficWait(at: start) == .fleetSettling(fleet: "web-old", until: later))
        // A removal outranks a step's settle.
        var both = atStep()
        both.removal = FleetRemoval(group: "web-old", trafficLeftAt: start, settle: .seconds(15), now: start)
        #expect(both.trafficWait(at: start.addingTimeInterval(1)) == .fleetSettling(fleet: "web-old", until: later))
    }

    @Test func nothingIsWaitedForWithoutASettleARouteOrARemoval() {
        var d = settled(.zero)
        d.state = .shifting
        d = Machine.apply(d, .splitConfirmed(green: 10), now: start).deployment
        #expect(d.trafficWait(at: start) == nil)
        #expect(makeDeployment().trafficWait(at: start) == nil)
    }
}
