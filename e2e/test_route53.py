"""traffic.route53 end to end: two stacks (two load balancers, two target groups) behind two weighted CNAME records of
one name in a moto hosted zone. A poller reads the records as clients' resolvers would see them change; the proxy counts
the change batches and checks every Route 53 request against botocore's rest-xml model and its signing region."""
import datetime
import json
import signal
import time

import boto3
import pytest
from conftest import WeightPoller

from test_removal import assert_detach_drain_remove
from test_rollback import green_name, start, wait_until

TTL = 1


def route53(moto_url):
    return boto3.client("route53", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def record_weights(client, world):
    """(blue, green) weights of the two records, by set identifier."""
    sets = client.list_resource_record_sets(HostedZoneId=world["hosted_zone_id"], StartRecordName=world["record_name"],
                                            StartRecordType=world["record_type"])["ResourceRecordSets"]
    weights = {s["SetIdentifier"]: s["Weight"] for s in sets if s.get("SetIdentifier") and s["Name"].rstrip(".") == world["record_name"]}
    return weights.get("blue"), weights.get("green")


class RecordPoller(WeightPoller):
    """Reads the records from another thread and keeps every distinct (blue, green) pair in order."""

    def __init__(self, client, world, period=0.01):
        super().__init__(None, None, None, None, period)
        self.client, self.world = client, world

    def read(self):
        return record_weights(self.client, self.world)


def show(switchyard, deployment, env=None):
    code, out, err = switchyard("show", deployment, "--json", env=env)
    assert code == 0, err
    return json.loads(out)


def at(event):
    return datetime.datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()


def green_groups(aws, world):
    return [name for name in aws.groups() if name.startswith(f"switchyard-{world['service']}-")]


@pytest.mark.slow(12)
@pytest.mark.world(route53=True, route53_ttl=TTL, bake="300ms", interval="100ms")
def test_each_step_is_one_change_batch_waited_in_sync_and_each_bake_starts_a_ttl_later(world, switchyard, moto_url, proxy, aws):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    assert f"each step waits TTL {TTL} s before its bake: +{3 * TTL} s total" in out
    assert "warning" not in out
    # A fresh change is PENDING at AWS until every name server has it (moto says INSYNC at once): GetChange is polled.
    proxy.rewrite("ChangeResourceRecordSets", lambda body: body.replace(b"<Status>INSYNC</Status>", b"<Status>PENDING</Status>"))
    with RecordPoller(route53(moto_url), world) as watch:
        run = start(switchyard, world, env=env)
        code, _, err = run.finish()
    assert code == 0, err
    assert watch.seen == [(100, 0), (90, 10), (50, 50), (0, 100)], watch.seen
    # One change batch per step, both records in it; each waited on with GetChange and read back.
    assert proxy.forwarded_count("ChangeResourceRecordSets") == 3, proxy.counts
    assert proxy.forwarded_count("GetChange") >= 3, proxy.counts
    batches = [r.body for r in proxy.forwarded("route53") if r.action == "ChangeResourceRecordSets"]
    assert all(b.count(b"<Action>UPSERT</Action>") == 2 for b in batches)
    # Green's group stands on green's own stack: the second target group, beside blue's untouched on the first.
    blue_tg, green_tg = world["target_group_arns"]
    groups = aws.groups()
    assert groups[f"switchyard-{world['service']}-{run.id}"]["TargetGroupARNs"] == [green_tg]
    assert groups[world["blue_asg"]]["TargetGroupARNs"] == [blue_tg]
    # The audit trail: each step's bake (300 ms) ends no sooner than TTL + bake after its weights were confirmed.
    events = show(switchyard, run.id, env=env)["events"]
    confirmed = [e for e in events if e.get("details", {}).get("settle_seconds") == str(TTL)]
    baked = [e for e in events if " baked " in e["message"]]
    assert len(confirmed) == 3 and len(baked) == 3, [e["message"] for e in events]
    for shift, done in zip(confirmed, baked):
        # From the confirmation (the step's event is saved a moment after it, so its own time is a few ms late).
        confirmed = datetime.datetime.fromisoformat(shift["details"]["confirmed_at"].replace("Z", "+00:00")).timestamp()
        assert at(done) - confirmed >= TTL + 0.3 - 0.002, (shift, done)


@pytest.mark.world(route53=True, route53_ttl=TTL, bake="30s", interval="100ms", alarm="{service}-5xx")
def test_a_failing_check_rolls_back_in_one_change_and_green_goes_a_ttl_later(world, switchyard, moto_url, proxy, aws):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    client = route53(moto_url)
    with RecordPoller(client, world) as watch:
        run = start(switchyard, world, env=env)
        wait_until(lambda: record_weights(client, world) == (90, 10), what="the first step")
        before = proxy.forwarded_count("ChangeResourceRecordSets")
        aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="5xx from green")
        code, _, err = run.finish()
    assert code == 3, err
    assert watch.seen == [(100, 0), (90, 10), (100, 0)], watch.seen
    assert proxy.forwarded_count("ChangeResourceRecordSets") - before == 1, "the rollback is one change batch"
    assert green_groups(aws, world) == []
    events = show(switchyard, run.id, env=env)["events"]
    restored = next(e for e in events if e["message"].startswith("Route 53 records read back at 100% blue; green stays 1s more"))
    removed = next(e for e in events if e["message"].startswith("green group") and "deleted" in e["message"])
    assert at(removed) - at(restored) >= TTL - 0.002, "resolvers may send clients to green for a TTL after the rollback"
    # In AWS: green's stack detached from its target group, its drain read, then scaled to 0 and deleted.
    assert_detach_drain_remove(proxy, green_name(world, run.id), deleted=True)


