"""The scale-out pattern behind a Classic Load Balancer (`traffic.shared.load_balancer_name`): blue's and green's Auto
Scaling groups behind one Classic ELB, green's share moved by instance counts. Moto serves it through
scripts/moto-server.py (two groups on one Classic Load Balancer keep each other's registrations, as on AWS:
e2e/test_moto_clb.py); a registered running instance is InService at once, and a deregistered one leaves at once (AWS
keeps it InService, "Instance deregistration currently in progress.", for the connection draining timeout), so these
tests prove the order of the actions and the counts each step holds, as DescribeInstanceHealth and
DescribeAutoScalingGroups show them, sampled every 10 ms while the release runs. Every run goes through the proxy's
removal guard (faults.RemovalGuard), which reads the load balancer just before each removal reaches moto."""
import json
import signal
import urllib.parse

import pytest

from conftest import on_every_backend
from test_rollback import Running, green_name, shown, start, wait_until
from test_shared import CRASHES, Sampler, assert_rolled_back_blue_first

SHARED_CLB = dict(shared_clb=True, desired=4, steps="25,50,100", bake="0s", interval="100ms")
STEPS = [(3, 1), (2, 2), (0, 4)]  # 25 %, 50 %, 100 % of four: (blue, green) InService on the load balancer


@pytest.fixture(autouse=True)
def guard(validator):
    """Every run of the binary here goes through the removal guard (faults.RemovalGuard): a DetachLoadBalancers,
    DeleteAutoScalingGroup, scale-in, DeregisterInstancesFromLoadBalancer or TerminateInstanceInAutoScalingGroup that
    leaves the Classic Load Balancer with no InService instance fails the test at teardown."""
    validator.guard_removals()
    return validator.removal_guard


def removals(guard, *actions):
    """What the guard read before each of these removals reached moto: [(action, subject, (InService, taken, left))]."""
    return [(action, subject, counts) for action, subject, seen in guard.classic_checked if action in actions
            for counts in seen.values()]


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


class ClbWatcher(Sampler):
    """Samples the load balancer and both groups from another thread while a release runs (DescribeInstanceHealth and
    DescribeAutoScalingGroups every ~10 ms): every distinct (blue, green, total), and every instance id green held."""

    def __init__(self, aws, world):
        self.aws, self.world, self.green_ids = aws, world, set()
        super().__init__(lambda deployment: in_service(aws, world, deployment, read=self._green))

    def _green(self, groups):
        green = groups.get(green_name(self.world, self.deployment)) or {}
        self.green_ids |= {i["InstanceId"] for i in green.get("Instances", [])}


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


@on_every_backend
@pytest.mark.world(**SHARED_CLB)
def test_a_classic_shared_release_moves_green_by_instance_counts_and_never_serves_fewer_than_four(world, switchyard, aws, guard):
    """Green 1, 2, 4 of four at the steps, each count held at some moment in order, the load balancer never serving
    fewer than the four of the start (sampled, and read by the guard just before each removal reached moto); at the
    end green's four are InService there and none of blue's is registered."""
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
    # Blue's surplus, 1, 1 and 2, each taken from the load balancer while it served green's and blue's at least four
    # besides; each terminated once it no longer served (drained).
    deregistered = removals(guard, "DeregisterInstancesFromLoadBalancer")
    assert [taken for _, _, (_, taken, _) in deregistered] == [1, 1, 2], deregistered
    assert all(left >= 4 for _, _, (_, _, left) in deregistered), deregistered
    terminated = removals(guard, "TerminateInstanceInAutoScalingGroup")
    assert len(terminated) == 4 and {subject for _, subject, _ in terminated} == blue_ids, terminated
    assert all(taken == 0 and left >= 4 for _, _, (_, taken, left) in terminated), f"a blue instance terminated while InService: {terminated}"


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
    blue = assert_rolled_back_blue_first(switchyard, world, aws, run)
    assert blue["LoadBalancerNames"] == [world["clb_name"]] and blue["TargetGroupARNs"] == []
    blue_ids = {i["InstanceId"] for i in blue["Instances"]}
    assert watch.green_ids and not watch.green_ids & set(clb_states(aws, world)), "green's instances left the load balancer"
    assert clb_states(aws, world) == {i: "InService" for i in blue_ids}


