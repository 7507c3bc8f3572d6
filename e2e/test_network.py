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


@pytest.mark.slow(12)
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


def listener_tag(aws, world):
    """The deployment the listener's claim tag (switchyard:deployment:<id>) names, if one does."""
    tags = aws.elb.describe_tags(ResourceArns=[world["listener_arn"]])["TagDescriptions"][0]["Tags"]
    claims = [t["Key"].split(":", 2)[2] for t in tags if t["Key"].startswith("switchyard:deployment:")]
    assert len(claims) <= 1, tags
    return claims[0] if claims else None


@pytest.mark.parametrize("held", ["AddTags", "DescribeTags"])
@pytest.mark.world(bake="0s")
def test_ctrl_c_while_tagging_the_listener_takes_the_tag_off_again(world, switchyard, aws, proxy, held):
    # The tag write reached AWS; its answer (or the read that confirms it) is slow: Ctrl-C then.
    proxy.hold(held, 10, after="AddTags" if held == "DescribeTags" else None)
    run = Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env={"AWS_ENDPOINT_URL": proxy.url}))
    wait_until(lambda: any(r.action == held and r.outcome == "held+forwarded" for r in proxy.requests), what="the held answer")
    assert listener_tag(aws, world) == run.id
    time.sleep(0.3)
    code, _, err, took = interrupt(run.proc)
    assert code == 5, err
    assert took < 5, f"exit {took:.1f}s after SIGINT"
    assert listener_tag(aws, world) is None, "the tag stands, blocking every start from another state file"
    assert "the tag was taken off again" in err, err
    assert "may stand" not in err, err
    assert shown(switchyard, run.id)["state"] == "failed"
    assert not [r for r in proxy.forwarded() if r.action in ("CreateAutoScalingGroup", "CreateLaunchTemplateVersion")]


@pytest.mark.world(bake="0s", interval="100ms", retention="500ms")
def test_ctrl_c_after_housekeeping_retired_a_blue_never_says_nothing_was_changed(world, switchyard, aws, proxy):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    time.sleep(1.6)  # past the retention and its tag
    # The next start retires the old blue (AWS busy twice first), then plans again: that read goes unanswered.
    proxy.busy("DeleteAutoScalingGroup", "ScalingActivityInProgress", times=2)
    proxy.blackhole(action="DescribeListeners", after="DeleteAutoScalingGroup")
    proc = switchyard("start", world["file"], "--ami", world["blue_ami"], background=True, env={"AWS_ENDPOINT_URL": proxy.url})
    wait_until(lambda: any(r.outcome == "blackholed" for r in proxy.requests), what="the silent re-plan")
    time.sleep(0.3)
    code, _, err, took = interrupt(proc)
    assert code == 5, err
    assert took < 1.5, f"exit {took:.1f}s after SIGINT"
    assert world["blue_asg"] not in aws.groups(), "housekeeping retired the old blue"
    assert f"retired blue {world['blue_asg']}" in err, err
    assert "nothing was changed" not in err, err
    assert "AWS was changed only by the retirement of 1 blue group(s) past their retention" in err, err


@pytest.mark.world(bake="0s", interval="100ms", retention="500ms")
def test_ctrl_c_during_housekeeping_abandons_the_request_and_the_trail_says_where(world, switchyard, aws, proxy):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    first = re.match(r"deployment (\S+) started", err).group(1)
    time.sleep(1.6)
    proxy.blackhole(action="DetachLoadBalancerTargetGroups")
    proc = switchyard("start", world["file"], "--ami", world["blue_ami"], background=True, env={"AWS_ENDPOINT_URL": proxy.url})
    wait_until(lambda: any(r.outcome == "blackholed" for r in proxy.requests), what="the silent deregistration")
    time.sleep(0.3)
    code, _, err, took = interrupt(proc)
    assert took < 1.5, f"exit {took:.1f}s after SIGINT: the deregistration in flight was waited out"
    assert code == 5, err
    assert "abandoned" in err, err
    events = shown(switchyard, first)["events"]
    last = events[-1]
    assert "interrupted by SIGINT during deregistering" in last["message"] and "abandoned" in last["message"], last
    assert last["details"].get("effect", "").startswith("deregistering"), last
    # The next gc goes on from there and retires it.
    proxy.clear()
    code, _, err = switchyard("gc", "--service", world["service"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    assert world["blue_asg"] not in aws.groups()
    assert shifted(aws, world, 100)(), "traffic stays on green"


@pytest.mark.slow(11)
@pytest.mark.world(bake="60s", interval="100ms")
def test_rollback_taking_over_a_dead_runner_outlasts_an_outage(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url, **QUICK}
    run = start(switchyard, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    run.proc.kill()
    run.proc.wait()
    # AWS is gone for 8 s from the takeover's first read: far past one call's 3 s deadline.
    proxy.outage(8, on="DescribeListeners")
    started = time.time()
    code, _, err = switchyard("rollback", run.id, "--reason", "the runner died", env=env, timeout=90)
    assert code == 0, err  # `rollback ID` exits 0 once the deployment ends rolled back
    assert time.time() - started >= 7, "the outage was waited out"
    assert any(r.outcome == "outage" for r in proxy.requests)
    assert "could not reach AWS (attempt 1)" in err, err
    assert_back_on_blue(aws, world, run.id)
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1


@pytest.mark.world(bake="0s")
def test_ctrl_c_while_tagging_with_aws_gone_says_the_tag_may_stand_and_how_to_clear_it(world, switchyard, aws, proxy):
    # The tag write reached AWS; from then on nothing answers: the read back, and the RemoveTags that would take it off.
    proxy.blackhole(after="AddTags")
    run = Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env={"AWS_ENDPOINT_URL": proxy.url}))
    wait_until(lambda: any(r.outcome == "blackholed" for r in proxy.requests), what="the silent read")
    time.sleep(0.3)
    code, _, err, took = interrupt(run.proc)
    assert code == 5, err
    assert took < 8, f"exit {took:.1f}s after SIGINT: taking the tag off is bounded"
    assert listener_tag(aws, world) == run.id
    assert "may stand" in err and f"--force-unlock {run.id}" in err, err
    assert "the tag was taken off again" not in err, err


@pytest.mark.slow(10)
@pytest.mark.world(bake="0s", interval="100ms")
def test_status_of_a_kept_blue_behind_a_silent_endpoint_says_so_within_its_bound(world, switchyard, proxy):
    """`show` and `status` read a blue kept for rollback in passing, through the provider with a 5 s bound on the call:
    an endpoint that never answers costs them 5 s, not the call's 60 s deadline, and they say what the record says."""
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    proxy.blackhole(action="DescribeAutoScalingGroups")
    started = time.time()
    code, out, err = switchyard("status", deployment, env={"AWS_ENDPOINT_URL": proxy.url})
    took = time.time() - started
    assert code == 0, err
    assert took < 9, f"status took {took:.1f}s against a silent endpoint"
    assert [r for r in proxy.requests if r.action == "DescribeAutoScalingGroups" and r.outcome == "blackholed"], "the read did not reach the proxy"
    assert re.search(r"blue kept until .* for instant rollback, as recorded \(not read from AWS: .*DescribeAutoScalingGroups", out), out
