"""Traffic topology end to end: every listener and rule that forwards to the pair moves together (and one the file does
not name is refused), stickiness is off in the rollback write and back on after, and the test route reaches green for
the length of the release and no longer. The real binary against moto, checked through boto3."""
import json
import os
import re
import signal
import threading
import time

import pytest

from proxy import QuietHandler, serve
from test_rollback import shifted, start, wait_until


class RecordingProbe:
    """Stands in for green's health endpoint (reached through the test route) and keeps each request's headers."""

    def __init__(self):
        self.headers = []
        target = self

        class Handler(QuietHandler):
            def do_GET(self):
                target.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server, base = serve(Handler)
        self.url = base + "/healthz"
        self.hits = 0

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def probe():
    """Overrides conftest's probe for this module: the world's checks.http.url points here."""
    target = RecordingProbe()
    yield target
    target.close()


def split(aws, listener_arn):
    return aws.weights(listener_arn)


def rule_split(aws, rule_arn):
    action = aws.elb.describe_rules(RuleArns=[rule_arn])["Rules"][0]["Actions"][0]
    groups = action.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
    return {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups}


def pair(weights, world):
    blue_tg, green_tg = world["target_group_arns"]
    return weights.get(blue_tg, 0), weights.get(green_tg, 0)


def standing_routes(aws, world):
    """The test-route rules standing on the main listener: (priority, header, values, target groups)."""
    found = []
    for rule in aws.elb.describe_rules(ListenerArn=world["listener_arn"])["Rules"]:
        for condition in rule.get("Conditions", []):
            config = condition.get("HttpHeaderConfig")
            if condition.get("Field") == "http-header" and config:
                action = rule["Actions"][0]
                groups = [g["TargetGroupArn"] for g in action.get("ForwardConfig", {}).get("TargetGroups", [])] or [action.get("TargetGroupArn")]
                found.append((rule["Priority"], config["HttpHeaderName"], config["Values"], groups))
    return found


# --- other listeners and rules -------------------------------------------------------------------------------------

@pytest.mark.world(bake="0s", interval="100ms", second_listener=True)
def test_a_listener_the_file_does_not_name_makes_plan_and_start_refuse_listing_it(world, switchyard, aws):
    before = aws.snapshot(world)
    second = world["extra_listener_arns"][0]
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2, err
    assert second in err and "HTTP:8080" in err, err
    assert "not named in traffic" in err, err
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 2, err
    assert second in err, err
    assert aws.snapshot(world) == before
    assert pair(split(aws, second), world) == (100, 0)


@pytest.mark.world(bake="200ms", interval="100ms", second_listener=True, second_lb=True, name_all=True)
def test_every_named_listener_moves_at_each_step_and_rolls_back_with_the_others(world, switchyard, aws):
    listeners = [world["listener_arn"], *world["extra_listener_arns"]]
    assert len(listeners) == 3
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    assert "3 forwards, moved together" in out, out
    seen = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            state = tuple(pair(split(aws, arn), world) for arn in listeners)
            if not seen or seen[-1] != state:
                seen.append(state)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 0, err
    code, _, err = switchyard("rollback", run.id, "--reason", "undo")
    done.set()
    watcher.join(timeout=5)
    assert code == 0, err
    steps = [(100, 0), (90, 10), (50, 50), (0, 100)]
    # Each listener passes through every step; the three are written one after the other within each step, never
    # more than one step apart, and end together on blue.
    for index in range(3):
        own = [state[index] for state in seen]
        assert [p for i, p in enumerate(own) if i == 0 or own[i - 1] != p] == steps + [(100, 0)], seen
    for state in seen:
        assert all(p in steps for p in state), seen
        ranks = [steps.index(p) for p in state]
        rolling_back = set(state) <= {(0, 100), (100, 0)}
        assert max(ranks) - min(ranks) <= 1 or rolling_back, seen
    assert all(pair(split(aws, arn), world) == (100, 0) for arn in listeners)
    tags = aws.elb.describe_tags(ResourceArns=listeners)["TagDescriptions"]
    assert all(not any(t["Key"].startswith("switchyard:deployment") for t in d["Tags"]) for d in tags), tags


@pytest.mark.world(bake="0s", interval="100ms", path_rule=True)
def test_a_path_rule_to_the_pair_must_be_named_and_then_moves_with_the_listener(world, switchyard, aws, tmp_path):
    rule = world["extra_rule_arns"][0]
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2, err
    assert rule in err and "path-pattern /api/*" in err, err
    text = open(world["file"]).read().replace("  target_groups:\n", f"  rule_arns:\n    - {rule}\n  target_groups:\n", 1)
    named = tmp_path / "named.yaml"
    named.write_text(text)
    code, out, err = switchyard("start", str(named), "--ami", world["new_ami"])
    assert code == 0, err
    assert pair(split(aws, world["listener_arn"]), world) == (0, 100)
    assert pair(rule_split(aws, rule), world) == (0, 100)


# --- sticky sessions -----------------------------------------------------------------------------------------------

@pytest.mark.world(bake="0s", interval="100ms", sticky=300, retention="60s")
def test_a_blue_retention_shorter_than_the_stickiness_is_refused_with_both_numbers(world, switchyard):
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2, err
    assert "blue_retention 1m" in err or "blue_retention 60s" in err, err
    assert "300 s" in err, err


