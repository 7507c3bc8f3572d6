import SwitchyardCore
import Testing

/// The scale-out pattern's look-by-look decisions (`SharedStep`): each look's world, the one action it asks for.
@Suite struct SharedStepTests {
    func member(_ id: String, _ target: String? = "healthy", _ lifecycle: String = "InService") -> SharedStep.Member {
        SharedStep.Member(instanceId: id, lifecycleState: lifecycle, target: target)
    }
    func fleet(_ name: String, desired: Int, _ members: [SharedStep.Member]) -> SharedStep.Fleet {
        SharedStep.Fleet(name: name, desired: desired, maxSize: 10, members: members)
    }
    var fourBlue: SharedStep.Fleet { fleet("blue", desired: 4, (1...4).map { member("b\($0)") }) }

    /// Green first, to its count and healthy; then blue's surplus deregistered by id; then, once the target group no
    /// longer lists them, terminated with the desired capacity decremented; then done. Never fewer healthy in all.
    @Test func aStepScalesGreenOutFirstThenDrainsAndTerminatesBluesSurplus() {
        var blue = fourBlue
        var green = fleet("green", desired: 0, [])
        var r = SharedStep.next(share: 50, base: 4, previousShare: 0, blue: blue, green: green)
        #expect(r.action == .scale(group: "green", desired: 2) && r.split == SharedSplit(total: 4, green: 2))
        // The first look fixed the step's total: green's own new instances do not raise it.
        func next(_ share: Int = 50, greenSeen: Int? = 2) -> (action: SharedStep.Action, split: SharedSplit, summary: String) {
            SharedStep.next(share: share, base: 4, previousShare: 0, stepTotal: 4, greenSeen: greenSeen, blue: blue, green: green)
        }
        green = fleet("green", desired: 2, [member("g1", "initial"), member("g2", nil, "Pending")])
        r = next()
        #expect(r.action == .wait, "blue gives nothing up before green is healthy")
        #expect(r.summary.contains("waiting for green"))
        green = fleet("green", desired: 2, [member("g1"), member("g2")])
        #expect(next(greenSeen: nil).action == .wait && next(greenSeen: 1).action == .wait,
                "blue gives nothing up on one look's word that green is healthy")
        #expect(SharedStep.next(share: 50, base: 4, previousShare: 0, greenSeen: 2, blue: blue, green: green).action == .deregister(["b1", "b2"]),
                "a first look again (the record lost the last) does not count green's new instances into the total")
        r = next()
        #expect(r.action == .deregister(["b1", "b2"]))
        blue = fleet("blue", desired: 4, [member("b1", "draining"), member("b2", "draining"), member("b3"), member("b4")])
        r = next()
        #expect(r.action == .wait && r.summary.contains("to drain"), "a draining instance is never terminated")
        #expect(blue.healthy.count + green.healthy.count >= 4)
        blue = fleet("blue", desired: 4, [member("b1", nil), member("b2", "unused"), member("b3"), member("b4")])
        r = next()
        #expect(r.action == .terminate(["b1", "b2"]))
        blue = fleet("blue", desired: 2, [member("b3"), member("b4")])
        #expect(next().action == .done)
    }

    /// A scale event between two steps is the next step's world (aws-codedeploy-samples#80): blue grown from 2 to 6
    /// after a 50 % step of 4 makes the next step's total 8, so a 50 % step scales green to 4, not 2.
    @Test func aScaleEventBetweenStepsIsTakenFromTheNextLook() {
        let blue = fleet("blue", desired: 6, (1...6).map { member("b\($0)") })
        let green = fleet("green", desired: 2, [member("g1"), member("g2")])
        let r = SharedStep.next(share: 50, base: 4, previousShare: 50, blue: blue, green: green)
        #expect(r.action == .scale(group: "green", desired: 4) && r.split.total == 8)
    }

    /// Green's own extra instances (a scale-out the record never saw, then a crash) never raise the total: a release
    /// killed after each look ends where an uninterrupted one does.
    @Test func greensOwnScaleOutNeverRaisesTheTotal() {
        let blue = fleet("blue", desired: 3, (1...3).map { member("b\($0)") })
        let green = fleet("green", desired: 3, [member("g1"), member("g2"), member("g3")])
        #expect(SharedStep.total(base: 4, previousShare: 25, blue: blue, green: green) == 4)
        #expect(SharedStep.total(base: 4, previousShare: 50, blue: blue, green: green) == 5, "blue's three and the two green had: one came from elsewhere")
    }

    /// 25 % of one instance is never all of blue gone (spinnaker#2645): green 1, blue 1.
    @Test func aPartialStepKeepsAnInstanceOfEachFleet() {
        let blue = fleet("blue", desired: 1, [member("b1")])
        let green = fleet("green", desired: 1, [member("g1")])
        #expect(SharedStep.next(share: 25, base: 1, previousShare: 0, stepTotal: 2, blue: blue, green: green).action == .done)
        // The last step keeps the total the steps before reached: green holds 2 before blue's last instance goes.
        #expect(SharedStep.next(share: 100, base: 2, previousShare: 25, stepTotal: 2, blue: blue, green: green).action == .scale(group: "green", desired: 2))
        let two = fleet("green", desired: 2, [member("g1"), member("g2")])
        #expect(SharedStep.next(share: 100, base: 2, previousShare: 25, stepTotal: 2, greenSeen: 2, blue: blue, green: two).action == .deregister(["b1"]))
    }

    /// A green instance that is not healthy holds the step: nothing of blue is deregistered on its account.
    @Test func anUnhealthyGreenHoldsBlue() {
        let green = fleet("green", desired: 2, [member("g1"), member("g2", "unhealthy")])
        #expect(SharedStep.next(share: 50, base: 4, previousShare: 0, stepTotal: 4, blue: fourBlue, green: green).action == .wait)
    }

    /// A rollback scales blue back first, registers again what a step drained, waits for blue's healthy count, and
    /// never touches green.
    @Test func aRollbackRestoresBlueBeforeAnythingElse() {
        var blue = fleet("blue", desired: 2, [member("b3"), member("b4"), member("b1", nil)])
        var r = SharedStep.restore(desired: 4, startHealthy: 4, blue: blue)
        #expect(r.action == .scale(group: "blue", desired: 4))
        blue = fleet("blue", desired: 4, [member("b3"), member("b4"), member("b1", nil), member("b5", "initial")])
        r = SharedStep.restore(desired: 4, startHealthy: 4, blue: blue)
        #expect(r.action == .register(["b1"]))
        blue = fleet("blue", desired: 4, [member("b3"), member("b4"), member("b1", "initial"), member("b5", "initial")])
        #expect(SharedStep.restore(desired: 4, startHealthy: 4, blue: blue).action == .wait)
        blue = fleet("blue", desired: 4, [member("b3"), member("b4"), member("b1"), member("b5")])
        #expect(SharedStep.restore(desired: 4, startHealthy: 4, blue: blue).action == .wait, "green stays on one look's word")
        #expect(SharedStep.restore(desired: 4, startHealthy: 4, blueSeen: 3, blue: blue).action == .wait)
        #expect(SharedStep.restore(desired: 4, startHealthy: 4, blueSeen: 4, blue: blue).action == .done)
    }

    /// A blue instance a step let go and the pool still drains: a target group takes it back at once, a Classic Load
    /// Balancer only once the drain is over (its guide documents no re-registration mid-drain). One leaving its group
    /// is never asked back.
    @Test func aRollbackTakesBackADrainingBlueInstanceWhereThePoolAllowsIt() {
        let blue = fleet("blue", desired: 4, [member("b3"), member("b4"), member("b1", "draining"), member("b2", "draining", "Terminating")])
        #expect(SharedStep.restore(desired: 4, startHealthy: 4, blue: blue, reregistersDraining: true).action == .register(["b1"]))
        #expect(SharedStep.restore(desired: 4, startHealthy: 4, blue: blue, reregistersDraining: false).action == .wait)
        // Listed `unused`: registered and stopped (Target.InvalidState), which RegisterTargets refuses: waited for.
        let stopped = fleet("blue", desired: 4, [member("b3"), member("b4"), member("b1"), member("b2", "unused")])
        #expect(SharedStep.restore(desired: 4, startHealthy: 4, blue: stopped, reregistersDraining: true).action == .wait)
    }

    /// A blue instance registered but serving nothing (unhealthy; OutOfService when stopped behind a Classic Load
    /// Balancer) stays through the partial steps, and leaves with blue's healthy ones at the last: promotion needs no
    /// blue instance registered.
    @Test func theLastStepTakesBluesUnservingInstancesOutWithItsHealthyOnes() {
        let blue = fleet("blue", desired: 4, [member("b1"), member("b2"), member("b3", "unhealthy"), member("b4", "initial")])
        let half = fleet("green", desired: 1, [member("g1")])
        #expect(SharedStep.next(share: 50, base: 2, previousShare: 0, stepTotal: 2, greenSeen: 1, blue: blue, green: half).action
                == .deregister(["b1"]), "a partial step takes only healthy surplus")
        let green = fleet("green", desired: 2, [member("g1"), member("g2")])
        #expect(SharedStep.next(share: 100, base: 2, previousShare: 50, stepTotal: 2, greenSeen: 1, blue: blue, green: green).action == .wait,
                "on one look's word, nothing leaves")
        let r = SharedStep.next(share: 100, base: 2, previousShare: 50, stepTotal: 2, greenSeen: 2, blue: blue, green: green)
        #expect(r.action == .deregister(["b1", "b2", "b3", "b4"]), "\(r.summary)")
        #expect(r.summary.contains("b3, b4 served nothing"))
        // Only healthy-less blue left, registered: it still leaves.
        let sick = fleet("blue", desired: 1, [member("b3", "unhealthy")])
        #expect(SharedStep.next(share: 100, base: 2, previousShare: 50, stepTotal: 2, greenSeen: 2, blue: sick, green: green).action == .deregister(["b3"]))
        #expect(!SharedStep.allGreen(blue: sick, green: green))
        let drained = fleet("blue", desired: 1, [member("b3", nil)])
        #expect(SharedStep.next(share: 100, base: 2, previousShare: 50, stepTotal: 2, greenSeen: 2, blue: drained, green: green).action == .terminate(["b3"]))
    }

    @Test func promotionNeedsNoBlueRegisteredAndAHealthyGreen() {
        let green = fleet("green", desired: 4, [member("g1")])
        #expect(SharedStep.allGreen(blue: fleet("blue", desired: 0, []), green: green))
        #expect(!SharedStep.allGreen(blue: fleet("blue", desired: 1, [member("b1", "draining")]), green: green))
        #expect(!SharedStep.allGreen(blue: fleet("blue", desired: 0, []), green: fleet("green", desired: 1, [member("g1", "initial")])))
    }
}
