"""Rollback end to end: automatic on a failing check, manual from another terminal, undo after promotion,
retention and gc, and a listener that refuses to change. The real binary against moto, checked through boto3."""
import json
import os
import re
import signal
import time

import pytest

from conftest import on_every_backend


def wait_until(condition, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Running:
    """A `switchyard start` in the background: its id from the first stderr line, then its exit."""

    def __init__(self, proc):
        self.proc = proc
        first = proc.stderr.readline().strip()
        match = re.fullmatch(r"deployment (\S+) started", first)
        assert match, f"first stderr line was {first!r}"
        self.id = match.group(1)

    def finish(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def start(switchyard, world, **kw):
    return Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True, **kw))


def shifted(aws, world, green_weight):
    blue_tg, green_tg = world["target_group_arns"]
    return lambda: aws.weights(world["listener_arn"]).get(green_tg, 0) == green_weight


def green_name(world, deployment):
    return f"switchyard-{world['service']}-{deployment}"


def assert_back_on_blue(aws, world, deployment):
    blue_tg, green_tg = world["target_group_arns"]
    weights = aws.weights(world["listener_arn"])
    assert (weights.get(blue_tg, 0), weights.get(green_tg, 0)) == (100, 0), weights
    groups = aws.groups()
    assert green_name(world, deployment) not in groups, "green was not torn down"
    assert groups[world["blue_asg"]]["DesiredCapacity"] == 2, "blue lost capacity"


def shown(switchyard, deployment):
    code, out, err = switchyard("show", deployment, "--json")
    assert code == 0, err
    return json.loads(out)


def rollback_event(view):
    events = [e for e in view["events"] if e["to"] == "rolling_back" and e["from"] != "rolling_back"]
    assert events, [e["message"] for e in view["events"]]
    return events[0]


@pytest.mark.world(bake="30s", interval="200ms", probe_url="probe")
def test_a_failing_probe_during_a_step_rolls_back_to_blue(world, switchyard, aws, probe):
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    assert probe.hits > 0
    probe.fail(503)
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    assert "check http failed 2 times in a row" in err
    view = shown(switchyard, run.id)
    assert view["state"] == "rolled_back"
    event = rollback_event(view)
    assert event["details"]["check"] == "http"
    assert "answered 503" in event["details"]["evidence"] and "expected 200" in event["details"]["evidence"]
    assert event["details"]["consecutive_failures"] == "2"
    # Traffic went back before green was removed.
    messages = [e["message"] for e in view["events"]]
    back = next(i for i, m in enumerate(messages) if m == "listener read back at 100% blue")
    gone = next(i for i, m in enumerate(messages) if "scaled to 0 and deleted" in m)
    assert back < gone
    code, out, _ = switchyard("show", run.id)
    assert "evidence: GET http://127.0.0.1" in out


@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx")
def test_an_alarm_firing_during_a_step_rolls_back(world, switchyard, aws):
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    alarm = world["alarms"][0]
    aws.cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed: 42 5xx in 1 minute")
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    event = rollback_event(shown(switchyard, run.id))
    assert event["details"]["check"] == f"alarm:{alarm}"
    assert event["details"]["evidence"] == f"alarm {alarm} is ALARM: Threshold Crossed: 42 5xx in 1 minute"


@pytest.mark.world(bake="0s", interval="100ms", healthy_timeout="1s")
def test_unhealthy_green_targets_never_get_traffic(world, switchyard, aws, proxy, poller):
    proxy.rewrite("DescribeTargetHealth",
                  lambda body: body.replace(b"<State>healthy</State>",
                                            b"<State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason>"))
    blue_tg, green_tg = world["target_group_arns"]
    with poller(world, blue_tg, green_tg) as watch:
        code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 3, err
    assert all(green == 0 for _, green in watch.seen), watch.seen
    # The listener never left 100% blue, so even the rollback had nothing to change there.
    assert proxy.counts.get("ModifyListener", 0) == 0, proxy.counts
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    assert_back_on_blue(aws, world, deployment)
    event = rollback_event(shown(switchyard, deployment))
    assert event["from"] == "checking_health" and event["details"]["check"] == "target-health"
    assert "0/2 targets healthy" in event["message"] and "unhealthy (Target.FailedHealthChecks)" in event["message"]


@on_every_backend
@pytest.mark.world(bake="30s", interval="200ms")
def test_rollback_from_a_second_terminal_during_a_bake(world, switchyard, aws):
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    requested = time.time()
    code, _, err = switchyard("rollback", run.id, "--reason", "p99 latency doubled", env={"SWITCHYARD_ACTOR": "oncall@pager"})
    assert code == 0, err
    assert f"deployment {run.id} rolled back" in err
    assert time.time() - requested < 10
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    event = rollback_event(shown(switchyard, run.id))
    assert event["actor"] == "oncall@pager"
    assert event["message"] == "rolling back: requested by oncall@pager: p99 latency doubled"
    # Asking again is not an error.
    code, _, err = switchyard("rollback", run.id)
    assert code == 0 and "already rolled back" in err


