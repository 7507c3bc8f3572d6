"""What the checks decide: every step is checked under its own weight, alarms are looked up before anything is
launched (composite alarms too), and an instance being replaced in green is not a reason to roll back."""
import json
import re
import urllib.parse
import urllib.request

import pytest

from test_rollback import assert_back_on_blue, rollback_event, shifted, shown, start, wait_until


@pytest.mark.world(alarm="{service}-5xx")
def test_a_misspelt_alarm_is_refused_by_plan_and_start_before_anything_changes(world, switchyard, aws):
    text = open(world["file"]).read().replace(world["alarms"][0], world["alarms"][0] + "-typo")
    open(world["file"], "w").write(text)
    before = aws.snapshot(world)
    for command in ("plan", "start"):
        code, out, err = switchyard(command, world["file"], "--ami", world["new_ami"])
        assert code == 2, (command, err)
        assert world["alarms"][0] + "-typo" in err and "checks.alarms" in err, err
    assert aws.snapshot(world) == before


def put_composite_alarm_in_moto(endpoint, name, rule):
    """Moto workaround (test setup only): moto 5.2.1 answers PutCompositeAlarm with HTTP 500 and instead stores a
    composite alarm when PutMetricAlarm carries an AlarmRule, which botocore's model does not allow, hence a raw
    request (moto routes by the credential scope and checks no signature)."""
    body = urllib.parse.urlencode({"Action": "PutMetricAlarm", "Version": "2010-08-01", "AlarmName": name, "AlarmRule": rule})
    request = urllib.request.Request(endpoint + "/", data=body.encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/monitoring/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    urllib.request.urlopen(request, timeout=10).read()


@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx")
def test_a_composite_alarm_is_read_and_rolls_back_when_it_fires(world, switchyard, aws):
    composite = f"{world['service']}-composite"
    put_composite_alarm_in_moto(aws.cw.meta.endpoint_url, composite, f"ALARM({world['alarms'][0]})")
    text = open(world["file"]).read().replace(f"alarms: [{world['alarms'][0]}]", f"alarms: [{composite}]")
    open(world["file"], "w").write(text)
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    aws.cw.set_alarm_state(AlarmName=composite, StateValue="ALARM", StateReason="child alarm fired")
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    event = rollback_event(shown(switchyard, run.id))
    assert event["details"]["check"] == f"alarm:{composite}"
    assert event["details"]["evidence"] == f"alarm {composite} is ALARM: child alarm fired"


@pytest.mark.world(bake="0s", interval="1s", probe_url="probe")
def test_zero_bake_steps_are_each_checked_under_their_own_weight(world, switchyard, aws, probe, poller):
    blue_tg, green_tg = world["target_group_arns"]
    seen_at_weight = []
    original = probe.server.RequestHandlerClass.do_GET

    def counting(handler):
        weights = aws.weights(world["listener_arn"])
        seen_at_weight.append(weights.get(green_tg, 0))
        original(handler)
    probe.server.RequestHandlerClass.do_GET = counting
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    # The probe ran under 10 %, under 50 % and under 100 % green, not only before traffic.
    for weight in (10, 50, 100):
        assert weight in seen_at_weight, seen_at_weight


@pytest.mark.world(bake="1s", interval="200ms")
def test_an_instance_being_replaced_in_green_is_reported_not_rolled_back(world, switchyard, aws, proxy):
    """Once traffic moved, one of green's targets turns `initial` (a replacement registering) and green's group, read
    because its target health changed, reports that instance Pending."""
    state = {}

    def pending_green(body):
        if b"switchyard-" not in body:
            return body
        match = re.search(rb"<InstanceId>(i-[0-9a-f]+)</InstanceId>", body)
        if match and "instance" not in state:
            state["instance"] = match.group(1)
        if "instance" not in state or not proxy.counts.get("ModifyListener") or b"<InstanceId>" + state["instance"] not in body:
            return body
        state["pending_read"] = True
        return re.sub(rb"(<InstanceId>" + state["instance"] + rb"</InstanceId>.*?<LifecycleState>)InService(</LifecycleState>)",
                      rb"\1Pending\2", body, count=1, flags=re.S)

    def initial_target(body):
        instance = state.get("instance")
        if not instance or not proxy.counts.get("ModifyListener"):
            return body
        return re.sub(rb"(<Id>" + instance + rb"</Id>.*?<State>)healthy(</State>)", rb"\1initial\2", body, count=1, flags=re.S)

    proxy.rewrite("DescribeAutoScalingGroups", pending_green)
    proxy.rewrite("DescribeTargetHealth", initial_target)
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    assert state.get("pending_read"), "green's group was never read once its target health changed"
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    code, out, _ = switchyard("show", deployment, "--json")
    view = json.loads(out)
    assert view["state"] == "completed"