def listener_writes(proxy):
    """Records the listener each ModifyListener answered with: (blue, green, stickiness enabled)."""
    answers = []

    def record(body):
        text = body.decode()
        weights = dict(re.findall(r"<TargetGroupArn>([^<]+)</TargetGroupArn>\s*<Weight>(\d+)</Weight>", text))
        sticky = re.search(r"<TargetGroupStickinessConfig>.*?<Enabled>(\w+)</Enabled>", text, re.S)
        answers.append((weights, sticky.group(1) == "true" if sticky else None))
        return body

    proxy.rewrite("ModifyListener", record)
    return answers


@pytest.mark.world(bake="0s", interval="100ms", sticky=300)
def test_a_rollback_turns_stickiness_off_in_the_write_to_blue_and_back_on_once_green_is_gone(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    assert "stickiness is on (300 s)" in out and "stickiness off in the same write" in out, out
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    deployment = re.search(r"deployment (\S+) started", err).group(1)
    blue_tg, green_tg = world["target_group_arns"]
    answers = listener_writes(proxy)
    proxy.reset_counts()
    code, _, err = switchyard("rollback", deployment, env=env)
    assert code == 0, err
    simplified = [((int(w.get(blue_tg, 0)), int(w.get(green_tg, 0))), sticky) for w, sticky in answers]
    # One write to blue with stickiness off, then (after green is deleted) one that turns it back on.
    assert simplified == [((100, 0), False), ((100, 0), True)], simplified
    assert proxy.log.index("DeleteAutoScalingGroup") < len(proxy.log) - 1 - proxy.log[::-1].index("ModifyListener"), proxy.log
    config = aws.elb.describe_listeners(ListenerArns=[world["listener_arn"]])["Listeners"][0]["DefaultActions"][0]["ForwardConfig"]
    assert config["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 300}
    assert "stickiness turned back on" in err


# --- the test route ------------------------------------------------------------------------------------------------

@pytest.mark.world(bake="300ms", interval="200ms", probe_url="probe", test_route=True)
def test_the_test_route_reaches_green_for_the_release_and_is_removed_at_the_end(world, switchyard, aws, probe):
    blue_tg, green_tg = world["target_group_arns"]
    assert standing_routes(aws, world) == []
    run = start(switchyard, world)
    routes = wait_until(lambda: standing_routes(aws, world), what="the test route")
    assert routes == [("1", "X-Switchyard-Route", ["green"], [green_tg])], routes
    wait_until(shifted(aws, world, 50), what="the 50% step")
    assert standing_routes(aws, world) == routes, "the route stands while traffic shifts"
    code, _, err = run.finish()
    assert code == 0, err
    assert standing_routes(aws, world) == []
    assert probe.headers, "the probe was never called"
    assert all(h.get("x-switchyard-route") == "green" for h in probe.headers), probe.headers[:3]


@pytest.mark.world(bake="300ms", interval="200ms", probe_url="probe", test_route=True)
def test_a_crash_leaves_the_test_route_and_resume_removes_it_at_the_end(world, switchyard, aws, probe):
    crashed = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": "after-save:setSplit:2"})
    code, _, _ = crashed.finish()
    assert code == -signal.SIGKILL
    assert len(standing_routes(aws, world)) == 1
    code, _, err = switchyard("resume", crashed.id)
    assert code == 0, err
    assert standing_routes(aws, world) == []
    assert pair(split(aws, world["listener_arn"]), world) == (0, 100)


@pytest.mark.world(bake="30s", interval="200ms", probe_url="probe", test_route=True)
def test_a_crash_then_rollback_removes_the_test_route(world, switchyard, aws, probe):
    crashed = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": "after-call:ensureTestRoute"})
    code, _, _ = crashed.finish()
    assert code == -signal.SIGKILL
    assert len(standing_routes(aws, world)) == 1, "created, but the state file does not know it"
    code, _, err = switchyard("rollback", crashed.id)
    assert code == 0, err
    assert standing_routes(aws, world) == []


@pytest.mark.world(bake="30s", interval="200ms", probe_url="probe", test_route=True)
def test_a_rollback_that_cannot_delete_the_test_route_fails_and_gc_removes_it_later(world, switchyard, aws, probe, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    run = start(switchyard, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    proxy.fail("DeleteRule", code="AccessDenied", status=403)
    code, _, err = switchyard("rollback", run.id, env=env)
    assert code == 1, err
    assert run.finish()[0] == 1
    assert pair(split(aws, world["listener_arn"]), world) == (100, 0), "traffic went back to blue first"
    assert len(standing_routes(aws, world)) == 1
    proxy.clear()
    code, _, err = switchyard("gc", env=env)
    assert code == 0, err
    assert f"removed the test route left by deployment {run.id}" in err
    assert standing_routes(aws, world) == []
    code, _, err = switchyard("gc", env=env)
    assert code == 0 and "nothing to retire" in err, err


@pytest.mark.world(bake="0s", interval="100ms", retention="1s")
def test_gc_never_retires_a_blue_that_a_listener_added_since_the_release_still_sends_traffic_to(world, switchyard, aws):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    blue_tg = world["target_group_arns"][0]
    # Someone points a new listener at the old blue after the release: it was not there to be named.
    forward = {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue_tg, "Weight": 1}]}}
    aws.elb.create_listener(LoadBalancerArn=world["load_balancer_arn"], Protocol="HTTP", Port=9090, DefaultActions=[forward])
    time.sleep(1.2)
    code, _, err = switchyard("gc")
    assert code == 1, err
    assert "which carries traffic; it was left alone" in err, err
    assert world["blue_asg"] in aws.groups(), "blue was retired under a listener that still uses it"