@on_every_backend
@pytest.mark.world(bake="30s", interval="200ms")
def test_rollback_with_nobody_running_the_deployment_does_it_itself(world, switchyard, aws):
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait(timeout=10)
    code, out, _ = switchyard("status")
    assert "no live process runs it" in out
    code, _, err = switchyard("rollback", run.id, "--reason", "the laptop died")
    assert code == 0, err
    assert "taking over from pid" in err
    assert_back_on_blue(aws, world, run.id)
    assert shown(switchyard, run.id)["state"] == "rolled_back"


@pytest.mark.world(bake="0s", interval="100ms")
def test_undo_of_a_completed_release_inside_the_retention_window(world, switchyard, aws):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    assert shifted(aws, world, 100)()
    code, out, _ = switchyard("status", deployment)
    assert re.search(r"blue kept until .* for instant rollback \(2/2 InService, read from AWS now\)", out), out
    code, _, err = switchyard("rollback", deployment, "--reason", "customers report errors")
    assert code == 0, err
    assert_back_on_blue(aws, world, deployment)
    view = shown(switchyard, deployment)
    assert view["state"] == "rolled_back"
    event = rollback_event(view)
    assert event["from"] == "completed"
    # Straight back: no capacity wait and no checks between the request and the listener change.
    after = [e["message"] for e in view["events"][view["events"].index(event):]]
    # The listener first (blue was kept serving), then one read of blue's InService count (logged).
    assert after[1] == "listener read back at 100% blue", after
    assert after[2].startswith(f"blue {world['blue_asg']} has 2 InService instances"), after


@pytest.mark.world(bake="0s", interval="100ms", retention="1s")
def test_status_never_touches_aws_and_gc_retires_blue_after_its_retention(world, switchyard, aws, proxy):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    assert world["blue_asg"] in aws.groups()
    time.sleep(1.2)
    proxy.reset_counts()
    for args in (("status",), ("status", deployment), ("status", "--json")):
        code, _, err = switchyard(*args, env={"AWS_ENDPOINT_URL": proxy.url})
        assert code == 0, err
    assert proxy.total == 0, proxy.log
    assert world["blue_asg"] in aws.groups(), "a read command retired blue"
    code, _, err = switchyard("gc")
    assert code == 0, err
    assert f"retired blue {world['blue_asg']} of deployment {deployment}" in err
    assert world["blue_asg"] not in aws.groups()
    assert shifted(aws, world, 100)(), "traffic must stay on green"
    messages = [e["message"] for e in shown(switchyard, deployment)["events"]]
    assert messages[-1] == f"blue {world['blue_asg']} scaled to 0 and deleted: its retention ended"
    code, _, err = switchyard("gc")
    assert code == 0 and "nothing to retire" in err
    code, _, err = switchyard("rollback", deployment)
    assert code == 2 and "no blue to go back to" in err and world["blue_ami"] in err


@pytest.mark.world(bake="0s", interval="100ms", retention="500ms")
def test_gc_retires_expired_blue(world, switchyard, aws):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    time.sleep(0.7)
    code, _, err = switchyard("gc", "--service", world["service"])
    assert code == 0, err
    assert "retired blue" in err
    assert world["blue_asg"] not in aws.groups()


def rollback_refused_at_the_first_step(world, switchyard, aws, proxy, env):
    """A release at its first step whose listener then refuses every change (AccessDenied): its rollback cannot move
    traffic back and ends failed (exit 1). Returns the run and its stderr."""
    run = start(switchyard, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    proxy.fail("ModifyListener", code="AccessDenied", status=403,
               message="User is not authorized to perform: elasticloadbalancing:ModifyListener")
    code, _, err = run.finish()
    assert code == 1, err
    return run, err


@pytest.mark.world(bake="1s", interval="100ms")
def test_a_listener_that_refuses_changes_ends_failed_with_blue_serving(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    run, err = rollback_refused_at_the_first_step(world, switchyard, aws, proxy, env)
    assert "AccessDenied" in err
    assert "Traffic is where the last confirmed step left it: blue 90% / green 10%" in err
    assert f"switchyard rollback {run.id}" in err
    blue_tg, green_tg = world["target_group_arns"]
    weights = aws.weights(world["listener_arn"])
    assert (weights[blue_tg], weights[green_tg]) == (90, 10)
    assert shown(switchyard, run.id)["state"] == "failed"
    # Once the permission is back, the command the message names finishes the job.
    proxy.clear()
    code, _, err = switchyard("rollback", run.id, env=env)
    assert code == 0, err
    assert_back_on_blue(aws, world, run.id)
