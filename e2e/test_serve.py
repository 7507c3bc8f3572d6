"""`switchyard serve` end to end: the real binary serving a state with real releases made against moto (one completed,
one rolled back, one waiting at a gate), its JSON compared with the commands' own, /metrics read by Prometheus's
parser, actions refused without the token and audited with it, and the server kept answering by clients that stall."""
import json
import os
import signal
import socket
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from serve_support import Serving, paused_release, started_id, variant, wait_until

TOKEN = "e2e-token-7f3a9c1d5b2e8f40"


def releases(switchyard, world, aws):
    """Three releases of one service: completed, rolled back by a person, waiting at a gate. Their ids, in that order."""
    code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    completed = json.loads(out)["id"]
    slow = variant(world, "slow.yaml", "10:60s,100")
    run = switchyard("start", slow, "--ami", world["third_ami"], "--end-retention", background=True)
    rolled = started_id(run)
    blue_tg, green_tg = world["target_group_arns"]
    wait_until(lambda: switchyard("show", rolled, "--json")[1] and json.loads(switchyard("show", rolled, "--json")[1])["green_weight"] == 10,
               what="the second release at its first step", period=0.2)
    code, _, err = switchyard("rollback", rolled, "--reason", "p99 doubled")
    assert code == 0, err
    run.communicate(timeout=60)
    assert run.returncode == 3
    paused = paused_release(switchyard, world, ami=world["blue_ami"])
    return completed, rolled, paused


