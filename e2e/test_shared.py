"""The scale-out pattern end to end (`traffic.shared`): blue and green in one target group, green's share moved by
instance counts. Moto has the target-group world: its instances are healthy at once and a deregistered target leaves
at once (AWS drains it for the group's deregistration delay, listing it `draining`: SharedStepTests hold that a
draining instance is never terminated), so these tests prove the order of the actions and the counts each step
holds, look by look, as AWS's own answers show them."""
import json
import re
import signal
import threading
import time

import pytest

from conftest import on_every_backend
from test_rollback import green_name, start, wait_until

SHARED = dict(shared=True, desired=4, steps="25,50,100", bake="0s", interval="100ms")


@pytest.fixture(autouse=True)
def guard(validator):
    """Every run of the binary here goes through the removal guard (faults.RemovalGuard): a detach, delete, scale-in,
    DeregisterTargets or TerminateInstanceInAutoScalingGroup that leaves the shared target group (which always has
    weight) with no healthy target fails the test at teardown."""
    validator.guard_removals()
    return validator.removal_guard


def healthy_by_group(aws, world, deployment):
    """(blue, green) instances InService in their group and healthy in the shared target group."""
    tg = world["target_group_arns"][0]
    health = aws.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    healthy = {t["Target"]["Id"] for t in health if t["TargetHealth"]["State"] == "healthy"}
    names = [world["blue_asg"], green_name(world, deployment)]
    groups = {g["AutoScalingGroupName"]: g for g in aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=names)["AutoScalingGroups"]}

    def count(name):
        g = groups.get(name)
        return sum(1 for i in (g or {}).get("Instances", []) if i["LifecycleState"] == "InService" and i["InstanceId"] in healthy)
    return count(names[0]), count(names[1])


class Sampler:
    """Samples `read(deployment)` from another thread every ~10 ms once `deployment` is set: every distinct answer, in
    order (a read racing a deletion is skipped: the next one counts)."""

    def __init__(self, read):
        self.read, self.deployment = read, None
        self.seen = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            if self.deployment:
                try:
                    answer = self.read(self.deployment)
                except Exception:
                    answer = None
                if answer and (not self.seen or self.seen[-1] != answer):
                    self.seen.append(answer)
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        return self.seen


class CountWatcher(Sampler):
    """Both fleets' healthy counts (`healthy_by_group`) while a release runs."""

    def __init__(self, aws, world):
        self.aws, self.world = aws, world
        super().__init__(lambda deployment: healthy_by_group(aws, world, deployment))


def watched_start(switchyard, world, aws, env=None):
    """`switchyard start` with both fleets' healthy counts sampled meanwhile: (run, exit code, stderr, counts seen)."""
    watch = CountWatcher(aws, world)
    run = start(switchyard, world, env=env)
    watch.deployment = run.id
    code, _, err = run.finish()
    return run, code, err, watch.stop()


def events(switchyard, deployment):
    code, out, err = switchyard("show", deployment, "--json")
    assert code == 0, err
    return [e["message"] for e in json.loads(out)["events"]]