# What each of test_shared.py's kill points has sent before the kill, as the proxy saw it: (green scaled out, blue
# instances deregistered, blue instances terminated), so each test is known to kill where it says.
WRITTEN_BEFORE = {
    "after-call:setSplit:1": (1, 0, 0),    # green scaled out to 1, the record does not know it
    "after-call:setSplit:2": (1, 0, 0),    # green healthy on one look
    "after-call:setSplit:3": (1, 1, 0),    # blue's surplus deregistered (drained at once in moto), not terminated
    "after-save:setSplit:4": (1, 1, 1),    # the first step confirmed
    "after-call:setSplit:6": (2, 1, 1),    # the second step's green scaled out
    "after-call:setSplit:8": (2, 2, 1),    # the second step's blue deregistered, not terminated
    "before:confirmPromotion": (3, 4, 4),  # every step done, green not yet promoted
}


def written(validator, world):
    """(green scale-outs, blue instances deregistered, blue instances terminated) sent through the proxy so far."""
    out = [0, 0, 0]
    for r in validator.requests:
        form = urllib.parse.parse_qs(r.body.decode("utf-8", "replace"))
        if r.action == "UpdateAutoScalingGroup" and "DesiredCapacity" in form and form["AutoScalingGroupName"][0] != world["blue_asg"]:
            out[0] += 1
        elif r.action == "DeregisterInstancesFromLoadBalancer":
            out[1] += sum(1 for k in form if k.startswith("Instances.member."))
        elif r.action == "TerminateInstanceInAutoScalingGroup":
            out[2] += 1
    return tuple(out)


@pytest.mark.parametrize("point", CRASHES)
@pytest.mark.world(**SHARED_CLB)
def test_a_classic_shared_release_killed_at_any_look_resumes_to_the_same_end(point, world, switchyard, aws, validator):
    """kill -9 at each of test_shared.py's points (between a look's action and its record, or after it): `resume`
    looks again and goes on to the end an uninterrupted release reaches, the load balancer never serving fewer than
    four; a blue instance deregistered before the kill is terminated by the resume, not left running or registered."""
    assert set(CRASHES) == set(WRITTEN_BEFORE), "a kill point of test_shared.py without its writes here"
    blue_ids = {i["InstanceId"] for i in aws.groups(world)[world["blue_asg"]]["Instances"]}
    watch = ClbWatcher(aws, world)
    run = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": point})
    watch.deployment = run.id
    assert run.finish()[0] == -signal.SIGKILL
    assert written(validator, world) == WRITTEN_BEFORE[point], (point, written(validator, world))
    drained = set(blue_ids) - set(clb_states(aws, world)) - {i for _, i, _ in removals(validator.removal_guard, "TerminateInstanceInAutoScalingGroup")}
    code, _, err = switchyard("resume", run.id)
    seen = watch.stop()
    assert code == 0, err
    assert shown(switchyard, run.id)["state"] == "completed"
    assert pairs(seen)[-1] == (0, 4), seen
    assert_never_below_four(seen)
    positions = [pairs(seen).index(pair) for pair in STEPS]
    assert positions == sorted(positions), seen
    assert in_service(aws, world, run.id) == (0, 4, 4)
    groups = aws.groups(world)
    assert groups[world["blue_asg"]]["Instances"] == [], f"blue instances left running (drained before the kill: {drained})"
    green = groups[green_name(world, run.id)]
    assert clb_states(aws, world) == {i["InstanceId"]: "InService" for i in green["Instances"]}