@pytest.mark.parametrize("point", ["after-call:setSplit:2",   # the records moved to 50 %, the state file does not know it
                                   "after-save:setSplit:2"])  # known, and the crash comes during the TTL wait
@pytest.mark.world(route53=True, route53_ttl=TTL, bake="300ms", interval="100ms")
def test_a_crash_after_a_weight_change_then_resume_completes_and_still_waits_the_ttl(point, world, switchyard, moto_url, proxy, aws):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    with RecordPoller(route53(moto_url), world) as watch:
        crashed = start(switchyard, world, env={**env, "SWITCHYARD_TEST_CRASH": point})
        code, _, _ = crashed.finish()
        assert code == -signal.SIGKILL
        assert record_weights(route53(moto_url), world) == (50, 50), "the crash came after the second change"
        code, _, err = switchyard("resume", crashed.id, env=env)
    assert code == 0, err
    assert watch.seen == [(100, 0), (90, 10), (50, 50), (0, 100)], watch.seen
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1, proxy.counts
    # 10 %, 50 %, 100 %: the resumed run adopts the 50 % it finds and writes only the last step.
    assert proxy.forwarded_count("ChangeResourceRecordSets") == 3, proxy.counts
    view = show(switchyard, crashed.id, env=env)
    assert view["state"] == "completed"
    # Whichever run confirmed the 50 % step, its bake ended no sooner than TTL + bake after the last confirmation.
    events = view["events"]
    confirmed = [e for e in events if e.get("details", {}).get("settle_seconds") and e.get("details", {}).get("green_weight") == "50"]
    baked = next(e for e in events if e["message"].startswith("step 2/3 baked"))
    # The wait counts from the confirmation's own instant, which the event records; the event is saved a moment later.
    assert confirmed and "confirmed_at" in confirmed[-1]["details"], confirmed
    confirmed_at = datetime.datetime.fromisoformat(confirmed[-1]["details"]["confirmed_at"].replace("Z", "+00:00")).timestamp()
    assert at(baked) - confirmed_at >= TTL + 0.3 - 0.002, (confirmed, baked)


@pytest.mark.world(route53=True, route53_ttl=TTL, region="eu-west-1")
def test_plan_in_another_region_signs_route53_for_us_east_1_and_refuses_a_record_pointing_elsewhere(world, switchyard, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json", env=env)
    assert code == 0, err
    view = json.loads(out)["route53"]
    assert view["ttl_seconds"] == TTL and view["added_wait_ms"] == 3000 * TTL
    assert [r["set_identifier"] for r in view["records"]] == ["blue", "green"]
    assert view["records"][1]["load_balancer_arn"] == world["green_load_balancer_arn"]
    signed = {r.region for r in proxy.forwarded("route53")}
    assert signed == {"us-east-1"}, signed
    assert {r.region for r in proxy.forwarded("elasticloadbalancing")} == {"eu-west-1"}
    text = open(world["file"]).read().replace(world["record_targets"][1], "elsewhere.example.net")
    with open(world["file"], "w") as f:
        f.write(text)
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 2, err
    assert 'the record "green" points at ' + world["record_targets"][1] in err and "elsewhere.example.net" in err, err


@pytest.mark.world(route53=True, route53_ttl=120)
def test_plan_warns_when_the_ttl_is_long(world, switchyard):
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    assert "each step waits TTL 120 s before its bake: +360 s total" in out
    assert "warning   the records' TTL is 120 s (over 60 s)" in out


@pytest.mark.world(route53=True, route53_ttl=TTL, bake="0s", interval="100ms")
def test_route53_has_its_own_endpoint_variable_and_a_prior_request_not_complete_is_retried(world, switchyard, proxy, validator):
    # Route 53 alone through `proxy` (botocore's AWS_ENDPOINT_URL_ROUTE_53), everything else through the validator.
    proxy.fail("ChangeResourceRecordSets", code="PriorRequestNotComplete", times=1,
                message="The request was rejected because Route 53 was still processing a prior request.")
    run = start(switchyard, world, env={"AWS_ENDPOINT_URL_ROUTE_53": proxy.url})
    code, _, err = run.finish()
    assert code == 0, err
    assert {r.service for r in proxy.requests} == {"route53"}, {r.service for r in proxy.requests}
    assert not [r for r in validator.requests if r.service == "route53"]
    assert proxy.counts["ChangeResourceRecordSets"] == 4 and proxy.forwarded_count("ChangeResourceRecordSets") == 3, proxy.counts


@pytest.mark.world(route53=True, route53_type="A", bake="0s", interval="100ms")
def test_alias_records_count_sixty_seconds_and_keep_their_alias_target(world, switchyard, moto_url, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    assert "each step waits TTL 60 s before its bake: +180 s total" in out and "warning" not in out
    client = route53(moto_url)
    run = start(switchyard, world, env=env)
    try:
        # The first step is written; its 60 s wait is not this test's business.
        wait_until(lambda: record_weights(client, world) == (90, 10), what="the first step")
    finally:
        run.proc.kill()
        run.proc.wait(timeout=10)
    sets = client.list_resource_record_sets(HostedZoneId=world["hosted_zone_id"], StartRecordName=world["record_name"],
                                            StartRecordType="A")["ResourceRecordSets"]
    alias = {s["SetIdentifier"]: s["AliasTarget"] for s in sets if s.get("SetIdentifier")}
    assert [alias[sid]["DNSName"].rstrip(".") for sid in ("blue", "green")] == world["record_targets"]
    assert all(a["EvaluateTargetHealth"] for a in alias.values())
    batch = next(r.body for r in proxy.forwarded("route53") if r.action == "ChangeResourceRecordSets")
    assert b"<TTL>" not in batch and batch.count(b"<AliasTarget>") == 2
