import Foundation
import Testing
@testable import Orchestrator
import SwitchyardCore

@Suite struct TickCostTests {
    @Test func aTickIsGreensGroupAndTargetHealthAndEachAlarmBatchOnce() {
        var spec = Fixtures.spec()
        spec.checks.interval = .seconds(7)
        spec.checks.alarms = (0..<150).map { "alarm-\($0)" }
        let cost = TickCost.of(Fixtures.deployment(spec: spec).plan)
        #expect(cost.reads.map(\.action) == ["DescribeAutoScalingGroups", "DescribeTargetHealth", "DescribeAlarms"])
        #expect(cost.reads.map(\.calls) == [1, 1, 2])
        #expect(cost.perTick == 4)
        // 60 s ÷ 7 s is 8.6: a minute can hold the starts of 9 ticks.
        #expect(cost.ticksPerMinute == 9 && cost.perMinute == 36)
        #expect(cost.perMinuteByService == ["autoscaling": 9, "elasticloadbalancing": 9, "monitoring": 18])
    }

    @Test func withoutAlarmsOrMetricsATickIsTwoReads() {
        var spec = Fixtures.spec()
        spec.checks.interval = TimeSpan(milliseconds: 500)
        let cost = TickCost.of(Fixtures.deployment(spec: spec).plan)
        #expect(cost.perTick == 2 && cost.perMinute == 240)
    }
}