def shown(switchyard, *args):
    code, out, err = switchyard(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def without_clock(view):
    """A deployment view minus what depends on when it is read (`waiting` is worded from now)."""
    if isinstance(view, list):
        return [without_clock(v) for v in view]
    return {k: v for k, v in view.items() if k != "waiting"}


@pytest.mark.world(settle="300ms", interval="100ms")
def test_the_api_answers_what_show_and_history_print_and_metrics_parse(world, switchyard, aws):
    completed, rolled, paused = releases(switchyard, world, aws)
    serve = Serving(switchyard)
    try:
        for deployment in (completed, rolled, paused):
            assert serve.json(f"/api/deployments/{deployment}") == shown(switchyard, "show", deployment)
        assert serve.json("/api/deployments") == shown(switchyard, "history")
        assert serve.json("/api/deployments?status=rolled_back&limit=5") == shown(switchyard, "history", "--status", "rolled_back", "--limit", "5")
        assert [d["id"] for d in serve.json(f"/api/deployments?service={world['service']}")] == [paused, rolled, completed]
        status, _, body = serve.get("/api/deployments?status=rolledback")
        assert status == 400 and "did you mean rolled_back" in body, body
        assert serve.get("/api/deployments/nope")[0] == 404

        status, headers, text = serve.get("/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
        families = {f.name: f for f in text_string_to_metric_families(text)}
        service = world["service"]

        def samples(name, **labels):
            # The parser names a counter's family without its _total; its samples keep it.
            family = families.get(name) or families[name.removesuffix("_total")]
            return [s for s in family.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

        [info] = samples("switchyard_release_info", service=service)
        assert info.labels == {"service": service, "deployment": paused, "ami": world["blue_ami"], "state": "paused"} and info.value == 1
        assert samples("switchyard_release_green_weight", service=service)[0].value == 10
        phases = {s.labels["phase"]: s.value for s in samples("switchyard_release_phase", service=service)}
        assert phases["paused"] == 1 and sum(phases.values()) == 1, phases
        assert families["switchyard_rollbacks"].type == "counter"
        assert samples("switchyard_rollbacks_total", service=service)[0].value == 1
        assert samples("switchyard_deployments_total", service=service)[0].value == 3
        # The rollback was a person's: no check failed.
        assert samples("switchyard_check_failures_total", service=service) == []
        assert samples("switchyard_serve_requests_total", route="api_deployment", code="404")[0].value == 1

        status, headers, page = serve.get("/")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        for deployment in (completed, rolled, paused):
            assert f'data-id="{deployment}"' in page
        assert "http" not in page.split("<link", 1)[1].split(">", 1)[0], "the stylesheet comes from the binary, not a CDN"
        status, _, page = serve.get(f"/d/{rolled}")
        assert status == 200 and "p99 doubled" in page and 'class="rollback-step"' in page
        assert f"switchyard promote {paused}" in serve.get(f"/d/{paused}")[2]
        # Read-only: no action, whatever the request says.
        status, _, body = serve.request("POST", f"/api/deployments/{paused}/promote", body={"actor": "mallory"},
                                        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        assert status == 403 and "--allow-actions" in body
        assert shown(switchyard, "show", paused)["state"] == "paused"
        assert any("on loopback only" in line for line in serve.lines), serve.lines
    finally:
        assert serve.stop() == 0, serve.lines


@pytest.mark.world(settle="0s", interval="100ms")
def test_actions_are_refused_without_the_token_and_audited_with_it(world, switchyard, tmp_path):
    paused = paused_release(switchyard, world)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    serve = Serving(switchyard, "--allow-actions", "--token-file", str(token_file))
    try:
        path = f"/api/deployments/{paused}/promote"
        body = {"actor": "alice"}
        json_type = {"Content-Type": "application/json"}
        assert serve.request("POST", path, body=body, headers=json_type)[0] == 401
        assert serve.request("POST", path, body=body, headers={**json_type, "Authorization": "Bearer " + TOKEN[:-1] + "x"})[0] == 401
        assert serve.request("POST", path, body=body, headers={**json_type, "Authorization": TOKEN})[0] == 401
        # A form another site's page could send: no JSON type, so refused before anything runs.
        assert serve.request("POST", path, body=b"actor=alice", headers={"Authorization": f"Bearer {TOKEN}",
                                                                          "Content-Type": "application/x-www-form-urlencoded"})[0] == 415
        assert serve.get(path)[0] == 405
        assert shown(switchyard, "show", paused)["state"] == "paused", "a refused action changed the release"

        auth = {**json_type, "Authorization": f"Bearer {TOKEN}"}
        status, _, answer = serve.request("POST", path, body=body, headers=auth, timeout=40)
        assert status == 202, answer
        assert "requested by alice via serve (e2e@test)" in json.loads(answer)["message"]
        view = wait_until(lambda: (lambda v: v["state"] == "completed" and v)(shown(switchyard, "show", paused)), timeout=60,
                          what="the promoted release to complete", period=0.3)
        actors = {e["actor"] for e in view["events"] if "promotion past the manual gate requested" in e["message"]}
        assert actors == {"alice via serve (e2e@test)"}, [(e["message"], e["actor"]) for e in view["events"]]
        # Now there is no gate: promote is refused by the command itself (exit 2), the API says so.
        status, _, answer = serve.request("POST", path, body=body, headers=auth, timeout=40)
        assert status == 409 and "not waiting at a manual gate" in answer, answer
        # Roll back the completed release while its blue is kept: the same path as `switchyard rollback`.
        status, _, answer = serve.request("POST", f"/api/deployments/{paused}/rollback", body={"actor": "bob", "reason": "undo from the page"},
                                          headers=auth, timeout=40)
        assert status == 202, answer
        view = wait_until(lambda: (lambda v: v["state"] == "rolled_back" and v)(shown(switchyard, "show", paused)), timeout=60,
                          what="the rollback", period=0.3)
        assert "requested by bob via serve (e2e@test): undo from the page" in view["rollback_reason"]
        assert TOKEN not in "\n".join(serve.lines), "the token was logged"
    finally:
        assert serve.stop() == 0, serve.lines
    assert TOKEN not in "\n".join(serve.lines)


@pytest.mark.world()
def test_clients_that_stall_do_not_hold_the_server_and_a_signal_stops_it(world, switchyard):
    paused = paused_release(switchyard, world)
    serve = Serving(switchyard, "--client-timeout", "1s", "--heartbeat", "300ms")
    host, port = serve.url.removeprefix("http://").split(":")
    try:
        silent = socket.create_connection((host, int(port)))
        slow = socket.create_connection((host, int(port)))
        slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its head
        started = time.time()
        assert serve.get("/healthz", timeout=2)[0] == 200, "a stalled client held up another's request"
        assert time.time() - started < 1
        slow.settimeout(5)
        answer = slow.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 408"), answer
        assert time.time() - started < 3
        silent.settimeout(5)
        assert silent.recv(1) == b"", "an idle connection was not closed"
        huge = socket.create_connection((host, int(port)))
        huge.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
        huge.settimeout(5)
        assert huge.recv(4096).decode().startswith("HTTP/1.1 431")
        # An event stream: its hello, then heartbeats while nothing changes.
        stream = socket.create_connection((host, int(port)))
        stream.sendall(f"GET /api/stream?deployment={paused} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        stream.settimeout(5)
        seen = b""
        while seen.count(b": heartbeat") < 2:
            chunk = stream.recv(4096)
            assert chunk, seen
            seen += chunk
        assert b"Content-Type: text/event-stream" in seen and b"event: hello" in seen
        assert b"Content-Length" not in seen.split(b"\r\n\r\n")[0]
        # Kept alive: two requests on one connection, each with its length.
        keep = socket.create_connection((host, int(port)))
        keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        keep.settimeout(5)
        both = b""
        while True:
            chunk = keep.recv(4096)
            if not chunk:
                break
            both += chunk
        assert both.count(b"HTTP/1.1 200 OK") == 2 and both.count(b"Content-Length: 3") == 2, both
        started = time.time()
        code = serve.stop(signal.SIGINT)
        assert code == 0, serve.lines
        assert time.time() - started < 5, "the open stream held up the stop"
        assert "stopped" in serve.lines[-1]
    finally:
        serve.stop()


def test_bad_flags_and_token_files_are_refused_with_exit_2(switchyard, tmp_path):
    code, _, err = switchyard("serve", "--allow-actions")
    assert code == 2 and "--token-file" in err, err
    code, _, err = switchyard("serve", "--listen", "8470")
    assert code == 2 and "--listen 8470" in err, err
    short = tmp_path / "short"
    short.write_text("abc123\n")
    code, _, err = switchyard("serve", "--allow-actions", "--token-file", str(short))
    assert code == 2 and str(short) in err and "abc123" not in err, err
    code, _, err = switchyard("serve", "--allow-actions", "--token-file", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in err, err
    code, _, err = switchyard("serve", "--poll", "soon")
    assert code == 2 and "--poll" in err, err


ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "artifacts")


@pytest.mark.slow(10)
@pytest.mark.world(settle="500ms", interval="100ms")
def test_a_browser_shows_the_list_the_chart_and_a_release_going_on_live(world, switchyard, tmp_path):
    from cdp import Browser, chromium_path
    if not chromium_path():
        pytest.skip("no chromium: apt-get install chromium (scripts/lib.sh ensure_browser)")
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    paused = paused_release(switchyard, world, ami=world["third_ami"])
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    serve = Serving(switchyard, "--allow-actions", "--token-file", str(token_file))
    browser = Browser()
    try:
        browser.size(1280, 900)
        browser.open(serve.url + "/")
        assert browser.eval("document.querySelectorAll('tr[data-id]').length") == 2
        assert browser.eval(f"document.querySelector('tr[data-id=\"{paused}\"]').dataset.state") == "paused"
        assert browser.eval(f"document.querySelector('.service-card[data-service=\"{world['service']}\"] .badge').textContent") == "paused"
        browser.wait(lambda: browser.eval("document.getElementById('live').textContent") == "live", what="the live stream to connect")
        browser.screenshot(os.path.join(ARTIFACTS, "serve-list-desktop.png"))

        browser.open(serve.url + f"/d/{paused}")
        assert browser.eval("document.querySelectorAll('svg.chart g.step').length") == 1
        assert browser.eval("document.querySelector('svg.chart g.step').dataset.green") == "10"
        assert browser.eval("document.querySelectorAll('svg.chart .settle').length") == 1, "the step's settle is not drawn"
        assert browser.eval("document.querySelectorAll('svg.chart .mark-pause').length") == 1
        assert browser.eval("[...document.querySelectorAll('button.action')].map(b => b.dataset.action).join(',')") == "promote,rollback"
        browser.wait(lambda: browser.eval("document.getElementById('live').textContent") == "live", what="the live stream to connect")
        browser.screenshot(os.path.join(ARTIFACTS, "serve-release-desktop.png"))
        browser.size(390, 844, mobile=True, dark=True)
        browser.eval("window.scrollTo(0, 0)")
        assert browser.eval("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways on a phone"
        browser.screenshot(os.path.join(ARTIFACTS, "serve-release-phone-dark.png"))
        browser.size(1280, 900)

        # The page stays; the release goes on from another hand (the API, as a second person would): the page follows.
        browser.eval("window.__sameDocument = 'yes'")
        status, _, answer = serve.request("POST", f"/api/deployments/{paused}/promote", body={"actor": "carol"},
                                          headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, timeout=40)
        assert status == 202, answer
        states = set()

        def finished():
            states.add(browser.eval("document.getElementById('main').dataset.state"))
            return "completed" in states
        browser.wait(finished, timeout=60, what="the page to show the release completed")
        assert browser.eval("window.__sameDocument") == "yes", "the page was reloaded instead of updated"
        assert browser.eval("document.querySelectorAll('svg.chart g.step').length") == 2
        assert browser.eval("[...document.querySelectorAll('svg.chart g.step')].map(g => g.dataset.green).join(',')") == "10,100"
        assert browser.eval("document.querySelectorAll('svg.chart .mark-completed').length") == 1
        assert "carol via serve" in browser.eval("document.querySelector('ol.timeline').textContent")
        browser.screenshot(os.path.join(ARTIFACTS, "serve-release-completed-desktop.png"))
        browser.size(390, 844, mobile=True)
        browser.open(serve.url + "/")
        assert browser.eval("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the list scrolls sideways on a phone"
        browser.screenshot(os.path.join(ARTIFACTS, "serve-list-phone.png"))
        assert not browser.errors, browser.errors
    finally:
        browser.close()
        assert serve.stop() == 0, serve.lines
