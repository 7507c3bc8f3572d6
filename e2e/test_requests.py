"""What a release costs in AWS requests: no question asked twice for the same answer, and planning that does not
grow with the number of Auto Scaling groups in the account (counted through the recording proxy)."""
import datetime
import json
import re

import pytest


def started(err):
    return re.search(r"deployment (\S+) started", err).group(1)


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def release_requests(log):
    """The actions of one release in order, as the proxy saw them."""
    return list(log)


@pytest.mark.world(bake="0s", interval="1s")
def test_a_zero_bake_release_asks_nothing_twice(world, switchyard, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    proxy.reset_counts()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    log = release_requests(proxy.log)
    # 20 for the release itself, plus what safety adds on purpose: one check tick under each step's weight
    # (DescribeAutoScalingGroups + DescribeTargetHealth, 3 × 2); finding every forward to the pair (DescribeTargetGroups,
    # and DescribeRules per listener); the listener-tag fence before the first traffic write (DescribeTags); the
    # retain-until tag on the kept blue (CreateOrUpdateTags); 4 reads for the fleet clone (blue's policies, hooks,
    # schedule and notifications) and 1 write pinning a blue on $Latest to its version number.
    checks = 2 * 3
    assert len(log) <= 20 + checks + 2 + 2 + 4 + 1, " ".join(log)
    assert log.count("ModifyListener") == 3 and log.count("CreateOrUpdateTags") == 1, log
    assert log.count("DescribeTargetGroups") == 1 and log.count("DescribeRules") == 1, log
    # Planning reads blue's launch-template version and both images once; green is created from those answers.
    assert log.count("DescribeLaunchTemplateVersions") == 1, log
    assert log.count("DescribeImages") == 1, log
    before_create = log[:log.index("CreateAutoScalingGroup")]
    assert before_create.count("DescribeAutoScalingGroups") == 1, log
    # Each ModifyListener's answer is its read-back: no DescribeListeners follows a write.
    first_write = log.index("ModifyListener")
    assert "DescribeListeners" not in log[first_write:], log
    assert log.count("ModifyListener") == 3, log


def plan_requests(switchyard, world, proxy):
    proxy.reset_counts()
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    return list(proxy.log)


def test_planning_costs_the_same_with_many_more_groups_in_the_account(world, switchyard, proxy, aws):
    before = plan_requests(switchyard, world, proxy)
    template = {"LaunchTemplateId": world["launch_template_id"], "Version": "1"}
    for n in range(110):  # past a page of DescribeAutoScalingGroups (100)
        aws.asg.create_auto_scaling_group(AutoScalingGroupName=f"{world['service']}-other-{n}", LaunchTemplate=template,
                                          MinSize=0, MaxSize=1, DesiredCapacity=0,
                                          VPCZoneIdentifier=",".join(world["subnet_ids"]))
    after = plan_requests(switchyard, world, proxy)
    # The fleet reads run side by side, so their order varies: compare what was asked, not in which order.
    assert sorted(after) == sorted(before), (before, after)
    # 8 as it was, plus DescribeTargetGroups and one DescribeRules for the one listener (per load balancer and
    # listener of the pair, never per account), plus the fleet clone's 4 reads of blue, plus one
    # DescribeTargetGroupAttributes per target group of the pair: plan says how long a fleet leaving each drains.
    assert len(before) <= 16, " ".join(before)
    assert before.count("DescribeTargetGroupAttributes") == 2, before


@pytest.mark.world(bake="0s", interval="1s")
def test_a_second_release_finds_blue_from_the_state_file_and_still_sees_a_stranger(world, switchyard, proxy, aws):
    """From the second release on, blue is the green before it: planning reads the service's groups the state file
    knows beside the target health, and when they hold every registered instance it asks no
    DescribeAutoScalingInstances (issue 23). A group the state file does not know, standing in the live target group
    with an instance, is still looked up by that call and makes blue ambiguous (exit 2): the lookup is skipped only
    when it has nothing to find."""
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    again = ("plan", world["file"], "--ami", world["blue_ami"], "--end-retention")  # blue of the first is kept for rollback
    proxy.reset_counts()
    code, _, err = switchyard(*again, env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    log = list(proxy.log)
    assert "DescribeAutoScalingInstances" not in log, log
    assert log.count("DescribeAutoScalingGroups") == 1, log
    live = world["target_group_arns"][1]
    stranger = f"{world['service']}-stranger"
    aws.asg.create_auto_scaling_group(AutoScalingGroupName=stranger, MinSize=1, MaxSize=1, DesiredCapacity=1,
                                      LaunchTemplate={"LaunchTemplateId": world["launch_template_id"], "Version": "1"},
                                      VPCZoneIdentifier=",".join(world["subnet_ids"]), TargetGroupARNs=[live])
    proxy.reset_counts()
    code, _, err = switchyard(*again, env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 2 and "several Auto Scaling groups are attached to the live target group" in err and stranger in err, (code, err)
    assert list(proxy.log).count("DescribeAutoScalingInstances") == 1, list(proxy.log)


@pytest.mark.world(alarm=["a-5xx"])
def test_planning_sends_its_independent_reads_together(world, switchyard, proxy):
    """The alarms' existence has no order with finding blue, and blue's four settings reads none with its launch
    template and images: each goes out beside the others (issue 23), so planning is not a chain of round trips. Before,
    the alarms were read after DescribeImages and blue's settings after the alarms."""
    log = plan_requests(switchyard, world, proxy)
    assert log.index("DescribeAlarms") < log.index("DescribeLaunchTemplateVersions"), log
    settings = [log.index(a) for a in ("DescribePolicies", "DescribeScheduledActions", "DescribeNotificationConfigurations",
                                       "DescribeLifecycleHooks")]
    assert min(settings) < log.index("DescribeImages"), log
    assert log.count("DescribeAlarms") == 1, log


@pytest.mark.world(bake="4s", interval="500ms", steps="100", alarm=["a-5xx", "a-latency"])
def test_a_bake_asks_aws_what_plan_says_a_tick_costs_and_no_more(world, switchyard, proxy):
    """The steady-state figure `plan` prints (requests a tick, the most a minute holds) is what a bake sends: each
    tick's reads once, however many checks share their answers."""
    env = {"AWS_ENDPOINT_URL": proxy.url}
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json", env=env)
    assert code == 0, err
    cost = json.loads(out)["requests"]
    per_tick = {r["action"]: r["calls"] for r in cost["per_tick"]}
    assert per_tick == {"DescribeAutoScalingGroups": 1, "DescribeTargetHealth": 1, "DescribeAlarms": 1}, cost
    refresh = {r["action"]: r.get("refresh_ms") for r in cost["per_tick"]}
    assert refresh == {"DescribeAutoScalingGroups": 60000, "DescribeTargetHealth": None, "DescribeAlarms": None}, cost
    # Steady: target health and the alarms each tick, green's group once a minute; at most, all three each tick.
    assert cost["interval_ms"] == 500 and cost["per_minute"] == 120 * 2 + 1 and cost["per_minute_at_most"] == 120 * 3, cost
    assert cost["per_minute_by_service"] == {"autoscaling": 1, "elasticloadbalancing": 120, "monitoring": 120}, cost
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert "  requests  while a step bakes, a check tick every 500ms asks AWS 2 requests (DescribeTargetHealth, DescribeAlarms) " \
           "and DescribeAutoScalingGroups (green's instances and their lifecycle, when green's target health changed, and at " \
           "least every 1m): 241 a minute in a steady bake (autoscaling 1, elasticloadbalancing 120, monitoring 120), at most 360" in out, out

    proxy.reset_counts()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    code, out, err = switchyard("show", started(err), "--json")
    view = json.loads(out)
    # The step is live from its confirmation plus the settle (0 s in this world): its bake and ticks start then.
    step = next(e["details"] for e in view["events"] if (e.get("details") or {}).get("confirmed_at"))
    live = parse_time(step.get("live_at") or step["confirmed_at"])
    baked = next(parse_time(e["at"]) for e in view["events"] if "baked" in e["message"])
    during = [r for r in proxy.requests if live <= r.at <= baked]
    actions = [r.action for r in during]
    # Nothing but the tick's reads while the step bakes, each read once a tick.
    assert set(actions) <= set(per_tick) and "DescribeTargetHealth" in actions, actions
    ticks = actions.count("DescribeTargetHealth")
    # Green's targets stay healthy through the bake: its group is not read again (the health gate's read explains them).
    assert abs(actions.count("DescribeAlarms") - ticks) <= 1 and actions.count("DescribeAutoScalingGroups") <= 1, actions
    seconds = baked - live
    assert ticks <= seconds / 0.5 + 1, f"{ticks} ticks in {seconds:.2f} s of bake at a 500ms interval"
    assert ticks >= seconds / 0.5 / 2, f"only {ticks} ticks in {seconds:.2f} s of bake at a 500ms interval"
    assert len(during) <= cost["per_minute"] * seconds / 60 + len(per_tick), (len(during), seconds)
    print(f"bake {seconds:.2f} s: {len(during)} requests in {ticks} ticks; plan's bound {cost['per_minute']} a minute")


# What each request of a zero-bake release is for, but the polls (the capacity wait, the check ticks): a request that is
# not here is a decision to make, with a name in e2e/purposes.py and a line here, not an accident (issue 23).
RELEASE_PURPOSES = [
    "plan: the alarms exist",
    "plan: the two target groups (VPC, load balancer)",
    "plan: the load balancer's listeners (other forwards to the pair)",
    "plan: the listener's rules (other forwards to the pair)",
    "plan: blue's target health (which instances serve)",
    "plan: green's target group (which instances it holds)",
    "plan: the groups of the instances in the target groups",
    "plan: blue's group",
    "plan: blue's launch template version",
    "plan: blue's scaling policies (copied to green)",
    "plan: blue's scheduled actions (copied to green)",
    "plan: blue's lifecycle hooks (copied to green)",
    "plan: blue's notification configurations (copied to green)",
    "plan: blue's and the new AMI (architecture, existence)",
    "claim: who holds the listener (its tag)",
    "claim: tag the listener",
    "claim: the claim reads back, no rival beside it",
    "launch: pin blue's launch template version",
    "launch: green's launch template version (the new AMI)",
    "launch: create green's group",
    "step 1: the listener is still ours (its tag)",
    "step 1: the weights before the write",
    "step 1: weight write (blue 90 / green 10)",
    "step 2: weight write (blue 50 / green 50)",
    "step 3: weight write (blue 0 / green 100)",
    "promotion: blue's retention deadline (tag)",
    "release: take this deployment's own claim tag off",
]


@pytest.mark.world(bake="0s", interval="1s", alarm=["a-5xx"])
def test_every_request_of_a_release_is_named_by_its_purpose(world, switchyard, proxy):
    from purposes import UNNAMED, name_requests
    first = len(proxy.requests)
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    requests = [r for r in proxy.requests[first:] if r.reached_aws]
    named = name_requests(requests, world)
    assert not [r.action for n, r in zip(named, requests) if n.purpose == UNNAMED], [(n.purpose, r.action) for n, r in zip(named, requests)]
    polls = ("capacity wait", " check ")
    decided = [n for n in named if not any(p in n.purpose for p in polls)]
    # Reads sent together answer in any order: the list as a multiset, and each phase after the one before.
    assert sorted(n.purpose for n in decided) == sorted(RELEASE_PURPOSES), [n.purpose for n in decided]
    phases = [n.purpose.split(":")[0].split(" ")[0] for n in decided]
    assert phases == sorted(phases, key=["plan", "claim", "launch", "step", "promotion", "release"].index), phases
    assert not [n.purpose for n in decided if n.repeat]
    # Each check tick asks what TickCost says, no more: green's target health and the alarm; green's group, read by the
    # capacity wait and explaining every target health read after it, is not read again.
    ticks = [n.purpose for n in named if " check " in n.purpose and n.purpose.startswith("step")]
    assert len(ticks) % 2 == 0 and {t.split(": ", 1)[1] for t in ticks} == {"alarms", "green's target health"}, ticks
