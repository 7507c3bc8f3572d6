"""A fleet that leaves service is removed only after its traffic settled, it was deregistered and it drained
(traffic.settle, the target group's own deregistration delay): a rollback, gc after a zero retention, a crash during
the settle, what plan, status and show say. The real binary against moto, through the checking proxy.

moto applies a listener change at once and drops a deregistered target from DescribeTargetHealth at once, so these
tests prove the order and the stored deadlines, not that clients see no failure: that needs a data plane."""
import json
import re
import signal
import time
from datetime import datetime

import pytest

from test_rollback import shifted, shown, start, wait_until


def at(event):
    return datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()


def first(events, predicate, what):
    found = [e for e in events if predicate(e["message"])]
    assert found, f"no event {what}: {[e['message'] for e in events]}"
    return found[0]


@pytest.mark.world(settle="2s", deregistration_delay=7)
def test_plan_shows_the_settle_and_each_target_groups_deregistration_delay_read_from_aws(world, switchyard, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    proxy.reset_counts()
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    assert "  settle    2s (traffic.settle): a listener change counts as live that long after it is confirmed" in out, out
    assert f"deregistration delay ({world['service']}-a 7 s, {world['service']}-b 7 s)" in out, out
    assert proxy.log.count("DescribeTargetGroupAttributes") == 2, proxy.log
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json", env=env)
    assert code == 0, err
    view = json.loads(out)
    assert view["settle_ms"] == 2000
    assert view["deregistration_delay_seconds"] == {arn: 7 for arn in world["target_group_arns"]}


@pytest.mark.world(bake="30s", interval="200ms", settle="2s")
def test_a_rollback_moves_traffic_at_once_and_deletes_green_only_after_the_settle_the_detach_and_the_drain(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    run = start(switchyard, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    proxy.reset_counts()
    asked = time.time()
    code, _, err = switchyard("rollback", run.id, "--reason", "test", env=env)
    assert code == 0, err
    assert run.finish()[0] == 3
    # The command stayed until green was gone.
    assert time.time() - asked >= 2
    events = shown(switchyard, run.id)["events"]
    restored = first(events, lambda m: m == "listener read back at 100% blue", "restoring blue")
    leaving = first(events, lambda m: "leaves service: settling until" in m, "starting green's removal")
    detached = first(events, lambda m: "deregistered (detached from" in m, "deregistering green")
    drained = first(events, lambda m: "drained: none of its instances is registered any more" in m, "the drain")
    deleted = first(events, lambda m: m.startswith("green group") and "scaled to 0 and deleted" in m, "deleting green")
    assert at(restored) - asked < 2, "traffic went back to blue at once"
    assert at(restored) <= at(leaving) <= at(detached)
    assert at(detached) - at(restored) >= 2 - 0.01, "green was deregistered before clients could have left it"
    assert at(detached) <= at(drained) <= at(deleted)
    assert detached["details"]["deregistration_delay_seconds"] == "1"
    # In AWS: detached (and the delay read) before it was scaled in and deleted.
    log = proxy.log
    assert log.index("DetachLoadBalancerTargetGroups") < log.index("UpdateAutoScalingGroup") < log.index("DeleteAutoScalingGroup"), log
    assert "DescribeTargetGroupAttributes" in log[:log.index("DeleteAutoScalingGroup")], log


@pytest.mark.world(bake="30s", interval="200ms", settle="3s")
def test_a_kill_during_the_settle_then_the_takeover_waits_only_what_is_left_and_never_deletes_early(world, switchyard, aws):
    # A short lease, so the takeover comes within the settle.
    lease = {"SWITCHYARD_LEASE_TTL": "1s"}
    run = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": "after-save:restoreBlue", **lease})
    wait_until(shifted(aws, world, 10), what="the first step")
    # The runner is killed right after it stored blue's traffic back; `rollback`, following it, finds it gone and takes
    # the deployment over from the stored record.
    code, _, err = switchyard("rollback", run.id, "--reason", "test", timeout=60, env=lease)
    assert run.finish()[0] == -signal.SIGKILL
    assert code == 0, err
    assert "taking over" in err, err
    events = shown(switchyard, run.id)["events"]
    restored = first(events, lambda m: m == "listener read back at 100% blue", "restoring blue")
    resumed = first(events, lambda m: m.startswith("resumed by"), "the takeover")
    detached = first(events, lambda m: "deregistered (detached from" in m, "deregistering green")
    assert at(restored) < at(resumed) < at(restored) + 3, "the takeover came after the kill, during the settle"
    assert at(detached) - at(restored) >= 3 - 0.01, "taken over, it still waited the whole settle"
    assert at(detached) - at(restored) < 3 + 1, "and only what was left of it, from the stored deadline"


@pytest.mark.slow(14)
@pytest.mark.world(bake="0s", interval="200ms", retention="0s", settle="3s")
def test_gc_right_after_a_zero_retention_waits_the_settle_from_promotion_and_status_says_so(world, switchyard, aws):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = err.splitlines()[0].split()[1]
    gc = switchyard("gc", background=True)
    seen = wait_until(lambda: (lambda r: "settling until" in r[1] and r[1])(switchyard("status", deployment)), timeout=10,
                      what="status saying blue settles")
    assert "blue may still get requests, then it is deregistered" in seen, seen
    out, err = gc.communicate(timeout=60)
    assert gc.returncode == 0, err
    assert f"retired blue {world['blue_asg']} of deployment {deployment}" in err, err
    assert "settling until" in err and "deregistered (detached from" in err, err
    assert world["blue_asg"] not in aws.groups()
    view = shown(switchyard, deployment)
    promoted = first(view["events"], lambda m: "promoted: 100% of traffic" in m, "the promotion")
    detached = first(view["events"], lambda m: m.startswith(f"{world['blue_asg']} deregistered"), "deregistering blue")
    assert at(detached) - at(promoted) >= 3 - 0.01, "blue was deregistered before its last clients could have left it"
    assert view["removal"] is None and view["blue_retired_at"] is not None


def said(switchyard, deployment, pattern):
    """`status ID` and `show ID` both, when both print a line matching `pattern`; else None."""
    code, status, _ = switchyard("status", deployment)
    shown_code, show, _ = switchyard("show", deployment)
    found = re.search(pattern, status), re.search(pattern, show)
    return (status, show) if code == 0 and shown_code == 0 and all(found) else None


@pytest.mark.slow(10)
@pytest.mark.world(bake="30s", interval="200ms", settle="2s", deregistration_delay=4)
@pytest.mark.dataplane(propagation=1.0)
def test_status_and_show_say_when_a_step_is_live_and_how_many_targets_drain_until_when(world, switchyard, aws, dataplane):
    """docs/states.md: `status`, `show` and the live view say `settling until 10:42:13` and `draining green: 2
    targets, until 10:42:43`. The data plane lists a detached target `draining` for the deregistration delay, as AWS
    does (moto drops it at once), so the drain lasts long enough to be read."""
    run = start(switchyard, world)
    step = wait_until(lambda: said(switchyard, run.id, r"settling until \d\d:\d\d:\d\d: the step's weights are confirmed"),
                      timeout=30, what="status and show saying step 1 settles")
    status, show = step
    view = shown(switchyard, run.id)
    live = view["live_at"][11:19]
    assert f"settling until {live}: the step's weights are confirmed, its bake starts once they are live" in status, status
    assert re.search(r"  step      1/3 at 10% green: confirmed \S+ \S+, live from \S+ \S+ \(its bake and checks count from then\)", show), show
    assert f"  now       settling until {live}" in show, show
    # Then the rollback: green settles, is detached, and its two targets drain for the target group's 4 s.
    rollback = switchyard("rollback", run.id, "--reason", "drain view", background=True)
    status, show = wait_until(lambda: said(switchyard, run.id, r"draining green: 2 targets, until \d\d:\d\d:\d\d"),
                              timeout=30, what="status and show saying green drains")
    removal = shown(switchyard, run.id)["removal"]
    until = removal["drain_until"][11:19]
    assert f"draining green: 2 targets, until {until}" in status, status
    assert f"  now       draining green: 2 targets, until {until}" in show, show
    assert removal["phase"] == "draining" and removal["deregistration_delay_seconds"] == 4, removal
    _, err = rollback.communicate(timeout=60)
    assert rollback.returncode == 0, err
    code, _, err = run.finish()
    assert code == 3, err


def assert_detach_drain_remove(proxy, group, deleted=True):
    """The AWS calls of a fleet's removal, as the proxy forwarded them, come in issue 19's order: its target groups
    detached, the drain read (DescribeTargetHealth) after that, and only then scaled to 0 and (unless `deleted` is
    False, pair mode) deleted; neither of those before the detach."""
    from urllib.parse import parse_qs
    calls = []
    for r in proxy.forwarded():
        form = {k: v[0] for k, v in parse_qs((r.body or b"").decode("utf-8", "replace")).items()}
        calls.append((r.action, form))
    def where(action, **fields):
        return [i for i, (a, f) in enumerate(calls) if a == action and all(f.get(k) == v for k, v in fields.items())]
    detach = where("DetachLoadBalancerTargetGroups", AutoScalingGroupName=group)
    assert detach, f"{group} was never detached: {[a for a, _ in calls]}"
    scaled = where("UpdateAutoScalingGroup", AutoScalingGroupName=group, DesiredCapacity="0")
    gone = where("DeleteAutoScalingGroup", AutoScalingGroupName=group)
    assert scaled or gone, f"{group} was neither scaled to 0 nor deleted"
    removed = min(scaled + gone)
    assert detach[0] < removed, f"{group} was scaled to 0 or deleted before it was detached"
    drained = [i for i in where("DescribeTargetHealth") if detach[0] < i < removed]
    assert drained, f"{group}'s drain was never read between its detach and its removal"
    if deleted:
        assert gone and gone[0] >= removed, f"{group} was not deleted after it was scaled to 0"
    else:
        assert not gone, f"{group} was deleted in pair mode"
