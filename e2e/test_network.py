"""The network between Switchyard and AWS: an endpoint that accepts connections and never answers, one that
disappears for seconds, and the operator's Ctrl-C in the middle of a request. Every wait names the service, the
action and the endpoint; a call has a deadline; a signal is honoured within a second; a rollback never gives up while
AWS is merely out of reach."""
import json
import re
import signal
import subprocess
import time

import pytest

from test_rollback import (Running, assert_back_on_blue, green_name, rollback_refused_at_the_first_step, shifted, shown,
                           start, wait_until)

QUICK = {"SWITCHYARD_AWS_TIMEOUT": "1s", "SWITCHYARD_AWS_DEADLINE": "3s"}


@pytest.mark.world(bake="0s")
def test_plan_against_a_silent_endpoint_says_each_wait_and_gives_up_at_its_deadline(world, switchyard, proxy):
    proxy.blackhole(action="DescribeListeners")
    started = time.time()
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url, **QUICK})
    took = time.time() - started
    assert code == 1, err
    assert took < 8, f"plan took {took:.1f}s with a 3 s deadline"
    waits = [line for line in err.splitlines() if line.startswith("warning: elasticloadbalancing DescribeListeners at ")]
    assert len(waits) >= 2, err
    assert f"at {proxy.url}: no answer in 1 s, try 2 of 5" in waits[0], waits[0]
    final = err.strip().splitlines()[-1]
    assert final.startswith(f"error: elasticloadbalancing DescribeListeners at {proxy.url}: no answer in "), final
    assert "SWITCHYARD_AWS_DEADLINE" in final and "3 s" in final, final


def interrupt(proc, after_lines=None):
    proc.send_signal(signal.SIGINT)
    sent = time.time()
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err, time.time() - sent


@pytest.mark.world(bake="0s")
def test_ctrl_c_while_planning_against_a_silent_endpoint_exits_at_once(world, switchyard, proxy):
    proxy.blackhole(action="DescribeTargetHealth")
    proc = switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env={"AWS_ENDPOINT_URL": proxy.url})
    wait_until(lambda: any(r.outcome == "blackholed" for r in proxy.requests), what="the silent request")
    time.sleep(0.3)
    code, _, err, took = interrupt(proc)
    assert took < 1.5, f"exit {took:.1f}s after SIGINT"
    assert code == 5, err
    assert "nothing was changed" in err, err
    assert not [r for r in proxy.forwarded() if r.action in ("AddTags", "CreateAutoScalingGroup", "CreateLaunchTemplateVersion")]


@pytest.mark.world(bake="0s", interval="100ms")
def test_ctrl_c_in_the_middle_of_a_request_stops_within_a_second_and_resume_finishes(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    # Planning reads target health too: only the reads once green exists go unanswered.
    proxy.blackhole(action="DescribeTargetHealth", after="CreateAutoScalingGroup")
    run = Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env=env))
    wait_until(lambda: any(r.outcome == "blackholed" for r in proxy.requests), what="the silent health read")
    time.sleep(0.3)
    code, _, err, took = interrupt(run.proc)
    assert took < 1.5, f"exit {took:.1f}s after SIGINT"
    assert code == 5, err
    view = shown(switchyard, run.id)
    last = view["events"][-1]
    assert "interrupted by SIGINT" in last["message"] and "abandoned" in last["message"], last
    assert last["details"].get("effect"), last
    proxy.clear()
    code, _, err = switchyard("resume", run.id, env=env)
    assert code == 0, err
    assert shifted(aws, world, 100)()
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1, "green was created twice"


@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx")
def test_a_rollback_outlasts_an_endpoint_that_disappears_and_status_shows_it_meanwhile(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url, **QUICK}
    run = start(switchyard, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    # The rollback's first traffic call finds AWS gone for 8 s: far past one call's 3 s deadline.
    proxy.outage(8, on="DescribeTags")
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="Threshold Crossed")
    wait_until(lambda: any(r.outcome == "outage" for r in proxy.requests), what="the outage")
    time.sleep(4)
    code, out, err = switchyard("status")
    assert code == 0, err
    assert run.id in out and "rolling_back" in out, out
    code, _, err = run.finish(timeout=60)
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    view = shown(switchyard, run.id)
    assert view["state"] == "rolled_back"
    retries = [e for e in view["events"] if e["from"] == "rolling_back" and "could not reach AWS" in e["message"]]
    assert retries, [e["message"] for e in view["events"]]
    assert "connection refused" in retries[0]["message"], retries[0]["message"]
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1


@pytest.mark.world(bake="1s", interval="100ms")
def test_status_lists_a_failed_rollback_whose_traffic_is_still_split(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    run, _ = rollback_refused_at_the_first_step(world, switchyard, aws, proxy, env)
    code, out, err = switchyard("status")
    assert code == 0, err
    assert run.id in out, out
    assert "blue 90% / green 10%" in out and f"switchyard rollback {run.id}" in out, out
    code, out, err = switchyard("status", "--json")
    listed = json.loads(out)
    assert [d["id"] for d in listed] == [run.id], listed
    # Nor does a new release start over it: it names the command that finishes the old one.
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 4, err
    assert f"switchyard rollback {run.id}" in err and "green 10%" in err, err
