import Foundation

/// The traffic chart as inline SVG: blue above the line, green below, each step's settle and bake as bands, pauses,
/// rollbacks and the end as vertical lines. Colours come from the page's CSS (classes), so light and dark both read.
public enum ChartSVG {
    static func n(_ v: Double) -> String { String(format: "%.1f", v) }

    public static func render(_ chart: TrafficChart, frame f: TrafficChart.Frame = .init()) -> String {
        var parts: [String] = []
        let bottom = f.top + f.plotHeight, right = f.left + f.plotWidth
        parts.append(#"<svg class="chart" viewBox="0 0 \#(n(f.width)) \#(n(f.height))" role="img" aria-label="green's share of the traffic over time" preserveAspectRatio="xMidYMid meet">"#)
        parts.append(#"<rect class="blue-area" x="\#(n(f.left))" y="\#(n(f.top))" width="\#(n(f.plotWidth))" height="\#(n(f.plotHeight))"/>"#)
        let corners = chart.corners
        let line = corners.map { "\(n(chart.x($0.at, in: f))),\(n(chart.y($0.green, in: f)))" }
        parts.append(#"<polygon class="green-area" points="\#(n(f.left)),\#(n(bottom)) \#(line.joined(separator: " ")) \#(n(right)),\#(n(bottom))"/>"#)
        for (index, s) in chart.steps.enumerated() {
            let x0 = chart.x(s.confirmedAt, in: f), x1 = chart.x(s.liveAt, in: f), x2 = chart.x(max(s.until, s.liveAt), in: f)
            let kind = s.isRollback ? "rollback-step" : "step"
            parts.append(#"<g class="\#(kind)" data-step="\#(index + 1)" data-green="\#(s.green)">"#)
            parts.append("<title>\(Pages.escape(s.label)): confirmed \(Pages.clock(s.confirmedAt))"
                + (s.liveAt > s.confirmedAt ? ", live \(Pages.clock(s.liveAt))" : "") + "</title>")
            if x1 > x0 {
                parts.append(#"<rect class="settle" x="\#(n(x0))" y="\#(n(f.top))" width="\#(n(x1 - x0))" height="\#(n(f.plotHeight))"/>"#)
            }
            if !s.isRollback, x2 > x1 {
                parts.append(#"<rect class="bake" x="\#(n(x1))" y="\#(n(bottom - 5))" width="\#(n(x2 - x1))" height="5"/>"#)
            }
            parts.append(#"<line class="step-line" x1="\#(n(x0))" y1="\#(n(f.top))" x2="\#(n(x0))" y2="\#(n(bottom))"/>"#)
            let labelY = max(chart.y(s.green, in: f) - 4, f.top + 10)
            parts.append(#"<text class="step-label" x="\#(n(x0 + 3))" y="\#(n(labelY))">\#(s.isRollback ? "0%" : "\(s.green)%")</text>"#)
            parts.append("</g>")
        }
        parts.append(#"<polyline class="green-line" points="\#(line.joined(separator: " "))"/>"#)
        for m in chart.marks {
            let x = chart.x(m.at, in: f)
            parts.append(#"<g class="mark mark-\#(m.kind.rawValue)"><title>\#(Pages.escape(m.text)) \#(Pages.clock(m.at))</title>"#
                + #"<line x1="\#(n(x))" y1="\#(n(f.top - 4))" x2="\#(n(x))" y2="\#(n(bottom))"/>"#
                + (x > right - 70 ? #"<text x="\#(n(x - 3))" y="\#(n(f.top + 6))" text-anchor="end">"# : #"<text x="\#(n(x + 3))" y="\#(n(f.top + 6))">"#)
                + "\(Pages.escape(m.text))</text></g>")
        }
        for w in [0, 50, 100] {
            let y = chart.y(w, in: f)
            parts.append(#"<text class="axis" x="\#(n(f.left - 4))" y="\#(n(y + 4))" text-anchor="end">\#(w)%</text>"#)
        }
        parts.append(#"<text class="axis" x="\#(n(f.left))" y="\#(n(f.height - 8))">\#(Pages.clock(chart.start))</text>"#)
        parts.append(#"<text class="axis" x="\#(n(right))" y="\#(n(f.height - 8))" text-anchor="end">\#(Pages.clock(chart.end)) (\#(Pages.duration(chart.end.timeIntervalSince(chart.start))))</text>"#)
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
