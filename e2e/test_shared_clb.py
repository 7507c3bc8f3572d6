"""The scale-out pattern behind a Classic Load Balancer (`traffic.shared.load_balancer_name`): blue's and green's Auto
Scaling groups behind one Classic ELB, green's share moved by instance counts. Moto serves it through
scripts/moto-server.py (two groups on one Classic Load Balancer keep each other's registrations, as on AWS:
e2e/test_moto_clb.py); a registered running instance is InService at once, and a deregistered one leaves at once (AWS
keeps it InService, "Instance deregistration currently in progress.", for the connection draining timeout), so these
tests prove the order of the actions and the counts each step holds, as DescribeInstanceHealth and
DescribeAutoScalingGroups show them, sampled every 10 ms while the release runs."""
import json
import signal
import threading
import time

import pytest

from test_rollback import green_name, shown, start

SHARED_CLB = dict(shared_clb=True, desired=4, steps="25,50,100", bake="0s", interval="100ms")
STEPS = [(3, 1), (2, 2), (0, 4)]  # 25 %, 50 %, 100 % of four: (blue, green) InService on the load balancer


def clb_states(aws, world):
    """{instance id: State} of every instance registered with the world's Classic Load Balancer."""
    states = aws.clb.describe_instance_health(LoadBalancerName=world["clb_name"])["InstanceStates"]
    return {s["InstanceId"]: s["State"] for s in states}


def groups_of(aws, world, deployment):
    names = [world["blue_asg"], green_name(world, deployment)]
    return {g["AutoScalingGroupName"]: g for g in aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=names)["AutoScalingGroups"]}


def in_service(aws, world, deployment, read=None):
    """(blue, green, total): each group's instances InService in it and InService on the Classic Load Balancer, and
    every instance InService there. The load balancer is read first (test_shared.py's order), so an instance that
    leaves between the two reads is not counted in its group: a count is never more than the load balancer serves.
    `read` is given the groups as read."""
    states = clb_states(aws, world)
    serving = {i for i, s in states.items() if s == "InService"}
    groups = groups_of(aws, world, deployment)
    if read is not None:
        read(groups)

    def count(name):
        g = groups.get(name) or {}
        return sum(1 for i in g.get("Instances", []) if i["LifecycleState"] == "InService" and i["InstanceId"] in serving)
    return count(world["blue_asg"]), count(green_name(world, deployment)), len(serving)


class ClbWatcher:
    """Samples the load balancer and both groups from another thread while a release runs (DescribeInstanceHealth and
    DescribeAutoScalingGroups every ~10 ms): every distinct (blue, green, total), and every instance id green held."""

    def __init__(self, aws, world):
        self.aws, self.world, self.deployment = aws, world, None
        self.seen, self.green_ids = [], set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            if self.deployment:
                try:
                    triple = in_service(self.aws, self.world, self.deployment, read=self._green)
                except Exception:  # a read racing a deletion: the next one counts
                    triple = None
                if triple and (not self.seen or self.seen[-1] != triple):
                    self.seen.append(triple)
            time.sleep(0.01)

    def _green(self, groups):
        green = groups.get(green_name(self.world, self.deployment)) or {}
        self.green_ids |= {i["InstanceId"] for i in green.get("Instances", [])}

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        return self.seen


def pairs(seen):
    return [(blue, green) for blue, green, _ in seen]


def assert_never_below_four(seen):
    assert all(total >= 4 for _, _, total in seen), f"the load balancer served fewer than the start's four: {seen}"
    assert all(blue + green >= 4 for blue, green, _ in seen), f"the two fleets held fewer than four: {seen}"


def watched_start(switchyard, world, aws, env=None):
    """`switchyard start` with the load balancer sampled meanwhile: (run, exit code, stderr, watcher)."""
    watch = ClbWatcher(aws, world)
    run = start(switchyard, world, env=env)
    watch.deployment = run.id
    code, _, err = run.finish()
    watch.stop()
    return run, code, err, watch


def events(switchyard, deployment):
    return [e["message"] for e in shown(switchyard, deployment)["events"]]


@pytest.mark.world(**SHARED_CLB)
def test_the_classic_world_has_blue_on_the_load_balancer_only(world, aws):
    """seed-world --shared-clb (no binary): blue's group on the Classic Load Balancer and no target group, its four
    instances InService there; the file names the load balancer under traffic.shared."""
    blue = aws.groups(world)[world["blue_asg"]]
    assert blue["TargetGroupARNs"] == [] and blue["LoadBalancerNames"] == [world["clb_name"]], blue
    ids = {i["InstanceId"] for i in blue["Instances"]}
    assert len(ids) == 4 and clb_states(aws, world) == {i: "InService" for i in ids}
    assert aws.elb.describe_target_health(TargetGroupArn=world["target_group_arns"][0])["TargetHealthDescriptions"] == []
    draining = aws.clb.describe_load_balancer_attributes(LoadBalancerName=world["clb_name"])["LoadBalancerAttributes"]["ConnectionDraining"]
    assert draining == {"Enabled": True, "Timeout": 1}, draining
    assert f"  shared:\n    load_balancer_name: {world['clb_name']}\n" in open(world["file"]).read()


