"""A person changes the traffic by hand in the middle of a release (the console, the CLI): the release notices before
its next write, pauses naming what changed, leaves the traffic as the person set it, and waits for `promote`,
`resume --accept-current` or `rollback`. The listener is changed with boto3 directly against moto, as a person would."""
import time

import pytest

from test_rollback import green_name, shown, start, wait_until


def set_forward(aws, world, weights):
    aws.elb.modify_listener(ListenerArn=world["listener_arn"], DefaultActions=[{
        "Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg, "Weight": w} for tg, w in weights.items()]}}])


def paused_by_hand(switchyard, run):
    wait_until(lambda: shown(switchyard, run.id)["state"] in ("paused", "rolling_back", "rolled_back", "failed", "completed"),
               timeout=30, what="the release to stop")
    view = shown(switchyard, run.id)
    assert view["state"] == "paused", [e["message"] for e in view["events"]]
    return next(e for e in view["events"] if e["message"].startswith("traffic changed by hand"))


@pytest.mark.world(bake="2s", interval="500ms")
def test_traffic_pulled_back_to_blue_by_hand_pauses_the_release_and_accept_current_goes_on(world, switchyard, aws, validator):
    blue_tg, green_tg = world["target_group_arns"]
    validator.guard_removals()  # no group whose target group has weight in moto is detached or deleted
    run = start(switchyard, world)
    wait_until(lambda: aws.weights(world["listener_arn"]).get(green_tg) == 10, what="the first step")
    set_forward(aws, world, {blue_tg: 100, green_tg: 0})
    event = paused_by_hand(switchyard, run)
    assert world["listener_arn"] in event["message"]
    assert event["details"]["found"] == f"{blue_tg}=100%"
    assert event["details"]["expected"] == ", ".join(sorted([f"{blue_tg}=90%", f"{green_tg}=10%"]))
    time.sleep(0.5)
    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}, "the traffic was not left as the person set it"
    code, _, err = switchyard("resume", run.id, "--accept-current")
    assert code == 0, err
    assert "goes on" in err or "completed" in err, err
    code, _, err = run.finish()
    assert code == 0, err
    view = shown(switchyard, run.id)
    assert view["state"] == "completed"
    accepted = next(e for e in view["events"] if "accepted by" in e["message"])
    assert "blue 100% / green 0%" in accepted["message"]
    assert aws.weights(world["listener_arn"]) == {blue_tg: 0, green_tg: 100}
    assert validator.forwarded_count("CreateAutoScalingGroup") == 1, "green was created twice"


@pytest.mark.world(bake="2s", interval="500ms")
def test_a_forward_to_a_third_target_group_by_hand_pauses_the_release_and_rollback_works_from_there(world, switchyard, aws, validator):
    blue_tg, green_tg = world["target_group_arns"]
    validator.guard_removals()  # no group whose target group has weight in moto is detached or deleted
    vpc = aws.elb.describe_target_groups(TargetGroupArns=[blue_tg])["TargetGroups"][0]["VpcId"]
    maintenance = aws.elb.create_target_group(Name=f"{world['service']}-maint", Protocol="HTTP", Port=80, VpcId=vpc,
                                              TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    run = start(switchyard, world)
    wait_until(lambda: aws.weights(world["listener_arn"]).get(green_tg) == 10, what="the first step")
    set_forward(aws, world, {maintenance: 100})
    event = paused_by_hand(switchyard, run)
    assert event["details"]["found"] == f"{maintenance}=100%" and maintenance in event["message"]
    time.sleep(0.5)
    assert aws.weights(world["listener_arn"]) == {maintenance: 100}, "the maintenance page was replaced"
    code, _, err = switchyard("rollback", run.id, "--reason", "maintenance went wrong")
    code_start, _, err_start = run.finish()
    assert code_start == 3, err_start
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}
    assert green_name(world, run.id) not in aws.groups(world)
    assert validator.forwarded_count("CreateAutoScalingGroup") == 1, "green was created twice"


@pytest.mark.world(bake="2s", interval="500ms")
def test_a_release_detached_at_a_pause_by_hand_is_rolled_back_by_the_rollback_command_itself(world, switchyard, aws, validator):
    blue_tg, green_tg = world["target_group_arns"]
    validator.guard_removals()  # no group whose target group has weight in moto is detached or deleted
    vpc = aws.elb.describe_target_groups(TargetGroupArns=[blue_tg])["TargetGroups"][0]["VpcId"]
    maintenance = aws.elb.create_target_group(Name=f"{world['service']}-maint", Protocol="HTTP", Port=80, VpcId=vpc,
                                              TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    run = start(switchyard, world)
    run.proc.kill()
    run.proc.communicate(timeout=10)
    # Run by a start that detaches at a pause: it exits 5 once the change by hand pauses it, and nobody runs it.
    detached = switchyard("resume", run.id, "--detach-at-pause", background=True)
    wait_until(lambda: aws.weights(world["listener_arn"]).get(green_tg) == 10, what="the first step")
    set_forward(aws, world, {maintenance: 100})
    out, err = detached.communicate(timeout=60)
    assert detached.returncode == 5, err
    assert "a change of traffic by hand" in err, err
    assert aws.weights(world["listener_arn"]) == {maintenance: 100}
    code, _, err = switchyard("rollback", run.id, "--reason", "maintenance went wrong")
    assert shown(switchyard, run.id)["state"] == "rolled_back", err
    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}
    assert green_name(world, run.id) not in aws.groups(world)
    assert validator.forwarded_count("CreateAutoScalingGroup") == 1, "green was created twice"