@on_every_backend
@pytest.mark.world(**SHARED)
def test_a_shared_release_moves_green_by_instance_counts_and_never_holds_fewer_healthy_than_at_the_start(world, switchyard, aws, guard):
    """25 % / 50 % / 100 % of four instances are 1, 2 and 4 of green; at each step green is out and healthy before
    blue gives anything up, blue's surplus is deregistered before it is terminated, and the healthy total never
    falls below the four of the start. At the end blue is kept at 0 (for a rollback) and green holds all four."""
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    assert "1. blue 75% / green 25% for 0s: 3 blue and 1 green of 4 healthy instances" in out, out
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    planned = json.loads(out)["shared"]
    assert planned["start_healthy"] == 4 and [(s["blue"], s["green"]) for s in planned["steps"]] == [(3, 1), (2, 2), (0, 4)], planned
    run, code, err, seen = watched_start(switchyard, world, aws)
    assert code == 0, err
    assert (4, 0) in seen[:2] and seen[-1] == (0, 4), seen
    assert all(blue + green >= 4 for blue, green in seen), f"the healthy total fell below the start: {seen}"
    # Each step's counts are held at some moment, in order.
    positions = [seen.index(pair) for pair in [(3, 1), (2, 2), (0, 4)]]
    assert positions == sorted(positions), seen
    messages = events(switchyard, run.id)
    for step, (blue, green) in zip(["1/3", "2/3", "3/3"], [(3, 1), (2, 2), (0, 4)]):
        assert any(f"the step holds {blue} blue and {green} green" in m for m in messages), (step, messages)
    order = [m for m in messages if m.startswith("toward 25% green")]
    # Scaled out; green healthy on one look, and blue gives nothing up before the next look finds it too; then
    # blue's surplus deregistered; then, drained, terminated.
    assert [("scaled out" in m, "before the next look finds them too" in m, "deregistered, to drain" in m, "drained and terminated" in m)
            for m in order] == [(True, False, False, False), (False, True, False, False), (False, False, True, False), (False, False, False, True)], order
    groups = aws.groups(world)
    assert groups[world["blue_asg"]]["DesiredCapacity"] == 0 and groups[world["blue_asg"]]["MinSize"] == 0
    assert groups[green_name(world, run.id)]["DesiredCapacity"] == 4
    assert healthy_by_group(aws, world, run.id) == (0, 4)
    # What the guard read in moto just before each removal reached it: blue's surplus, 1, 1 and 2, deregistered while
    # at least four others were healthy; each terminated once no longer a healthy target (drained), four others were.
    removed = lambda action: [counts for a, _, seen in guard.targets_checked if a == action for counts in seen.values()]
    assert [taken for _, taken, _ in removed("DeregisterTargets")] == [1, 1, 2], guard.targets_checked
    assert all(left >= 4 for _, _, left in removed("DeregisterTargets")), guard.targets_checked
    assert len(removed("TerminateInstanceInAutoScalingGroup")) == 4, guard.targets_checked
    assert all(taken == 0 and left >= 4 for _, taken, left in removed("TerminateInstanceInAutoScalingGroup")), guard.targets_checked


def assert_rolled_back_blue_first(switchyard, world, aws, run):
    """The rollback's trail in order (blue scaled back to its four, then green leaves, then green is deleted), green's
    group gone and blue's own sizes back; blue's group as it stands is returned."""
    messages = events(switchyard, run.id)
    scaled = next(i for i, m in enumerate(messages) if "scaled back from 3 to 4" in m)
    leaves = next(i for i, m in enumerate(messages) if "leaves service" in m)
    deleted = next(i for i, m in enumerate(messages) if "scaled to 0 and deleted" in m)
    assert scaled < leaves < deleted, messages
    assert green_name(world, run.id) not in aws.groups(world)
    blue = aws.groups(world)[world["blue_asg"]]
    assert (blue["MinSize"], blue["DesiredCapacity"]) == (4, 4), "blue's own sizes come back"
    return blue


@pytest.mark.world(**SHARED, alarm=["{service}-5xx"])
def test_a_failing_check_rolls_a_shared_release_back_blue_first_and_green_leaves_only_after(world, switchyard, aws):
    """An alarm in ALARM fails the first step's check: blue is scaled back to its four and healthy before green's
    instance leaves the target group, and green's group is deleted only after it drained; the total never dips."""
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="e2e")
    run, code, err, seen = watched_start(switchyard, world, aws)
    assert code == 3, err
    assert seen[-1] == (4, 0), seen
    assert all(blue + green >= 4 for blue, green in seen), f"the healthy total fell below the start: {seen}"
    assert_rolled_back_blue_first(switchyard, world, aws, run)


# The looks of a step are setSplit calls: 1 scales green out, 2 finds it healthy once (no write), 3 deregisters blue's
# surplus, 4 terminates it (the step confirmed); the second step scales green out at 6 and deregisters blue at 8. Each
# point's writes before the kill, as the proxy saw them, are asserted in test_shared_clb.py.
CRASHES = [
    "after-call:setSplit:1",    # green scaled out, the record does not know it
    "after-call:setSplit:2",    # green healthy on one look, blue not yet deregistered
    "after-call:setSplit:3",    # blue's surplus deregistered, not terminated
    "after-save:setSplit:4",    # the first step confirmed
    "after-call:setSplit:6",    # the second step's green scaled out
    "after-call:setSplit:8",    # the second step's blue deregistered, not terminated
    "before:confirmPromotion",
]


@pytest.mark.parametrize("point", CRASHES)
@pytest.mark.world(**SHARED)
def test_a_shared_release_killed_at_any_look_resumes_to_the_same_end(point, world, switchyard, aws):
    """kill -9 between a look's action and its record (or after it): `resume` looks again and goes on, and the
    release ends as an uninterrupted one does: green four, blue at 0, never fewer than four healthy."""
    watch = CountWatcher(aws, world)
    run = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": point})
    watch.deployment = run.id
    assert run.finish()[0] == -signal.SIGKILL
    code, _, err = switchyard("resume", run.id)
    seen = watch.stop()
    assert code == 0, err
    assert seen[-1] == (0, 4), seen
    assert all(blue + green >= 4 for blue, green in seen), f"the healthy total fell below the start: {seen}"
    assert healthy_by_group(aws, world, run.id) == (0, 4)


