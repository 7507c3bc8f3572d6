"""fleet.mode: pair: green is the idle one of two standing groups (scripts/seed-world.py --pair: <service>-blue serving
on the first target group, <service>-green with no instances on the second, the same launch template), as Terraform
declares them. Releases alternate between the two, a rollback gives the idle group back exactly as it was, and no
release ever creates or deletes a group: the recording proxy counts every request of every command.
"""
import json
import re
import signal
import time

import pytest

from test_removal import assert_detach_drain_remove
from test_rollback import shifted, shown, start, wait_until


def started(err):
    return re.search(r"deployment (\S+) started", err).group(1)


def group(aws, name):
    found = aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return found[0] if found else None


def settings(aws, name):
    """Everything of a group a release may touch, comparable before and after."""
    g = group(aws, name)
    return {"launch_template": (g["LaunchTemplate"]["LaunchTemplateId"], g["LaunchTemplate"]["Version"]),
            "sizes": (g["MinSize"], g["DesiredCapacity"], g["MaxSize"]),
            "processes": sorted(p["ProcessName"] for p in g["SuspendedProcesses"]),
            "target_groups": sorted(g["TargetGroupARNs"]),
            "instances": sorted(i["InstanceId"] for i in g["Instances"])}


def version_of(aws, world, ami):
    versions = aws.ec2.describe_launch_template_versions(LaunchTemplateId=world["launch_template_id"])["LaunchTemplateVersions"]
    [found] = [v for v in versions if v["LaunchTemplateData"].get("ImageId") == ami]
    return str(found["VersionNumber"])


def no_group_created_or_deleted(proxy):
    assert proxy.counts.get("CreateAutoScalingGroup", 0) == 0, proxy.log
    assert proxy.counts.get("DeleteAutoScalingGroup", 0) == 0, proxy.log


def serving(aws, world, name, ami, tg):
    """The group carries all the traffic on `ami`, launched from its version by number."""
    g = group(aws, name)
    assert aws.weights(world["listener_arn"])[tg] == 100
    assert tg in g["TargetGroupARNs"]
    assert g["DesiredCapacity"] == 2 and len(g["Instances"]) == 2, settings(aws, name)
    assert aws.instance_images(g) == {ami}
    assert g["LaunchTemplate"]["Version"] == version_of(aws, world, ami), "green launches by number, never $Latest"


@pytest.mark.world(pair=True, blue_version="1", bake="0s", interval="100ms", retention="1s")
def test_two_releases_alternate_between_the_pair_and_no_group_is_created_or_deleted(world, switchyard, proxy, aws):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    blue, green = world["blue_asg"], world["green_asg"]
    tg_a, tg_b = world["target_group_arns"]
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    assert f"pair mode: green = {green} (idle), no group is created or deleted" in out, out
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json", env=env)
    assert code == 0, err
    plan = json.loads(out)
    assert (plan["mode"], plan["green"]["auto_scaling_group"], plan["retire"]) == ("pair", green, [])

    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    first = started(err)
    serving(aws, world, green, world["new_ami"], tg_b)
    # Blue is kept, pinned, for its retention; then gc scales it to 0/0/0 and keeps it, its pins undone.
    assert len(group(aws, blue)["Instances"]) == 2
    time.sleep(1.2)
    code, _, err = switchyard("gc", env=env)
    assert code == 0, err
    old = settings(aws, blue)
    assert (old["sizes"], old["instances"], old["processes"]) == ((0, 0, 0), [], []), old
    messages = [e["message"] for e in shown(switchyard, first)["events"]]
    assert messages[-1] == f"blue {blue} scaled to 0 and kept (pair mode): its retention ended", messages

    # gc kept the group (pair mode) and its retain-until tag: a group at 0/0/0 keeps nothing for rollback, so a tag
    # still in the future (set here an hour ahead, as another state file's newer deadline would) does not hold the
    # next release back.
    later = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600))
    aws.asg.create_or_update_tags(Tags=[{"ResourceId": blue, "ResourceType": "auto-scaling-group", "Key": "switchyard:retain-until",
                                         "Value": later, "PropagateAtLaunch": False}])
    # The second release goes the other way: the old blue is green now.
    code, _, err = switchyard("start", world["file"], "--ami", world["third_ami"], env=env)
    assert code == 0, err
    serving(aws, world, blue, world["third_ami"], tg_a)
    assert aws.weights(world["listener_arn"]) == {tg_a: 100, tg_b: 0}
    assert aws.instance_images(group(aws, green)) == {world["new_ami"]}, "the previous green is kept for rollback"
    no_group_created_or_deleted(proxy)
    names = sorted(n for n in aws.groups() if n.startswith(world["service"]) or world["service"] in n)
    assert names == sorted([blue, green]), names