@pytest.mark.world(**SHARED_CLB)
def test_a_rollback_of_a_release_killed_with_blue_drained_registers_that_instance_again(world, switchyard, aws, validator):
    """kill -9 after the first step deregistered one of blue's four (drained, not terminated), then `rollback` with
    nobody running the release: blue's four are its own four again, InService on the load balancer, the drained one
    registered again rather than replaced, before green's instance leaves; never fewer than four serving."""
    blue_ids = {i["InstanceId"] for i in aws.groups(world)[world["blue_asg"]]["Instances"]}
    watch = ClbWatcher(aws, world)
    run = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": "after-call:setSplit:3"})
    watch.deployment = run.id
    assert run.finish()[0] == -signal.SIGKILL
    drained = blue_ids - set(clb_states(aws, world))
    assert len(drained) == 1 and drained <= {i["InstanceId"] for i in aws.groups(world)[world["blue_asg"]]["Instances"]}, drained
    code, _, err = switchyard("rollback", run.id, "--reason", "e2e")
    seen = watch.stop()
    assert code == 0, err
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    assert pairs(seen)[-1] == (4, 0), seen
    assert_never_below_four(seen)
    assert_blue_back_before_green_leaves(seen)
    blue = aws.groups(world)[world["blue_asg"]]
    assert {i["InstanceId"] for i in blue["Instances"]} == blue_ids, "blue's own four, none replaced"
    assert clb_states(aws, world) == {i: "InService" for i in blue_ids}
    assert (blue["MinSize"], blue["DesiredCapacity"]) == (4, 4)
    assert green_name(world, run.id) not in aws.groups(world)
    assert written(validator, world)[2] == 0, "no blue instance was terminated"
    registered = [urllib.parse.parse_qs(r.body.decode())["Instances.member.1.InstanceId"] for r in validator.requests
                  if r.action == "RegisterInstancesWithLoadBalancer"]
    assert registered == [sorted(drained)], registered


def assert_blue_back_before_green_leaves(seen):
    most = 0
    for blue, green, _ in seen:
        if green < most:
            assert blue == 4, f"green's instance left the load balancer before blue was back at four: {seen}"
        most = max(most, green)
    assert most >= 1, f"green never joined the load balancer: {seen}"


def completed(switchyard, world, ami=None, *flags):
    code, _, err = switchyard("start", world["file"], "--ami", ami or world["new_ami"], *flags)
    assert code == 0, err
    return err.splitlines()[0].split()[1]


@pytest.mark.world(**SHARED_CLB)
def test_a_completed_classic_shared_release_rolls_back_by_scaling_blue_back_first(world, switchyard, aws):
    """`rollback` of a completed release (blue kept at 0 for it): blue is scaled back from 0 to its four, InService
    on the load balancer on two looks, and only then does green leave it (detached, drained, deleted); the load
    balancer never serves fewer than four."""
    deployment = completed(switchyard, world)
    watch = ClbWatcher(aws, world)
    watch.deployment = deployment
    code, _, err = switchyard("rollback", deployment, "--reason", "undo")
    seen = watch.stop()
    assert code == 0, err
    assert shown(switchyard, deployment)["state"] == "rolled_back"
    assert seen[0][:2] == (0, 4) and pairs(seen)[-1] == (4, 0), seen
    assert_never_below_four(seen)
    assert all(green == 4 for blue, green, _ in seen if blue < 4), f"green left before blue was back at four: {seen}"
    messages = events(switchyard, deployment)
    scaled = next(i for i, m in enumerate(messages) if "scaled back from 0 to 4" in m)
    twice = next(i for i, m in enumerate(messages) if "green stays until the next look finds them too" in m)
    leaves = next(i for i, m in enumerate(messages) if "leaves service" in m)
    deleted = next(i for i, m in enumerate(messages) if "scaled to 0 and deleted" in m)
    assert scaled < twice < leaves < deleted, messages
    assert green_name(world, deployment) not in aws.groups(world)
    blue = aws.groups(world)[world["blue_asg"]]
    assert (blue["MinSize"], blue["DesiredCapacity"]) == (4, 4) and blue["LoadBalancerNames"] == [world["clb_name"]]
    assert clb_states(aws, world) == {i["InstanceId"]: "InService" for i in blue["Instances"]} and len(blue["Instances"]) == 4


