import Foundation
import StateStore
import SwitchyardCore

/// The dashboard's HTML: whole pages rendered here, so the page reads without JavaScript; the script only swaps in a
/// fresh copy of `<main>` when the server says something changed.
public enum Pages {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// `10:42:13`, UTC.
    static func clock(_ date: Date) -> String { StoredTime.clock(date) }

    /// `2026-11-24 10:42:13Z`
    static func time(_ date: Date) -> String {
        let text = StoredTime.text(date)
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + "Z"
    }

    static func timeElement(_ date: Date) -> String {
        #"<time datetime="\#(StoredTime.text(date))">\#(time(date))</time>"#
    }

    /// `4m 12s`
    static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        return "\(s / 3600)h \((s % 3600) / 60)m"
    }

    /// What a release waits for because clients see traffic changes late, as `status` says it.
    static func waiting(_ wait: TrafficWait) -> String {
        switch wait {
        case .stepSettling(let until): return "settling until \(clock(until)): the step's weights are confirmed, its bake starts once they are live"
        case .testRouteSettling(let until): return "settling until \(clock(until)): the test route counts once it is live"
        case .testRouteProving(let passes, let needed): return "test route live: \(passes) of \(Spelling.count(needed, "probe")) through it passed before the first weight"
        case .fleetSettling(let fleet, let until): return "settling until \(clock(until)): \(fleet) may still get requests, then it is deregistered"
        case .fleetDeregistering(let fleet): return "deregistering \(fleet) from the load balancer"
        case .fleetDraining(let fleet, let targets, let until): return "draining \(fleet): \(targets) target(s), until \(clock(until))"
        case .fleetRemoving(let fleet): return "\(fleet) drained: removing it"
        }
    }

    static func badge(_ state: DeploymentState) -> String {
        #"<span class="badge state-\#(state.rawValue)">\#(state.rawValue.replacingOccurrences(of: "_", with: " "))</span>"#
    }

    static func split(_ green: Int) -> String {
        #"<span class="split" title="blue \#(100 - green)% / green \#(green)%"><span class="split-green w\#(min(max(green, 0), 100) / 5 * 5)"></span></span>"#
            + #" <span class="split-text">blue \#(100 - green)% · green \#(green)%</span>"#
    }

    /// The whole document around a page's `<main>`. `live` is the event stream the script listens to.
    static func layout(title: String, live: String, actions: Bool, main: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>\(escape(title)) · switchyard</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/static/app.css">
        <script src="/static/app.js" defer></script>
        </head>
        <body data-live="\(escape(live))" data-actions="\(actions ? "on" : "off")">
        <header class="top"><a class="brand" href="/">switchyard</a><span class="live" id="live" title="live updates">connecting…</span></header>
        \(main)
        <footer>switchyard serve · <a href="/metrics">/metrics</a> · <a href="/api/deployments">/api</a></footer>
        </body>
        </html>

        """
    }

    /// The list: every service's latest release, then the filtered history one page at a time.
    public static func list(board: ReleaseBoard.Snapshot, page: [Deployment], total: Int, filter: ListFilter, actions: Bool, now: Date) -> String {
        var main = [#"<main id="main" data-generation="\#(board.generation)">"#]
        main.append("<h1>Releases</h1>")
        main.append(#"<section class="services" aria-label="services">"#)
        for s in board.services {
            guard let d = s.latest else { continue }
            main.append(#"<a class="service-card" href="/d/\#(escape(d.id))" data-service="\#(escape(s.name))"><strong>\#(escape(s.name))</strong> \#(badge(d.state))"#
                + #"<span class="card-line">\#(split(d.greenWeight))</span><span class="card-line muted">\#(escape(d.image)) · \#(s.rollbacks) rolled back of \#(s.deployments)</span></a>"#)
        }
        if board.services.isEmpty { main.append(#"<p class="muted">No releases yet.</p>"#) }
        main.append("</section>")
        main.append(filterForm(filter))
        if page.isEmpty {
            main.append(#"<p class="muted">\#(filter.page == 1 ? "No deployments match." : "This page is past the last page.")</p>"#)
        } else {
            main.append(#"<div class="table-wrap"><table class="deployments"><thead><tr><th>Deployment</th><th>Service</th><th>State</th><th>AMI</th><th>Traffic blue/green</th><th>Started</th><th>Duration</th><th>By</th></tr></thead><tbody>"#)
            for d in page {
                let duration = d.state.isTerminal ? duration(d.updatedAt.timeIntervalSince(d.createdAt)) : "running " + duration(now.timeIntervalSince(d.createdAt))
                main.append(#"<tr data-id="\#(escape(d.id))" data-state="\#(d.state.rawValue)"><td><a href="/d/\#(escape(d.id))">\#(escape(d.id))</a></td>"#
                    + "<td>\(escape(d.service))</td><td>\(badge(d.state))</td><td><code>\(escape(d.image))</code></td><td>\(split(d.greenWeight))</td>"
                    + "<td>\(timeElement(d.createdAt))</td><td>\(duration)</td><td>\(escape(d.actor))</td></tr>")
            }
            main.append("</tbody></table></div>")
        }
        let pages = max(1, (total + filter.limit - 1) / filter.limit)
        main.append(#"<nav class="pager">"#)
        if filter.page > 1 { main.append(#"<a href="\#(escape(filter.link(page: filter.page - 1)))">← newer</a>"#) }
        main.append(#"<span class="muted">page \#(filter.page) of \#(pages) · \#(total) deployment\#(total == 1 ? "" : "s")</span>"#)
        if filter.page < pages { main.append(#"<a href="\#(escape(filter.link(page: filter.page + 1)))">older →</a>"#) }
        main.append("</nav>")
        main.append(#"<p class="muted">The same list on the command line: <code>\#(escape(filter.command))</code></p>"#)
        main.append("</main>")
        return layout(title: "Releases", live: "/api/stream", actions: actions, main: main.joined(separator: "\n"))
    }

    static func filterForm(_ f: ListFilter) -> String {
        var options = [#"<option value="">any state</option>"#]
        for s in DeploymentState.allCases {
            options.append(#"<option value="\#(s.rawValue)"\#(f.states.contains(s) ? " selected" : "")>\#(s.rawValue)</option>"#)
        }
        return """
            <form class="filters" method="get" action="/">
            <label>Service <input name="service" value="\(escape(f.service ?? ""))" placeholder="any"></label>
            <label>State <select name="status">\(options.joined())</select></label>
            <label>AMI <input name="ami" value="\(escape(f.ami ?? ""))" placeholder="any"></label>
            <label>Since <input name="since" value="\(escape(f.sinceText ?? ""))" placeholder="7d, 2026-11-01"></label>
            <button type="submit">Filter</button>
            </form>
            """
    }

    /// One release: what it is, the chart, each step's verdicts, the checks now, what to run next, the trail.
    public static func deployment(_ d: Deployment, events: [StoredEvent], lease: Lease?, generation: Int, actions: Bool, now: Date) -> String {
        let chart = TrafficChart(d, events: events, now: now)
        var main = [#"<main id="main" data-generation="\#(generation)" data-id="\#(escape(d.id))" data-state="\#(d.state.rawValue)">"#]
        main.append(#"<h1><span class="muted">\#(escape(d.service))</span> \#(escape(d.id)) \#(badge(d.state))</h1>"#)
        var facts: [(String, String)] = [
            ("AMI", "<code>\(escape(d.image))</code> (blue ran <code>\(escape(d.plan.blue.image))</code>)"),
            ("Started", "\(timeElement(d.createdAt)) by \(escape(d.actor))"),
            ("Traffic now", "\(split(d.greenWeight)) at step \(escape(d.stepLabel))"),
            ("Blue", "<code>\(escape(d.plan.blue.group))</code>"),
            ("Green", "<code>\(escape(d.plan.greenGroup))</code>"),
        ]
        if d.plan.trafficSettle > .zero { facts.append(("Settle", "\(d.plan.trafficSettle): a change counts as live that long after it is confirmed")) }
        if let wait = d.trafficWait(at: now) { facts.append(("Waiting", escape(waiting(wait)))) }
        if let reason = d.rollbackReason { facts.append(("Rollback", escape(reason))) }
        if let reason = d.failureReason { facts.append(("Failure", escape(reason))) }
        if !d.state.isTerminal { facts.append(("Runner", escape(NextStep.runner(lease, now: now)))) }
        main.append(#"<dl class="facts">"# + facts.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" }.joined() + "</dl>")
        main.append(#"<section class="chart-box" aria-label="traffic split over time"><h2>Traffic</h2><div class="chart-scroll">\#(ChartSVG.render(chart))</div>"#
            + #"<p class="legend"><span class="key key-blue"></span>blue <span class="key key-green"></span>green <span class="key key-settle"></span>settle <span class="key key-bake"></span>bake</p></section>"#)
        main.append(stepsSection(chart, events: events))
        if let checks = d.lastChecks, !checks.isEmpty {
            let at = d.lastChecksAt.map { " (at \(timeElement($0)))" } ?? ""
            main.append(#"<section><h2>Checks, last run\#(at)</h2><ul class="checks">"#
                + checks.map { #"<li class="\#($0.passed ? "pass" : "fail")"><strong>\#($0.passed ? "ok" : "FAIL") \#(escape($0.name))</strong> \#(escape($0.evidence))</li>"# }.joined()
                + "</ul></section>")
        }
        main.append(nextSection(d, lease: lease, actions: actions, now: now))
        main.append(#"<section><h2>Timeline</h2><ol class="timeline">"#)
        let start = events.first?.at ?? d.createdAt
        for e in events {
            let states = e.from == e.to ? e.to.rawValue : "\(e.from.rawValue) → \(e.to.rawValue)"
            let offset = String(format: "+%.3fs", e.at.timeIntervalSince(start))
            main.append(#"<li><span class="offset">\#(offset)</span> <span class="states">\#(states)</span> \#(escape(e.message)) <span class="muted">[\#(escape(e.actor))]</span></li>"#)
        }
        main.append("</ol></section></main>")
        return layout(title: "\(d.service) \(d.id)", live: "/api/stream?deployment=\(d.id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? d.id)",
                      actions: actions, main: main.joined(separator: "\n"))
    }

    /// Each step with the verdicts recorded while it was the current one (alarms, metric comparisons, probe failures,
    /// hook results); what happened before the first step goes first.
    static func stepsSection(_ chart: TrafficChart, events: [StoredEvent]) -> String {
        let verdicts = events.filter(isVerdict)
        var groups: [(String, String, [StoredEvent])] = []
        let firstChange = chart.steps.first?.confirmedAt ?? .distantFuture
        groups.append(("Before traffic", "", verdicts.filter { $0.at < firstChange }))
        for (i, s) in chart.steps.enumerated() {
            let next = i + 1 < chart.steps.count ? chart.steps[i + 1].confirmedAt : Date.distantFuture
            var times = "confirmed \(clock(s.confirmedAt))"
            if s.liveAt > s.confirmedAt { times += ", settled until \(clock(s.liveAt))" }
            if !s.isRollback { times += ", baked until \(clock(s.until)) (\(duration(s.until.timeIntervalSince(s.liveAt))))" }
            groups.append((s.label, times, verdicts.filter { $0.at >= s.confirmedAt && $0.at < next }))
        }
        var html = [#"<section><h2>Steps and verdicts</h2><ol class="steps">"#]
        for (index, (label, times, list)) in groups.enumerated() where index > 0 || !list.isEmpty {
            html.append(#"<li class="step-item" data-step="\#(index)"><strong>\#(escape(label))</strong> <span class="muted">\#(times)</span>"#)
            if list.isEmpty {
                html.append(#"<p class="muted">no check failed, no hook ran</p>"#)
            } else {
                html.append("<ul class=\"verdicts\">" + list.map(verdict).joined() + "</ul>")
            }
            html.append("</li>")
        }
        html.append("</ol></section>")
        return html.joined(separator: "\n")
    }

    static func isVerdict(_ e: StoredEvent) -> Bool {
        e.details["check"] != nil || e.details["evidence"] != nil || e.details["outcome"] != nil
    }

    static func verdict(_ e: StoredEvent) -> String {
        let failed = e.details["check"] != nil || (e.details["outcome"].map { !$0.hasPrefix("exited 0") } ?? false) && e.details["on_failure"] != nil
        var text = #"<li class="\#(failed ? "fail" : "pass")"><span class="offset">\#(clock(e.at))</span> \#(escape(e.message))"#
        for key in ["evidence", "other_failures", "output"] {
            if let value = e.details[key], !value.isEmpty { text += #"<div class="detail"><span class="muted">\#(key)</span> \#(escape(value))</div>"# }
        }
        return text + "</li>"
    }

    static func nextSection(_ d: Deployment, lease: Lease?, actions: Bool, now: Date) -> String {
        let next = NextStep.commands(d, lease: lease, now: now)
        var html = [#"<section class="next"><h2>What next</h2>"#]
        if next.isEmpty { html.append(#"<p class="muted">Nothing to do: the release is over.</p>"#) }
        for item in next {
            html.append(#"<p>\#(escape(item.why))</p><pre class="command"><code>\#(escape(item.command))</code></pre>"#)
        }
        let possible = NextStep.actions(d, now: now)
        if actions, !possible.isEmpty {
            html.append(#"<div class="actions" data-id="\#(escape(d.id))">"#)
            for kind in possible {
                html.append(#"<button type="button" class="action action-\#(kind)" data-action="\#(kind)">\#(kind == "promote" ? "Promote" : "Roll back")</button>"#)
            }
            html.append(#"<p class="action-result muted" role="status"></p></div>"#)
        }
        html.append("</section>")
        return html.joined(separator: "\n")
    }
}