@pytest.mark.world(pair=True, blue_version="1", bake="0s", interval="200ms", probe_url="probe", threshold=1)
def test_a_rollback_returns_the_pair_exactly_as_it_was(world, switchyard, proxy, aws, probe):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    blue, green = world["blue_asg"], world["green_asg"]
    before = {name: settings(aws, name) for name in (blue, green)}
    assert before[green]["processes"] == ["AZRebalance"]
    probe.fail()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 3, err
    assert {name: settings(aws, name) for name in (blue, green)} == before
    assert aws.weights(world["listener_arn"]) == {world["target_group_arns"][0]: 100, world["target_group_arns"][1]: 0}
    no_group_created_or_deleted(proxy)
    messages = [e["message"] for e in shown(switchyard, started(err))["events"]]
    assert any(m.startswith(f"green group {green} scaled back to 0/0/4") for m in messages), messages
    assert messages[-1] == f"rolled back: traffic is 100% on blue {blue}, green {green} back as it was", messages
    # In AWS: the idle group detached, its drain read, only then scaled to 0 (and kept).
    assert_detach_drain_remove(proxy, green, deleted=False)


@pytest.mark.world(pair=True, blue_version="1", bake="0s", interval="100ms")
def test_pair_mode_refuses_a_pair_it_cannot_tell_apart_naming_the_group(world, switchyard, aws):
    blue, green = world["blue_asg"], world["green_asg"]
    # Both groups on the live target group: which one is blue?
    aws.asg.attach_load_balancer_target_groups(AutoScalingGroupName=green, TargetGroupARNs=[world["target_group_arns"][0]])
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2 and "both are attached to it" in err and green in err, err
    aws.asg.detach_load_balancer_target_groups(AutoScalingGroupName=green, TargetGroupARNs=[world["target_group_arns"][0]])
    # An idle group with instances nobody left there.
    aws.asg.update_auto_scaling_group(AutoScalingGroupName=green, MinSize=1, DesiredCapacity=1)
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2 and f"{green}, the idle group of fleet.pair, has 1 instance (" in err, err
    aws.asg.update_auto_scaling_group(AutoScalingGroupName=green, MinSize=0, DesiredCapacity=0)
    # A name that does not exist.
    text = open(world["file"]).read().replace(f"{green}]", f"{green}-typo]")
    open(world["file"], "w").write(text)
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2 and f"{green}-typo named in fleet.pair does not exist" in err, err


@pytest.mark.world(pair=True, blue_version="1", bake="30s", interval="100ms")
def test_a_rollback_that_crashed_after_restoring_green_is_finished_from_the_record_alone(world, switchyard, proxy, aws):
    """The idle group's settings are in the stored plan: the process that finishes the rollback never saw them."""
    # A 3 s lease: the rollback takes over once the killed runner's lease ends, not after the default 15 s.
    env = {"AWS_ENDPOINT_URL": proxy.url, "SWITCHYARD_LEASE_TTL": "3s"}
    blue, green = world["blue_asg"], world["green_asg"]
    # The idle group also stands in a target group outside the pair: green leaves it until it is proven.
    other = aws.elb.create_target_group(Name=f"{world['service']}-c", Protocol="HTTP", Port=80, VpcId=world["vpc_id"],
                                        TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    aws.asg.attach_load_balancer_target_groups(AutoScalingGroupName=green, TargetGroupARNs=[other])
    before = {name: settings(aws, name) for name in (blue, green)}
    run = start(switchyard, world, env={**env, "SWITCHYARD_TEST_CRASH": "after-call:removeGreen"})
    wait_until(shifted(aws, world, 10), what="the first step")
    assert settings(aws, green)["sizes"] == (2, 2, 4)
    assert settings(aws, green)["target_groups"] == [world["target_group_arns"][1]]
    code, _, err = switchyard("rollback", run.id, "--reason", "crash test", env=env)
    assert run.proc.wait(timeout=30) == -signal.SIGKILL
    assert code == 0 and "taking over from pid" in err, err
    assert {name: settings(aws, name) for name in (blue, green)} == before
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    no_group_created_or_deleted(proxy)


@pytest.mark.world(pair=True, blue_version="1", bake="0s", interval="100ms", retention="30m")
def test_undoing_a_completed_release_and_ending_a_retention_early_keep_every_group(world, switchyard, proxy, aws):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    blue, green = world["blue_asg"], world["green_asg"]
    before = {name: settings(aws, name) for name in (blue, green)}
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    first = started(err)
    # Within its retention the release can be undone: the pair is as it was before it.
    code, _, err = switchyard("rollback", first, "--reason", "undo", env=env)
    assert code == 0, err
    assert {name: settings(aws, name) for name in (blue, green)} == before

    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    second = started(err)
    # The old blue is kept for rollback, so the next release refuses to make it green, naming it...
    code, _, err = switchyard("start", world["file"], "--ami", world["third_ami"], env=env)
    assert code == 2 and f"{blue} stands on green's target group and is kept for rollback until" in err, err
    # ...unless the operator ends its retention: it is scaled to 0 (kept), then becomes green.
    code, _, err = switchyard("start", world["file"], "--ami", world["third_ami"], "--end-retention", env=env)
    assert code == 0, err
    serving(aws, world, blue, world["third_ami"], world["target_group_arns"][0])
    messages = [e["message"] for e in shown(switchyard, second)["events"]]
    assert messages[-1].startswith(f"blue {blue} scaled to 0 and kept (pair mode): deployment {started(err)} needs where it stands"), messages
    no_group_created_or_deleted(proxy)
    # The retirement the next start ran (as gc does): blue detached, its drain read, only then scaled to 0.
    assert_detach_drain_remove(proxy, blue, deleted=False)
