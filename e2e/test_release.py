"""A release end to end: the real binary against moto, checked through boto3."""
import json
import os
import re
import time

import pytest

from conftest import on_every_backend


def started_id(stderr):
    first = stderr.splitlines()[0]
    match = re.fullmatch(r"deployment (\S+) started", first)
    assert match, f"first stderr line was {first!r}"
    return match.group(1)


def is_subsequence(seen, expected):
    it = iter(expected)
    return all(any(item == e for e in it) for item in seen)


@on_every_backend
@pytest.mark.world(bake="1s", interval="100ms")
def test_clean_release_shifts_10_50_100_and_green_runs_the_new_ami(world, switchyard, aws, poller):
    blue_tg, green_tg = world["target_group_arns"]
    with poller(world, blue_tg, green_tg) as watch:
        code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = started_id(err)
    expected = [(100, 0), (90, 10), (50, 50), (0, 100)]
    assert watch.seen[0] == (100, 0) and watch.seen[-1] == (0, 100), watch.seen
    assert is_subsequence(watch.seen, expected), f"weights went through {watch.seen}"
    assert (90, 10) in watch.seen and (50, 50) in watch.seen, f"a step was skipped: {watch.seen}"

    green_name = f"switchyard-{world['service']}-{deployment}"
    green = aws.groups()[green_name]
    assert green["DesiredCapacity"] == 2
    assert green["TargetGroupARNs"] == [green_tg]
    assert aws.instance_images(green) == {world["new_ami"]}
    tags = {t["Key"]: t["Value"] for t in green["Tags"]}
    assert tags["switchyard:deployment"] == deployment and tags["switchyard:service"] == world["service"]
    assert tags["team"] == "platform"
    versions = aws.ec2.describe_launch_template_versions(LaunchTemplateId=world["launch_template_id"])["LaunchTemplateVersions"]
    new_versions = [v for v in versions if v["LaunchTemplateData"].get("ImageId") == world["new_ami"]]
    assert len(new_versions) == 1
    assert new_versions[0]["LaunchTemplateData"]["InstanceType"] == "t3.micro"
    assert new_versions[0]["LaunchTemplateData"]["SecurityGroupIds"] == [world["security_group_id"]]

    code, out, err = switchyard("show", deployment, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["state"] == "completed" and shown["green_weight"] == 100 and shown["blue_weight"] == 0
    assert shown["green"]["auto_scaling_group"] == green_name
    states = [e["to"] for e in shown["events"]]
    assert states[0] == "pending" and states[-1] == "completed"
    order = ["launching", "waiting_for_capacity", "checking_health", "shifting", "promoting", "completed"]
    assert [s for s in dict.fromkeys(states) if s in order] == order
    assert all(e["actor"] == "e2e@test" for e in shown["events"])

    code, out, _ = switchyard("history", "--json")
    assert [d["id"] for d in json.loads(out)] == [deployment]


def test_second_release_uses_the_other_target_group(world, switchyard, aws):
    blue_tg, green_tg = world["target_group_arns"]
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    first = started_id(err)
    # The first release's blue is kept for rollback (30m): a second release may retire it only when told to.
    before = aws.snapshot(world)
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"])
    assert code == 2, err
    assert f"{world['blue_asg']} stands on green's target group and is kept for rollback until" in err, err
    assert "--end-retention" in err
    assert aws.snapshot(world) == before
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention")
    assert code == 0, err
    second = started_id(err)

    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}
    groups = aws.groups()
    green = groups[f"switchyard-{world['service']}-{second}"]
    assert green["TargetGroupARNs"] == [blue_tg]
    assert aws.instance_images(green) == {world["blue_ami"]}
    # The first release's blue stood on the target group the second green needed: it is gone.
    assert world["blue_asg"] not in groups
    # The first release's green is now blue, kept for instant rollback.
    assert groups[f"switchyard-{world['service']}-{first}"]["TargetGroupARNs"] == [green_tg]
    code, out, _ = switchyard("show", second, "--json")
    assert any("retired" in e["message"] and world["blue_asg"] in e["message"] for e in json.loads(out)["events"])
    # The first release's trail says its retention ended early, and because of which deployment.
    code, out, _ = switchyard("show", first, "--json")
    last = json.loads(out)["events"][-1]
    assert last["message"].startswith(f"blue {world['blue_asg']} scaled to 0 and deleted: deployment {second} needs where it stands")
    assert last["details"]["by_deployment"] == second
    # ... so the first release can no longer be undone.
    code, _, err = switchyard("rollback", first)
    assert code == 2 and "no blue to go back to" in err


def test_plan_changes_nothing_anywhere(world, switchyard, aws):
    before = aws.snapshot(world)
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["blue"]["auto_scaling_group"] == world["blue_asg"]
    assert plan["blue"]["target_group_arn"] == world["target_group_arns"][0]
    assert plan["green"]["target_group_arn"] == world["target_group_arns"][1]
    assert plan["green"]["desired_capacity"] == 2
    assert [s["weight"] for s in plan["steps"]] == [10, 50, 100]
    assert aws.snapshot(world) == before
    code, out, _ = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0 and "blue 90% / green 10%" in out
    # Not even a state file: a read command then says there is none (issue 11).
    code, out, err = switchyard("history", "--json")
    assert code == 2 and out == "" and "no state file at" in err
    assert not os.path.exists(world["db"])