@pytest.mark.world(**SHARED)
def test_a_completed_shared_release_rolls_back_by_scaling_blue_back_first(world, switchyard, aws):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = err.splitlines()[0].split()[1]
    watch = CountWatcher(aws, world)
    watch.deployment = deployment
    code, _, err = switchyard("rollback", deployment, "--reason", "undo")
    seen = watch.stop()
    assert code == 0, err
    assert seen[-1] == (4, 0) and all(b + g >= 4 for b, g in seen), seen
    assert green_name(world, deployment) not in aws.groups(world)


@pytest.mark.world(shared=True)
def test_the_file_refuses_what_a_shared_target_group_cannot_do(world, switchyard, tmp_path):
    """A test route, a pair, a Classic Load Balancer beside the target group, a bad Classic name, a metric of the shared target group (it is both
    fleets' at once: a check on it could never fail) and a listener beside the shared target group are refused with
    the key and line, exit 2, before anything is read."""
    text = open(world["file"]).read()
    cases = {
        "test_route": (text.replace("checks:\n", "checks:\n  http:\n    url: http://127.0.0.1:9/\n    timeout: 50ms\n    test_route: true\n", 1),
                       "checks.http.test_route", "does not apply with traffic.shared"),
        "pair": (text.replace("fleet:\n", f"fleet:\n  mode: pair\n  pair: [a, b]\n", 1), "fleet.mode", "pair does not apply with traffic.shared"),
        "clb": (text.replace("    target_group:", "    load_balancer_name: web-clb\n    target_group:", 1),
                "traffic.shared.load_balancer_name", "does not go with traffic.shared.target_group"),
        "clb-name": (re.sub(r"    target_group: .*\n", "    load_balancer_name: web_clb\n", text, count=1),
                     "traffic.shared.load_balancer_name", "is not a Classic Load Balancer name"),
        "metrics": (text.replace("checks:\n", "checks:\n  metrics: [alb_5xx_rate]\n", 1), "checks.metrics (alb_5xx_rate)",
                    "blue and green share one target group, so its metrics are both fleets' at once"),
        "listener": (text.replace("  shared:\n", f"  listener_arn: {world['listener_arn']}\n  shared:\n", 1),
                     "traffic.listener_arn", "does not go with traffic.shared"),
    }
    for name, (body, key, problem) in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(body)
        code, out, err = switchyard("plan", str(path), "--ami", world["new_ami"])
        assert code == 2, (name, code, err)
        assert key in err and problem in err and str(path) in err, (name, err)
    # A pool that is not there is the file's error by its key, with AWS's code, before anything is written.
    tg = world["target_group_arns"][0]
    missing = {"traffic.shared.target_group": (text.replace(tg, tg.rsplit("/", 1)[0] + "/0000000000000000", 1), "TargetGroupNotFound"),
               "traffic.shared.load_balancer_name": (re.sub(r"    target_group: .*\n", "    load_balancer_name: nosuch-clb\n", text, count=1),
                                                     "LoadBalancerNotFound")}
    for key, (body, code_name) in missing.items():
        path = tmp_path / "missing.yaml"
        path.write_text(body)
        code, out, err = switchyard("start", str(path), "--ami", world["new_ami"])
        assert code == 2, (key, code, err)
        assert f"{key} names" in err and "does not exist in this account and region" in err and code_name in err, (key, err)
    code, out, err = switchyard("history", "--json")
    assert code == 0 and json.loads(out) == [], out


@pytest.mark.world(**SHARED)
def test_a_second_shared_release_retires_the_first_ones_kept_blue_only_when_told_to(world, switchyard, aws):
    """The first release leaves its blue at 0 in the target group, kept for rollback: a second release refuses to
    start beside it (that rollback would scale it back into the second release's target group), and with
    `--end-retention` retires it (detached, drained, deleted) before green joins; the first release's trail says so.
    The second release's blue is the first one's green."""
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    first = err.splitlines()[0].split()[1]
    before = aws.snapshot(world)
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"])
    assert code == 2, err
    assert f"{world['blue_asg']}" in err and "kept for rollback until" in err and "--end-retention" in err, err
    assert aws.snapshot(world) == before
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention")
    assert code == 0, err
    second = err.splitlines()[0].split()[1]
    groups = aws.groups(world)
    assert world["blue_asg"] not in groups, "the first release's kept blue was retired"
    assert groups[green_name(world, first)]["DesiredCapacity"] == 0, "the first release's green was the second's blue"
    assert groups[green_name(world, second)]["DesiredCapacity"] == 4
    assert healthy_by_group(aws, {**world, "blue_asg": green_name(world, first)}, second) == (0, 4)
    code, out, _ = switchyard("show", first, "--json")
    assert "needs where it stands (green's target group or load balancer), so the retention ended early" in json.loads(out)["events"][-1]["message"]


