import Foundation
import StateStore
import SwitchyardCore

/// The traffic split of one release over time, from its audit trail: where each step's weights were confirmed, how
/// long they settled before counting as live, how long they baked, and where the release paused or rolled back. Pure
/// (the trail and a clock reading in, numbers out), so the drawing is tested as geometry.
public struct TrafficChart: Sendable {
    /// One traffic change: a step's weights confirmed, or the rollback's return to blue.
    public struct Step: Sendable, Equatable {
        public var label: String
        public var green: Int
        public var confirmedAt: Date
        /// When the change counts as live for clients (after `traffic.settle`); equal to `confirmedAt` without a settle.
        public var liveAt: Date
        /// When the step's bake ended: the next change, the end of the release, or now while it runs.
        public var until: Date
        public var isRollback: Bool
    }

    /// A moment worth a line: a pause, the start of a rollback, the end.
    public struct Mark: Sendable, Equatable {
        public enum Kind: String, Sendable { case pause, rollback, completed, rolledBack = "rolled_back", failed, now }
        public var kind: Kind
        public var at: Date
        public var text: String
    }

    public var start: Date
    public var end: Date
    public var steps: [Step]
    public var marks: [Mark]

    /// The chart of a deployment's trail; `now` ends the time axis while it runs.
    public init(_ d: Deployment, events: [StoredEvent], now: Date) {
        start = events.first?.at ?? d.createdAt
        end = d.state.isTerminal ? max(events.last?.at ?? d.updatedAt, start) : max(now, start)
        var steps: [Step] = []
        var marks: [Mark] = []
        var stepNumber = 0
        let weightCount = d.plan.spec.weightSteps.count
        for e in events {
            if let greenText = e.details["green_weight"], let green = Int(greenText), e.to == e.from, e.to == .shifting || e.to == .rollingBack {
                let confirmed = e.details["confirmed_at"].flatMap(StoredTime.parse) ?? e.at
                let live = e.details["live_at"].flatMap(StoredTime.parse) ?? confirmed
                if var last = steps.popLast() {
                    last.until = min(last.until, confirmed)
                    steps.append(last)
                }
                let isRollback = e.to == .rollingBack
                if !isRollback { stepNumber += 1 }
                let label = isRollback ? "back to blue" : "step \(stepNumber)/\(weightCount): \(green)%"
                steps.append(Step(label: label, green: green, confirmedAt: confirmed, liveAt: max(live, confirmed), until: end, isRollback: isRollback))
            } else if e.from != e.to {
                switch e.to {
                case .paused: marks.append(Mark(kind: .pause, at: e.at, text: "paused"))
                case .rollingBack: marks.append(Mark(kind: .rollback, at: e.at, text: "rollback"))
                case .completed: marks.append(Mark(kind: .completed, at: e.at, text: "completed"))
                case .rolledBack: marks.append(Mark(kind: .rolledBack, at: e.at, text: "rolled back"))
                case .failed: marks.append(Mark(kind: .failed, at: e.at, text: "failed"))
                default: break
                }
            }
            // A step's bake ends when the release moves on from it (to a gate, promotion, a rollback, a final state).
            if e.from == .shifting && e.to != .shifting, var last = steps.popLast() {
                last.until = min(last.until, e.at)
                steps.append(last)
            }
        }
        if !d.state.isTerminal { marks.append(Mark(kind: .now, at: end, text: "now")) }
        self.steps = steps
        self.marks = marks
    }

    /// Green's weight over time as corners of a step line: 0 until the first change, then each confirmed weight.
    public var corners: [(at: Date, green: Int)] {
        var points: [(Date, Int)] = [(start, 0)]
        var current = 0
        for s in steps {
            points.append((s.confirmedAt, current))
            points.append((s.confirmedAt, s.green))
            current = s.green
        }
        points.append((end, current))
        return points
    }

    /// Where the chart is drawn, in SVG user units.
    public struct Frame: Sendable, Equatable {
        public var width = 720.0
        public var height = 200.0
        public var left = 40.0
        public var right = 12.0
        public var top = 14.0
        public var bottom = 26.0
        public init() {}
        public var plotWidth: Double { width - left - right }
        public var plotHeight: Double { height - top - bottom }
    }

    /// The x of a moment: the axis spans start to end (a release of no length is drawn at the left edge).
    public func x(_ at: Date, in f: Frame) -> Double {
        let span = end.timeIntervalSince(start)
        guard span > 0 else { return f.left }
        let fraction = min(max(at.timeIntervalSince(start) / span, 0), 1)
        return f.left + fraction * f.plotWidth
    }

    /// The y of a green weight: 100 % at the top, 0 at the bottom.
    public func y(_ green: Int, in f: Frame) -> Double {
        f.top + (1 - Double(min(max(green, 0), 100)) / 100) * f.plotHeight
    }
}