def test_missing_ami_changes_nothing_and_exits_2(world, switchyard, aws):
    before = aws.snapshot(world)
    code, _, err = switchyard("start", world["file"], "--ami", "ami-00000000000000000")
    assert code == 2, err
    assert "ami-00000000000000000" in err and "InvalidAMIID.NotFound" in err
    assert "deployment" not in err.splitlines()[0] or "started" not in err.splitlines()[0]
    assert aws.snapshot(world) == before
    assert json.loads(switchyard("history", "--json")[1]) == []


def test_other_architecture_is_refused(world, switchyard, aws):
    before = aws.snapshot(world)
    code, _, err = switchyard("start", world["file"], "--ami", world["arm_ami"])
    assert code == 2, err
    assert "arm64" in err and "x86_64" in err
    assert aws.snapshot(world) == before


def test_invalid_file_names_line_and_key_and_changes_nothing(world, switchyard, aws, tmp_path):
    text = open(world["file"]).read()
    broken = text.replace("  - weight: 50", "  - weight: 5").replace("checks:\n", "checks:\n  intervall: 1s\n")
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    before = aws.snapshot(world)
    code, _, err = switchyard("start", str(path), "--ami", world["new_ami"])
    assert code == 2, err
    assert str(path) in err
    assert re.search(r"line \d+, steps\[2\]\.weight: weights must rise", err), err
    assert re.search(r"line \d+, checks\.intervall: unknown key: did you mean `interval`\?", err), err
    assert aws.snapshot(world) == before
    assert not os.path.exists(world["db"]), "an invalid file creates no state file"


def test_bad_usage_exits_2(world, switchyard):
    code, _, err = switchyard("start", world["file"], "--ami", "not-an-ami")
    assert code == 2 and "--ami" in err
    code, _, err = switchyard("show", "no-such-deployment")
    assert code == 2 and "no-such-deployment" in err


def wait_until(predicate, timeout=20, period=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(period)
    raise AssertionError("condition not met in time")


@on_every_backend
def test_a_second_start_of_a_live_service_is_a_conflict(world, switchyard, tmp_path):
    slow = tmp_path / "slow.yaml"
    slow.write_text(open(world["file"]).read().replace("bake: 0s", "bake: 60s", 1))
    first = switchyard("start", str(slow), "--ami", world["new_ami"], background=True)
    try:
        def shifting():
            code, out, _ = switchyard("status", "--json")
            active = json.loads(out) if code == 0 else []
            return active[0] if active and active[0]["state"] == "shifting" else None
        active = wait_until(shifting)
        assert active["runner"]["pid"] == first.pid and active["runner"]["live"] is True
        assert active["runner"]["actor"] == "e2e@test"
        assert "finished_at" in active and active["finished_at"] is None
        code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"])
        assert code == 4, err
        # It names the holder, its deployment and when it was last seen.
        assert f"deployment {active['id']} of {world['service']} is run by another live process: pid {first.pid} on " in err
        assert "(e2e@test), last seen " in err
        # With the holder dead, a second start is still refused: the deployment waits for resume or rollback.
        first.kill()
        first.communicate(timeout=10)
        code, out, _ = switchyard("status", "--json")
        assert json.loads(out)[0]["runner"]["live"] is False
        code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"])
        assert code == 4, err
        assert active["id"] in err and "still active" in err and f"switchyard resume {active['id']}" in err
    finally:
        first.kill()
        first.communicate(timeout=10)


@pytest.mark.world(bake="200ms", interval="100ms", rule=True)
def test_a_release_behind_a_listener_rule_shifts_the_rule_and_keeps_its_stickiness(world, switchyard, aws):
    blue_tg, green_tg = world["target_group_arns"]
    default_before = aws.elb.describe_listeners(ListenerArns=[world["listener_arn"]])["Listeners"][0]["DefaultActions"]
    seen = []
    def rule_weights():
        action = aws.elb.describe_rules(RuleArns=[world["rule_arn"]])["Rules"][0]["Actions"][0]
        return action["ForwardConfig"]
    run = switchyard("start", world["file"], "--ami", world["new_ami"], background=True)
    while run.poll() is None:
        config = rule_weights()
        pair = tuple(next(g["Weight"] for g in config["TargetGroups"] if g["TargetGroupArn"] == tg) for tg in (blue_tg, green_tg))
        if not seen or seen[-1] != pair:
            seen.append(pair)
        time.sleep(0.01)
    out, err = run.communicate()
    assert run.returncode == 0, err
    assert seen[0] == (100, 0) and (90, 10) in seen and (50, 50) in seen
    config = rule_weights()
    assert {g["TargetGroupArn"]: g["Weight"] for g in config["TargetGroups"]} == {blue_tg: 0, green_tg: 100}
    assert config["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 300}, "stickiness kept"
    after = aws.elb.describe_listeners(ListenerArns=[world["listener_arn"]])["Listeners"][0]["DefaultActions"]
    assert after == default_before, "the listener's default action is not the service's and stays as it was"
    tags = aws.elb.describe_tags(ResourceArns=[world["rule_arn"]])["TagDescriptions"][0]["Tags"]
    assert not any(t["Key"].startswith("switchyard:deployment") for t in tags), tags
    # A second release goes back the other way, on the rule too.
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention")
    assert code == 0, err
    assert {g["TargetGroupArn"]: g["Weight"] for g in rule_weights()["TargetGroups"]} == {blue_tg: 100, green_tg: 0}