def world_snapshot(aws, world):
    """What a second writer could change: every registration on the load balancer, its tags, and the world's groups."""
    tags = aws.clb.describe_tags(LoadBalancerNames=[world["clb_name"]])["TagDescriptions"][0]["Tags"]
    groups = {name: (g["DesiredCapacity"], g["MinSize"], g["MaxSize"], tuple(g["LoadBalancerNames"]),
                     tuple(sorted(i["InstanceId"] for i in g["Instances"])), g.get("LaunchTemplate", {}).get("Version"))
              for name, g in aws.groups(world).items()}
    return {"clb": clb_states(aws, world), "tags": sorted((t["Key"], t["Value"]) for t in tags), "groups": groups}


@pytest.mark.world(**{**SHARED_CLB, "steps": "25,pause,100"})
def test_a_second_writer_is_refused_while_a_classic_shared_release_waits_at_a_gate(world, switchyard, aws, proxy, tmp_path):
    """While the release waits at its manual gate (1 green and 3 blue InService), a second `start` from another state
    file is refused and changes nothing on the load balancer or the groups: of the same file, because green's group
    on the load balancer makes blue ambiguous (exit 2, as test_shared.py's twin); with blue named, by the claim
    tagged on the load balancer (exit 4, naming the release that holds it). `promote` then ends the release. The
    second writer goes through a proxy of its own, so what it sent is told apart from the paused release's reads."""
    run = start(switchyard, world)
    wait_until(lambda: shown(switchyard, run.id).get("state") == "paused", what="the gate")
    assert in_service(aws, world, run.id) == (3, 1, 4)
    before = world_snapshot(aws, world)
    assert (f"switchyard:deployment:{run.id}", run.id) in before["tags"], before["tags"]
    second = {"AWS_ENDPOINT_URL": proxy.url}
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], db=str(tmp_path / "other.db"), env=second)
    assert code == 2, (code, err)
    assert f"several Auto Scaling groups are attached to the Classic Load Balancer {world['clb_name']}" in err, err
    assert "fleet.blue_auto_scaling_group" in err, err
    named = tmp_path / "named.yaml"
    named.write_text(open(world["file"]).read().replace("fleet:\n", f"fleet:\n  blue_auto_scaling_group: {world['blue_asg']}\n", 1))
    code, _, err = switchyard("start", str(named), "--ami", world["blue_ami"], db=str(tmp_path / "other.db"), env=second)
    assert code == 4 and run.id in err, (code, err)
    assert any(r.action == "DescribeTags" and r.service == "elasticloadbalancing" for r in proxy.forwarded()), "the claim was read"
    writes = [r.action for r in proxy.forwarded() if not r.action.startswith(("Describe", "Get", "List"))]
    assert writes == [], f"the refused writers wrote: {writes}"
    assert world_snapshot(aws, world) == before, "the refused writers changed nothing"
    code, _, err = switchyard("promote", run.id)
    assert code == 0, err
    code, _, err = run.finish()
    assert code == 0, err
    assert in_service(aws, world, run.id) == (0, 4, 4)


@pytest.mark.world(**SHARED_CLB)
def test_hooks_behind_a_classic_load_balancer_see_its_name_and_no_target_group(world, switchyard, aws, tmp_path):
    """A before_traffic hook and each after_step hook get SWITCHYARD_LOAD_BALANCER_NAME (the Classic Load
    Balancer's name) and SWITCHYARD_GREEN_TARGET_GROUP / SWITCHYARD_BLUE_TARGET_GROUP set and empty; after_step
    sees its step's weight, green's and blue's group names."""
    from test_hooks import add_hooks, sh
    log = tmp_path / "hooks.log"
    line = ("echo $SWITCHYARD_HOOK $SWITCHYARD_GREEN_WEIGHT lb=$SWITCHYARD_LOAD_BALANCER_NAME "
            "green=${SWITCHYARD_GREEN_TARGET_GROUP-unset}. blue=${SWITCHYARD_BLUE_TARGET_GROUP-unset}. "
            f"asgs=$SWITCHYARD_GREEN_ASG,$SWITCHYARD_BLUE_ASG >> {log}")
    add_hooks(world, [("before_traffic", sh(line), {"timeout": "10s"}), ("after_step", sh(line), {"timeout": "10s"})])
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 0, err
    asgs = f"asgs={green_name(world, run.id)},{world['blue_asg']}"
    assert log.read_text().splitlines() == [f"{hook} {weight} lb={world['clb_name']} green=. blue=. {asgs}"
                                            for hook, weight in [("before_traffic", 0), ("after_step", 25), ("after_step", 50),
                                                                 ("after_step", 100)]], log.read_text()
    assert in_service(aws, world, run.id) == (0, 4, 4)


