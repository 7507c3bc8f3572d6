@testable import Dashboard
import Foundation
import StateStore
import SwitchyardCore
import Testing

@Suite struct TrafficChartTests {
    /// A release of 10 % → 50 % → 100 % with a 2 s settle, done at +60 s.
    func completed() -> (Deployment, [StoredEvent]) {
        var d = sample(state: .completed, steps: [.weight(10, bake: .seconds(10)), .weight(50, bake: .seconds(10)), .weight(100, bake: .zero)])
        d.updatedAt = t0.addingTimeInterval(60)
        let events = [
            event(1, 0, .pending, .launching, "release started"),
            event(2, 5, .checkingHealth, .shifting, "every green target is healthy"),
            weight(3, 10, green: 10, settle: 2),
            event(4, 22, .shifting, .shifting, "step 1/3 baked 10s at 10% green"),
            weight(5, 22, green: 50, settle: 2),
            event(6, 34, .shifting, .shifting, "step 2/3 baked"),
            weight(7, 34, green: 100, settle: 2),
            event(8, 40, .shifting, .promoting, "all steps baked; promoting green"),
            event(9, 60, .promoting, .completed, "green promoted"),
        ]
        return (d, events)
    }

    @Test func eachConfirmedWeightIsAStepWithItsSettleAndBake() {
        let (d, events) = completed()
        let chart = TrafficChart(d, events: events, now: t0.addingTimeInterval(999))
        #expect(chart.start == t0)
        #expect(chart.end == t0.addingTimeInterval(60), "a finished release ends at its last event, not now")
        #expect(chart.steps.map(\.green) == [10, 50, 100])
        #expect(chart.steps.map(\.label) == ["step 1/3: 10%", "step 2/3: 50%", "step 3/3: 100%"])
        #expect(chart.steps.map { $0.liveAt.timeIntervalSince($0.confirmedAt) } == [2, 2, 2])
        #expect(chart.steps.map { $0.until.timeIntervalSince(t0) } == [22, 34, 40], "a bake ends at the next step, or when the release moves on")
        #expect(chart.marks.map(\.kind) == [.completed])
    }

    @Test func theLineStepsAtEachConfirmation() {
        let (d, events) = completed()
        let chart = TrafficChart(d, events: events, now: t0)
        let corners = chart.corners.map { ($0.at.timeIntervalSince(t0), $0.green) }
        #expect(corners.map(\.0) == [0, 10, 10, 22, 22, 34, 34, 60])
        #expect(corners.map(\.1) == [0, 0, 10, 10, 50, 50, 100, 100])
    }

    @Test func geometryMapsTimeLeftToRightAndWeightBottomToTop() {
        let (d, events) = completed()
        let chart = TrafficChart(d, events: events, now: t0)
        let f = TrafficChart.Frame()
        #expect(chart.x(t0, in: f) == f.left)
        #expect(chart.x(t0.addingTimeInterval(60), in: f) == f.left + f.plotWidth)
        #expect(abs(chart.x(t0.addingTimeInterval(30), in: f) - (f.left + f.plotWidth / 2)) < 1e-9)
        #expect(chart.x(t0.addingTimeInterval(-5), in: f) == f.left, "clamped")
        #expect(chart.y(100, in: f) == f.top)
        #expect(chart.y(0, in: f) == f.top + f.plotHeight)
        #expect(chart.y(50, in: f) == f.top + f.plotHeight / 2)
    }

    @Test func aRollbackIsMarkedAndItsReturnToBlueIsAStepToZero() {
        var d = sample(state: .rolledBack, steps: [.weight(10, bake: .seconds(30)), .weight(100, bake: .zero)])
        d.updatedAt = t0.addingTimeInterval(20)
        let events = [
            event(1, 0, .pending, .launching, "started"),
            weight(2, 5, green: 10),
            event(3, 9, .shifting, .rollingBack, "rolling back: check http failed", ["check": "http", "evidence": "503"]),
            weight(4, 10, green: 0, to: .rollingBack),
            event(5, 20, .rollingBack, .rolledBack, "rolled back"),
        ]
        let chart = TrafficChart(d, events: events, now: t0.addingTimeInterval(100))
        #expect(chart.steps.map(\.green) == [10, 0])
        #expect(chart.steps.map(\.isRollback) == [false, true])
        #expect(chart.steps[0].until == t0.addingTimeInterval(9), "the bake ended when the rollback began")
        #expect(chart.marks.map(\.kind) == [.rollback, .rolledBack])
        let svg = ChartSVG.render(chart)
        #expect(svg.contains(#"class="rollback-step" data-step="2" data-green="0""#))
        #expect(svg.contains("mark-rollback"))
    }

    @Test func aGateEndsTheStepsBakeAndIsMarked() {
        var d = sample(state: .completed, steps: [.weight(10, bake: .seconds(5)), .pause, .weight(100, bake: .zero)])
        d.updatedAt = t0.addingTimeInterval(30)
        let events = [
            event(1, 0, .pending, .launching, "started"),
            weight(2, 2, green: 10),
            event(3, 7, .shifting, .paused, "waiting at a manual gate"),
            event(4, 20, .paused, .shifting, "promoted past the manual gate"),
            weight(5, 21, green: 100),
            event(6, 25, .shifting, .promoting, "all steps baked"),
            event(7, 30, .promoting, .completed, "promoted"),
        ]
        let chart = TrafficChart(d, events: events, now: t0)
        #expect(chart.steps.map { $0.until.timeIntervalSince(t0) } == [7, 25], "the wait at the gate is no bake")
        #expect(chart.marks.map(\.kind) == [.pause, .completed])
    }

    @Test func aRunningReleaseEndsAtNowAndSaysSo() {
        var d = sample(state: .shifting)
        d.greenWeight = 10
        let events = [event(1, 0, .pending, .launching, "started"), weight(2, 5, green: 10, settle: 3)]
        let chart = TrafficChart(d, events: events, now: t0.addingTimeInterval(50))
        #expect(chart.end == t0.addingTimeInterval(50))
        #expect(chart.steps.first?.until == t0.addingTimeInterval(50))
        #expect(chart.marks.last?.kind == .now)
        let svg = ChartSVG.render(chart)
        #expect(svg.contains(#"class="settle""#))
        #expect(svg.contains(#"data-step="1" data-green="10""#))
    }

    @Test func aReleaseWithNoTimeDrawsAtTheLeftEdge() {
        let d = sample(state: .pending)
        let chart = TrafficChart(d, events: [], now: t0)
        #expect(chart.x(t0, in: .init()) == TrafficChart.Frame().left)
        #expect(chart.steps.isEmpty)
        #expect(ChartSVG.render(chart).hasPrefix("<svg"))
    }
}
