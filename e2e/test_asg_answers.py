"""Auto Scaling as it answers in AWS and moto never does: a group write refused while an activity runs on the group
(ScalingActivityInProgress, ResourceInUse, ResourceContention), and launches that fail (a Failed activity in
DescribeScalingActivities, no instances). The real binary through the proxy (test_proxy_faults.py proves its switches
with boto3 alone); what AWS ends with is read from moto directly."""
import re
import time

import pytest

from test_rollback import assert_back_on_blue, green_name, rollback_event, shifted, shown, start, wait_until


def forwarded_deletes(proxy, name):
    return [r for r in proxy.forwarded() if r.action == "DeleteAutoScalingGroup" and f"AutoScalingGroupName={name}".encode() in r.body]


@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx")
def test_a_rollback_waits_out_a_busy_group_and_ends_rolled_back(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    run = start(switchyard, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    # AWS refuses to delete green while its scaling activity (the scale-in to 0) runs: three times, then it goes.
    proxy.busy("DeleteAutoScalingGroup", "ScalingActivityInProgress", times=3)
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="Threshold Crossed")
    code, _, err = run.finish(timeout=90)
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    refused = [r for r in proxy.requests if r.outcome == "injected:ScalingActivityInProgress"]
    assert len(refused) == 3, [r.outcome for r in proxy.requests if r.action == "DeleteAutoScalingGroup"]
    assert len(forwarded_deletes(proxy, green_name(world, run.id))) == 1
    # Each wait says what AWS said, about which call, and that it is retried.
    waits = [line for line in err.splitlines() if "DeleteAutoScalingGroup" in line and "ScalingActivityInProgress" in line]
    assert len(waits) == 3, err
    assert "autoscaling DeleteAutoScalingGroup at " + proxy.url in waits[0] and "busy" in waits[0], waits[0]
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1


@pytest.mark.world(bake="0s", interval="100ms", retention="500ms")
def test_gc_retires_a_blue_whose_delete_is_refused_while_an_activity_runs(world, switchyard, aws, proxy):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    time.sleep(0.7)
    proxy.busy("DeleteAutoScalingGroup", "ResourceInUse", times=2)
    code, _, err = switchyard("gc", "--service", world["service"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    assert f"retired blue {world['blue_asg']}" in err
    assert world["blue_asg"] not in aws.groups()
    assert shifted(aws, world, 100)(), "traffic stays on green"
    assert "ResourceInUse" in err and "busy" in err


@pytest.mark.world(bake="0s", interval="100ms", retention="500ms")
def test_the_next_start_is_not_rolled_back_because_the_old_blue_was_busy(world, switchyard, aws, proxy):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    first = re.match(r"deployment (\S+) started", err).group(1)
    time.sleep(1.6)  # past the retention and past its tag (rounded up to the second)
    # The next start retires the old blue (housekeeping, then the release itself): AWS says busy twice.
    proxy.busy("DeleteAutoScalingGroup", "ScalingActivityInProgress", times=2)
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    second = re.search(r"deployment (\S+) started", err).group(1)
    assert shown(switchyard, second)["state"] == "completed"
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}, "the second release serves from the first target group"
    groups = aws.groups(world)
    assert world["blue_asg"] not in groups and green_name(world, first) in groups and green_name(world, second) in groups
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1


@pytest.mark.world(bake="0s", interval="100ms")
def test_launches_that_fail_end_the_wait_early_with_aws_own_reason(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    proxy.launch_failures(f"switchyard-{world['service']}-", every=0.3)
    started = time.time()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env, timeout=60)
    took = time.time() - started
    assert code == 3, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    assert_back_on_blue(aws, world, deployment)
    assert took < 20, f"the wait ran {took:.0f}s: the 30s fleet.capacity_timeout was waited out"
    view = shown(switchyard, deployment)
    event = rollback_event(view)
    assert event["from"] == "waiting_for_capacity"
    assert "We currently do not have sufficient t3.micro capacity" in event["message"], event["message"]
    assert "3 launch activities in a row failed" in event["message"], event["message"]
    # The progress lines named AWS's words as the failures came.
    progress = [line for line in err.splitlines() if "waiting_for_capacity" in line and "sufficient t3.micro capacity" in line]
    assert progress, err
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1
    assert proxy.counts.get("DescribeScalingActivities", 0) >= 1


@pytest.mark.world(bake="0s", interval="100ms", retention="1h")
def test_an_old_blue_busy_past_the_capacity_timeout_never_rolls_the_new_release_back(world, switchyard, aws, proxy):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    first = re.match(r"deployment (\S+) started", err).group(1)
    # The next release ends the first one's retention and retires its blue from green's target group. Its deletion
    # meets ResourceContention (a pending update) for longer than the busy limit, and longer than the release's
    # fleet.capacity_timeout: the old group is detached and drained by then, so the release leaves it and goes on.
    with open(world["file"]) as f:
        text = f.read()
    with open(world["file"], "w") as f:
        f.write(text.replace("capacity_timeout: 30s", "capacity_timeout: 2s"))
    proxy.busy("DeleteAutoScalingGroup", "ResourceContention", times=1000)
    env = {"AWS_ENDPOINT_URL": proxy.url, "SWITCHYARD_AWS_BUSY_LIMIT": "3s"}
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention", env=env, timeout=60)
    assert code == 0, err
    second = re.search(r"deployment (\S+) started", err).group(1)
    view = shown(switchyard, second)
    assert view["state"] == "completed", view
    assert "rolling back" not in err, err
    assert f"retiring {world['blue_asg']} left off" in err, err
    assert "ResourceContention" in err and "busy" in err, err
    # AWS ends as the record says: the second release serves 100 % from the first target group, the old blue stands
    # detached (nothing routes to it), both greens stand, and each green was created once.
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}
    groups = aws.groups(world)
    assert world["blue_asg"] in groups and groups[world["blue_asg"]]["TargetGroupARNs"] == [], groups.get(world["blue_asg"])
    assert green_name(world, first) in groups and green_name(world, second) in groups
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1
    assert [r for r in proxy.requests if r.outcome == "injected:ResourceContention"], "AWS said busy"