@pytest.mark.world(**SHARED_CLB)
def test_a_second_classic_shared_release_retires_the_first_ones_kept_blue_only_when_told_to(world, switchyard, aws, guard):
    """The first release leaves its blue at 0 on the load balancer, kept for rollback: a second release refuses to
    start beside it and changes nothing, and with `--end-retention` retires it (detached, deleted) before green joins;
    the first release's trail says its retention ended early. The second release's blue is the first one's green."""
    first = completed(switchyard, world)
    before = world_snapshot(aws, world)
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"])
    assert code == 2, err
    assert world["blue_asg"] in err and "kept for rollback until" in err and "--end-retention" in err, err
    assert world_snapshot(aws, world) == before
    watch = ClbWatcher(aws, {**world, "blue_asg": green_name(world, first)})
    run = Running(switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention", background=True))
    watch.deployment = second = run.id
    code, _, err = run.finish()
    seen = watch.stop()
    assert code == 0, err
    assert pairs(seen)[0] == (4, 0) and pairs(seen)[-1] == (0, 4), seen
    groups = aws.groups(world)
    assert world["blue_asg"] not in groups, "the first release's kept blue was retired"
    assert groups[green_name(world, first)]["DesiredCapacity"] == 0, "the first release's green was the second's blue"
    assert groups[green_name(world, second)]["DesiredCapacity"] == 4
    assert in_service(aws, {**world, "blue_asg": green_name(world, first)}, second) == (0, 4, 4)
    assert_never_below_four(seen)
    retired = [counts for _, subject, counts in removals(guard, "DetachLoadBalancers", "DeleteAutoScalingGroup") if subject == world["blue_asg"]]
    assert retired and all(taken == 0 and left == 4 for _, taken, left in retired), retired
    assert "so the retention ended early" in events(switchyard, first)[-1]


@pytest.mark.world(**SHARED_CLB)
def test_a_stopped_blue_instance_leaves_the_load_balancer_with_blue_at_the_last_step(world, switchyard, aws, guard):
    """One of blue's four is stopped before the release: the Classic Load Balancer lists it OutOfService, registered
    and serving nothing. The steps count blue's three InService; the last takes the stopped one out with them, so
    promotion finds no blue instance registered and the release completes (it used to roll back there, at 100 %)."""
    blue = sorted(i["InstanceId"] for i in aws.groups(world)[world["blue_asg"]]["Instances"])
    stopped = blue[0]
    aws.ec2.stop_instances(InstanceIds=[stopped])
    assert clb_states(aws, world)[stopped] == "OutOfService"
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 0, err
    assert shown(switchyard, run.id)["state"] == "completed"
    assert not set(blue) & set(clb_states(aws, world)), clb_states(aws, world)
    messages = events(switchyard, run.id)
    last = [m for m in messages if m.startswith("toward 100% green") and "deregistered" in m]
    assert len(last) == 1 and stopped in last[0] and "served nothing" in last[0], messages
    # The steps before held blue's healthy ones only: the stopped one stayed registered until the last.
    earlier = [m for m in messages if "deregistered" in m and not m.startswith("toward 100% green")]
    assert earlier and not [m for m in earlier if stopped in m], earlier