@pytest.mark.world(**SHARED_CLB)
def test_plan_shows_the_classic_load_balancer_and_each_steps_counts(world, switchyard):
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    assert "3 blue and 1 green of 4" in out and world["clb_name"] in out, out
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    planned = json.loads(out)["shared"]
    assert planned["load_balancer_name"] == world["clb_name"], planned
    assert planned.get("target_group_arn") is None, planned
    assert planned["start_healthy"] == 4, planned
    assert [(s["weight"], s["blue"], s["green"]) for s in planned["steps"]] == [(25, 3, 1), (50, 2, 2), (100, 0, 4)], planned


@pytest.mark.world(**SHARED_CLB)
def test_a_classic_shared_release_moves_green_by_instance_counts_and_never_serves_fewer_than_four(world, switchyard, aws):
    """Green 1, 2, 4 of four at the steps, each count held at some moment in order, the load balancer never serving
    fewer than the four of the start; at the end green's four are InService there and none of blue's is registered."""
    blue_ids = {i["InstanceId"] for i in aws.groups(world)[world["blue_asg"]]["Instances"]}
    run, code, err, watch = watched_start(switchyard, world, aws)
    assert code == 0, err
    assert shown(switchyard, run.id)["state"] == "completed"
    seen = watch.seen
    assert (4, 0) in pairs(seen)[:2] and pairs(seen)[-1] == (0, 4), seen
    assert_never_below_four(seen)
    positions = [pairs(seen).index(pair) for pair in STEPS]
    assert positions == sorted(positions), seen
    groups = aws.groups(world)
    blue, green = groups[world["blue_asg"]], groups[green_name(world, run.id)]
    assert green["LoadBalancerNames"] == [world["clb_name"]] and green["TargetGroupARNs"] == [], green
    assert green["DesiredCapacity"] == 4 and blue["DesiredCapacity"] == 0 and blue["MinSize"] == 0
    green_ids = {i["InstanceId"] for i in green["Instances"] if i["LifecycleState"] == "InService"}
    assert len(green_ids) == 4
    assert clb_states(aws, world) == {i: "InService" for i in green_ids}, "green's four, and nothing of blue's, on the load balancer"
    assert not blue_ids & set(clb_states(aws, world))
    assert in_service(aws, world, run.id) == (0, 4, 4)


@pytest.mark.world(**SHARED_CLB, alarm=["{service}-5xx"])
def test_an_alarm_rolls_a_classic_shared_release_back_blue_first_and_green_leaves_only_after(world, switchyard, aws):
    """An alarm in ALARM fails the first step's check: blue is back at its four InService on the load balancer
    before any of green's instances leaves it, green's group is deleted, and the load balancer never serves fewer
    than four."""
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="e2e")
    run, code, err, watch = watched_start(switchyard, world, aws)
    assert code == 3, err
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    seen = watch.seen
    assert pairs(seen)[-1] == (4, 0), seen
    assert_never_below_four(seen)
    most = 0
    for blue, green, _ in seen:
        if green < most:
            assert blue == 4, f"green's instance left the load balancer before blue was back at four: {seen}"
        most = max(most, green)
    assert most >= 1, f"green never joined the load balancer: {seen}"
    messages = events(switchyard, run.id)
    scaled = next(i for i, m in enumerate(messages) if "scaled back from 3 to 4" in m)
    leaves = next(i for i, m in enumerate(messages) if "leaves service" in m)
    deleted = next(i for i, m in enumerate(messages) if "scaled to 0 and deleted" in m)
    assert scaled < leaves < deleted, messages
    assert green_name(world, run.id) not in aws.groups(world)
    blue = aws.groups(world)[world["blue_asg"]]
    assert (blue["MinSize"], blue["DesiredCapacity"]) == (4, 4), "blue's own sizes come back"
    assert blue["LoadBalancerNames"] == [world["clb_name"]] and blue["TargetGroupARNs"] == []
    blue_ids = {i["InstanceId"] for i in blue["Instances"]}
    assert watch.green_ids and not watch.green_ids & set(clb_states(aws, world)), "green's instances left the load balancer"
    assert clb_states(aws, world) == {i: "InService" for i in blue_ids}


@pytest.mark.world(**SHARED_CLB)
def test_a_classic_shared_release_killed_after_deregistering_blue_resumes_to_the_same_end(world, switchyard, aws):
    """kill -9 right after the first step deregistered blue's surplus from the load balancer (not yet terminated):
    `resume` looks again and goes on to the end an uninterrupted release reaches, never serving fewer than four."""
    watch = ClbWatcher(aws, world)
    run = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": "after-call:setSplit:2"})
    watch.deployment = run.id
    assert run.finish()[0] == -signal.SIGKILL
    code, _, err = switchyard("resume", run.id)
    seen = watch.stop()
    assert code == 0, err
    assert shown(switchyard, run.id)["state"] == "completed"
    assert pairs(seen)[-1] == (0, 4), seen
    assert_never_below_four(seen)
    positions = [pairs(seen).index(pair) for pair in STEPS]
    assert positions == sorted(positions), seen
    assert in_service(aws, world, run.id) == (0, 4, 4)
    green = aws.groups(world)[green_name(world, run.id)]
    assert clb_states(aws, world) == {i["InstanceId"]: "InService" for i in green["Instances"]}
