import Foundation

/// The page's stylesheet and script, served from the binary (no build step, no CDN: the page works offline).
enum Assets {
    static func response(_ name: String) -> HTTPResponse? {
        switch name {
        case "app.css": return HTTPResponse(status: 200, headers: [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "no-cache")], body: .bytes(Array(css.utf8)))
        case "app.js": return HTTPResponse(status: 200, headers: [("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "no-cache")], body: .bytes(Array(js.utf8)))
        default: return nil
        }
    }

    static let css = """
        :root { --bg: #ffffff; --fg: #1b1f24; --muted: #5b6470; --line: #d9dee4; --card: #f5f7f9; --blue: #2f6fdb; --green: #1d9a55;
                --blue-soft: #dbe6fa; --green-soft: #c9ecd7; --settle: #f2c14e; --bad: #c93636; --good: #1d9a55; --code: #eef1f4; }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #12161b; --fg: #e4e8ec; --muted: #9aa4af; --line: #2c333b; --card: #1a2027; --blue: #6d9cf0; --green: #45c27f;
                  --blue-soft: #1f2f4d; --green-soft: #173d2a; --settle: #c99a2e; --bad: #f07070; --good: #45c27f; --code: #1e252d; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
        a { color: var(--blue); }
        header.top { display: flex; justify-content: space-between; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
        .live { font-size: .8rem; color: var(--muted); }
        .live.on::before { content: "● "; color: var(--good); }
        .live.off::before { content: "● "; color: var(--bad); }
        main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
        footer { max-width: 1100px; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .85rem; }
        h1 { font-size: 1.35rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
        h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
        .muted { color: var(--muted); }
        code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; }
        code { background: var(--code); padding: 0 .25em; border-radius: 3px; overflow-wrap: anywhere; }
        pre.command { background: var(--code); padding: .6rem .8rem; border-radius: 6px; overflow-x: auto; }
        pre.command code { background: none; padding: 0; }
        .services { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .6rem; margin-bottom: 1rem; }
        .service-card { display: flex; flex-direction: column; gap: .25rem; padding: .7rem .8rem; border: 1px solid var(--line); border-radius: 8px;
                        background: var(--card); color: var(--fg); text-decoration: none; }
        .card-line { font-size: .85rem; }
        .badge { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: .78rem; font-weight: 600; vertical-align: middle;
                 border: 1px solid var(--line); white-space: nowrap; }
        .state-completed { color: var(--good); border-color: var(--good); }
        .state-rolled_back, .state-failed { color: var(--bad); border-color: var(--bad); }
        .state-rolling_back { color: var(--bad); border-color: var(--bad); background: color-mix(in srgb, var(--bad) 12%, transparent); }
        .state-shifting, .state-launching, .state-waiting_for_capacity, .state-checking_health, .state-promoting, .state-pending {
          color: var(--blue); border-color: var(--blue); background: color-mix(in srgb, var(--blue) 12%, transparent); }
        .state-paused { color: var(--settle); border-color: var(--settle); }
        .split { display: inline-block; width: 70px; height: 8px; border-radius: 4px; background: var(--blue); vertical-align: middle; overflow: hidden; }
        .split-green { display: block; height: 100%; background: var(--green); margin-left: auto; }
        \((0...20).map { ".w\($0 * 5) { width: \($0 * 5)%; }" }.joined(separator: " "))
        .split-text { font-size: .8rem; color: var(--muted); font-variant-numeric: tabular-nums; }
        .filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: .5rem 0 1rem; }
        .filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); }
        .filters input, .filters select, .filters button, .actions button {
          font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
        .filters button, .actions button { cursor: pointer; background: var(--card); }
        .table-wrap { overflow-x: auto; }
        table.deployments { border-collapse: collapse; width: 100%; }
        table.deployments th, table.deployments td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
        table.deployments th { font-size: .8rem; color: var(--muted); font-weight: 600; }
        .pager { display: flex; gap: 1rem; align-items: center; margin: .8rem 0; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        .chart-box { margin-top: 1rem; }
        svg.chart { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
        svg.chart .blue-area { fill: var(--blue-soft); }
        svg.chart .green-area { fill: var(--green-soft); }
        svg.chart .green-line { fill: none; stroke: var(--green); stroke-width: 2; }
        svg.chart .settle { fill: var(--settle); opacity: .35; }
        svg.chart .bake { fill: var(--green); opacity: .8; }
        svg.chart .step-line { stroke: var(--green); stroke-dasharray: 3 3; }
        svg.chart .rollback-step .step-line { stroke: var(--bad); }
        svg.chart text { font-size: 11px; fill: var(--fg); }
        svg.chart text.axis { fill: var(--muted); }
        svg.chart .mark line { stroke: var(--muted); stroke-width: 1.5; }
        svg.chart .mark-rollback line, svg.chart .mark-rolled_back line, svg.chart .mark-failed line { stroke: var(--bad); }
        svg.chart .mark-rollback text, svg.chart .mark-failed text { fill: var(--bad); }
        svg.chart .mark-completed line { stroke: var(--good); }
        svg.chart .mark-pause line { stroke: var(--settle); stroke-dasharray: 4 2; }
        svg.chart .mark-now line { stroke: var(--fg); stroke-dasharray: 2 2; }
        .legend { font-size: .8rem; color: var(--muted); display: flex; flex-wrap: wrap; gap: .3rem .8rem; align-items: center; }
        .key { display: inline-block; width: .9em; height: .9em; border-radius: 2px; margin-right: .25rem; vertical-align: -0.1em; }
        .key-blue { background: var(--blue-soft); border: 1px solid var(--blue); } .key-green { background: var(--green-soft); border: 1px solid var(--green); }
        .key-settle { background: var(--settle); opacity: .6; } .key-bake { background: var(--green); }
        ol.steps, ol.timeline { padding-left: 1.2rem; }
        ol.steps > li { margin-bottom: .6rem; }
        ul.verdicts, ul.checks { list-style: none; padding-left: 0; margin: .3rem 0; }
        ul.verdicts li, ul.checks li { padding: .3rem .5rem; border-left: 3px solid var(--line); margin: .2rem 0; overflow-wrap: anywhere; }
        li.fail { border-left-color: var(--bad) !important; }
        li.pass { border-left-color: var(--good) !important; }
        .detail { font-size: .85rem; }
        .offset { font-family: ui-monospace, monospace; font-size: .8rem; color: var(--muted); }
        .states { font-family: ui-monospace, monospace; font-size: .8rem; }
        ol.timeline li { margin: .15rem 0; overflow-wrap: anywhere; }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
        .action-rollback { border-color: var(--bad) !important; color: var(--bad) !important; }
        @media (max-width: 640px) {
          body { font-size: 14px; }
          main { padding: .7rem; }
          table.deployments th:nth-child(4), table.deployments td:nth-child(4),
          table.deployments th:nth-child(7), table.deployments td:nth-child(7),
          table.deployments th:nth-child(8), table.deployments td:nth-child(8) { display: none; }
          dl.facts { grid-template-columns: 1fr; }
          dl.facts dt { margin-top: .3rem; }
          .chart-scroll { overflow-x: auto; }
          svg.chart { min-width: 600px; }
        }
        """

    static let js = """
        "use strict";
        (function () {
          const live = document.getElementById("live");
          const stream = document.body.dataset.live;
          let pending = false;
          function status(on, text) { live.textContent = text; live.className = "live " + (on ? "on" : "off"); }
          async function refresh() {
            if (pending) return;
            const form = document.activeElement && document.activeElement.closest && document.activeElement.closest("form");
            if (form) { setTimeout(refresh, 1000); return; }
            pending = true;
            try {
              const answer = await fetch(location.href, { headers: { "Accept": "text/html" }, cache: "no-store" });
              if (!answer.ok) return;
              const doc = new DOMParser().parseFromString(await answer.text(), "text/html");
              const fresh = doc.getElementById("main"), old = document.getElementById("main");
              if (fresh && old) { old.replaceWith(fresh); document.dispatchEvent(new CustomEvent("switchyard:updated")); }
            } catch (e) { status(false, "update failed"); } finally { pending = false; }
          }
          if (stream && window.EventSource) {
            const source = new EventSource(stream);
            source.addEventListener("hello", () => status(true, "live"));
            source.addEventListener("change", () => { status(true, "live"); refresh(); });
            source.onerror = () => status(false, "reconnecting…");
          } else {
            status(false, "no live updates");
          }
          document.addEventListener("click", async (event) => {
            const button = event.target.closest && event.target.closest("button.action");
            if (!button) return;
            const box = button.closest(".actions"), result = box.querySelector(".action-result");
            const action = button.dataset.action, id = box.dataset.id;
            let token = sessionStorage.getItem("switchyard.token") || prompt("The serve token (from the server's --token-file):");
            if (!token) return;
            let actor = sessionStorage.getItem("switchyard.actor") || prompt("Your name, for the audit log:");
            if (!actor) return;
            const body = { actor: actor };
            if (action === "rollback") {
              const reason = prompt("Why roll back? (goes into the audit log)", "");
              if (reason === null) return;
              if (reason) body.reason = reason;
            } else if (!confirm("Promote " + id + " past its gate?")) {
              return;
            }
            button.disabled = true;
            result.textContent = "asking…";
            try {
              const answer = await fetch("/api/deployments/" + encodeURIComponent(id) + "/" + action, {
                method: "POST", headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" }, body: JSON.stringify(body) });
              const data = await answer.json().catch(() => ({}));
              if (answer.status === 401) { sessionStorage.removeItem("switchyard.token"); }
              else { sessionStorage.setItem("switchyard.token", token); sessionStorage.setItem("switchyard.actor", actor); }
              result.textContent = (answer.ok ? "" : answer.status + ": ") + (data.message || data.error || answer.statusText);
            } catch (e) {
              result.textContent = "the request failed: " + e;
            } finally {
              button.disabled = false;
            }
          });
        })();
        """
}