@pytest.mark.world(**{**SHARED, "steps": "25,pause,100"})
def test_hooks_and_a_manual_gate_work_with_a_shared_target_group(world, switchyard, aws, tmp_path):
    """A before_traffic hook runs before green has any instance, each after_step hook sees its step's weight with
    green's instances already healthy, and the release waits at the gate with the step's counts held until
    `promote`; a second writer from another state file is refused meanwhile and changes nothing (green's instances
    in the target group make blue ambiguous to it; named, the claim on the target group refuses it)."""
    from test_hooks import add_hooks, sh
    log = tmp_path / "hooks.log"
    add_hooks(world, [("before_traffic", sh(f"echo before $SWITCHYARD_GREEN_WEIGHT >> {log}"), {"timeout": "10s"}),
                      ("after_step", sh(f"echo after $SWITCHYARD_GREEN_WEIGHT >> {log}"), {"timeout": "10s"})])
    run = start(switchyard, world)
    wait_until(lambda: json.loads(switchyard("show", run.id, "--json")[1] or "{}").get("state") == "paused", what="the gate")
    assert log.read_text().split("\n")[:2] == ["before 0", "after 25"], log.read_text()
    assert healthy_by_group(aws, world, run.id) == (3, 1)
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], db=str(tmp_path / "other.db"))
    assert code == 2 and "several Auto Scaling groups are attached to the live target group" in err, (code, err)
    named = tmp_path / "named.yaml"
    named.write_text(open(world["file"]).read().replace("fleet:\n", f"fleet:\n  blue_auto_scaling_group: {world['blue_asg']}\n", 1))
    code, _, err = switchyard("start", str(named), "--ami", world["blue_ami"], db=str(tmp_path / "other.db"))
    assert code == 4 and run.id in err, (code, err)
    assert healthy_by_group(aws, world, run.id) == (3, 1), "the refused writers changed nothing"
    code, _, err = switchyard("promote", run.id)
    assert code == 0, err
    code, _, err = run.finish()
    assert code == 0, err
    assert log.read_text().split() == ["before", "0", "after", "25", "after", "100"], log.read_text()
    assert healthy_by_group(aws, world, run.id) == (0, 4)


# Green's instances boot for 1.5 s, refusing connections: with the data plane's checks (every 0.25 s, unhealthy after
# 2 failures) each new one reads `unhealthy` (Classic: OutOfService, "Instance has failed at least the
# UnhealthyThreshold number of health checks consecutively.") before it passes, as an instance that boots slower than
# its health check's interval x threshold does on AWS.
@pytest.mark.parametrize("pool", [
    pytest.param("shared", marks=pytest.mark.world(shared=True, desired=4, steps="50,100", bake="2s", interval="200ms")),
    pytest.param("shared_clb", marks=pytest.mark.world(shared_clb=True, desired=4, steps="50,100", bake="2s", interval="200ms"))])
@pytest.mark.dataplane(amis={"green": {"boot": 1.5}})
def test_green_instances_a_step_adds_that_fail_their_first_checks_while_booting_do_not_roll_it_back(pool, world, switchyard, dataplane):
    """The second step scales green from 2 to 4 while green's first two serve and are judged: the two it adds read
    unhealthy until they have booted, receive nothing from the load balancer meanwhile, and the step waits for them;
    the release completes. Counted as green failing, they rolled a healthy release back (a CI run, under load)."""
    run = start(switchyard, world)
    code, _, err = run.finish(timeout=120)
    assert code == 0, err
    green_instances = {e["instance"] for e in dataplane.view()["events"] if e["kind"] == "process" and e["ami"] == world["new_ami"]}
    went = [(e["instance"], e["state"]) for e in dataplane.view()["events"] if e["kind"] == "health" and e["instance"] in green_instances]
    assert len(green_instances) == 4, green_instances
    assert all((i, "unhealthy") in went and (i, "healthy") in went for i in green_instances), went
    view = json.loads(switchyard("show", run.id, "--json")[1])
    assert view["state"] == "completed", view["state"]
