"""Listener and rule reads that answer stale, as AWS's eventually consistent Describe calls may: for 1.5 s after a
ModifyListener (or ModifyRule), DescribeListeners and DescribeRules answer what they answered just before it (the proxy
replays reads it saw before the write; test_proxy_faults.py proves it with boto3). A rollback must still write blue
back and remove green only once the listener truly carries nothing to it; a healthy release must still complete. The
truth is read from moto directly, never through the proxy."""
import pytest

from test_hooks import add_hooks, sh
from test_rollback import green_name, shown, start, wait_until

# The stale tests use Switchyard's own windows, not the suite's short ones: tags read stale too.
DEFAULT_WINDOW = {"SWITCHYARD_READ_SETTLE": None, "SWITCHYARD_TAG_SETTLE": None}
# Reads stay stale 1.5 s after a write: inside the listener claim's 2 s of reading for its own tag to show. With 2 s, as
# these tests had, every read of the claim could be stale, and the claim rightly gave up (ClaimUnconfirmed, exit 4) —
# once in a run on a busy machine; test_stale_tags.py holds a claim whose tag never reads back to exactly that.
STALE = 1.5


def rule_weights(aws, world):
    action = aws.elb.describe_rules(RuleArns=[world["rule_arn"]])["Rules"][0]["Actions"][0]
    return {g["TargetGroupArn"]: g.get("Weight", 1) for g in action["ForwardConfig"]["TargetGroups"]}


def truth(aws, world):
    """The shifted forward's weights, from moto itself."""
    return rule_weights(aws, world) if world.get("rule_arn") else aws.weights(world["listener_arn"])


def alarm_at_first_step_rolls_back(world, switchyard, aws, proxy, write_action):
    blue_tg, green_tg = world["target_group_arns"]
    proxy.stale_reads(STALE)
    proxy.guard_removals()  # no group whose target group has weight in moto is detached or deleted
    run = start(switchyard, world, env={"AWS_ENDPOINT_URL": proxy.url, **DEFAULT_WINDOW})
    wait_until(lambda: truth(aws, world).get(green_tg, 0) == 10, what="the first step")
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="Threshold Crossed")
    code, _, err = run.finish()
    writes = [r for r in proxy.forwarded() if r.action == write_action]
    assert code == 3, err
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    assert truth(aws, world) == {blue_tg: 100, green_tg: 0}, "the listener was left with traffic on green"
    assert green_name(world, run.id) not in aws.groups(world)
    # The rollback wrote blue back itself (the read before it said 100/0, stale), ...
    assert len(writes) >= 2, [r.action for r in proxy.forwarded()]
    assert proxy.stale.answered, "no read was answered stale: the test did not test much"
    stale_after_write = [r for r in proxy.requests if r.n in proxy.stale.answered and r.n > writes[0].n]
    assert stale_after_write and stale_after_write[0].n < writes[1].n, "the rollback's read came after the stale window"
    # ... and green went only after that write, its removal reading traffic once the window was over.
    deleted = [r for r in proxy.forwarded() if r.action == "DeleteAutoScalingGroup"]
    assert deleted and deleted[0].n > writes[1].n
    assert deleted[0].at - writes[1].at >= 2.0
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1, "green was created twice"
    assert proxy.removal_guard.checked, "the guard saw the removal"


@pytest.mark.slow(12)
@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx")
def test_an_alarm_at_the_first_step_under_stale_reads_writes_the_listener_back_before_green_goes(world, switchyard, aws, proxy):
    alarm_at_first_step_rolls_back(world, switchyard, aws, proxy, "ModifyListener")


@pytest.mark.slow(11)
@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx", rule=True)
def test_an_alarm_at_the_first_step_under_stale_reads_writes_the_rule_back_before_green_goes(world, switchyard, aws, proxy):
    alarm_at_first_step_rolls_back(world, switchyard, aws, proxy, "ModifyRule")


def healthy_release_completes(world, switchyard, aws, proxy):
    blue_tg, green_tg = world["target_group_arns"]
    # A smoke test of half a second before promotion: the read-back comes that long after the last step's write, well
    # inside the stale window and past the one interval in which this process trusts its own write's answer.
    add_hooks(world, [("before_promotion", sh("sleep 0.5"), {})])
    proxy.stale_reads(STALE)
    proxy.guard_removals()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url, **DEFAULT_WINDOW})
    assert code == 0, err
    assert truth(aws, world) == {blue_tg: 0, green_tg: 100}
    assert proxy.stale.answered, "no read was answered stale: the test did not test much"
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1, "green was created twice"


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_healthy_release_with_no_bake_completes_under_stale_reads(world, switchyard, aws, proxy):
    healthy_release_completes(world, switchyard, aws, proxy)


@pytest.mark.world(bake="0s", interval="100ms", rule=True)
def test_a_healthy_release_behind_a_rule_with_no_bake_completes_under_stale_reads(world, switchyard, aws, proxy):
    healthy_release_completes(world, switchyard, aws, proxy)
