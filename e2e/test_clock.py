"""A clock that is not AWS's: the proxy plays AWS with its clock 20 minutes away from this machine's, refusing each
protocol as AWS does (query APIs and Route 53 SignatureDoesNotMatch "Signature expired", EC2 RequestExpired, DynamoDB
InvalidSignatureException) with its own Date header. Switchyard takes the offset from that header, signs again, and
says so; the release ends as it would with a right clock."""
import re

import pytest

from test_rollback import assert_back_on_blue, shifted, shown, start, wait_until


def skew_lines(err):
    return [line for line in err.splitlines() if "clock" in line and "AWS" in line]


def offset_said(line):
    """The offset a clock-correction line names, in seconds (AWS's Date header has whole seconds)."""
    found = re.search(r"clock is (\d+)m(\d+)s (behind|ahead of) AWS", line)
    assert found, line
    seconds = int(found.group(1)) * 60 + int(found.group(2))
    return seconds if found.group(3) == "behind" else -seconds


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_release_with_a_clock_20_minutes_behind_aws_completes(world, switchyard, aws, proxy):
    proxy.skew(1200)
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    deployment = re.search(r"deployment (\S+) started", err).group(1)
    assert shown(switchyard, deployment)["state"] == "completed"
    assert shifted(aws, world, 100)()
    lines = skew_lines(err)
    assert lines, err
    assert abs(offset_said(lines[0]) - 1200) <= 2, lines[0]
    refused = [r for r in proxy.requests if r.outcome.startswith("skewed:")]
    # Once per process and service at most: the offset is kept and every later request is signed with AWS's time.
    assert 1 <= len(refused) <= 6, [(r.n, r.service, r.action) for r in refused]
    assert {r.outcome for r in refused} <= {"skewed:SignatureDoesNotMatch", "skewed:RequestExpired"}
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1


@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx")
def test_a_skew_that_starts_mid_release_still_lets_the_rollback_through(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    run = start(switchyard, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    proxy.skew(-1500)  # this machine's clock jumps 25 minutes ahead of AWS's
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="Threshold Crossed")
    code, _, err = run.finish(timeout=60)
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    assert shown(switchyard, run.id)["state"] == "rolled_back"
    lines = skew_lines(err)
    assert lines and abs(offset_said(lines[0]) + 1500) <= 2, err
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1, "green was created twice"


@pytest.mark.world(bake="0s", interval="100ms", route53=True)
def test_plan_over_rest_xml_and_query_apis_with_a_skewed_clock(world, switchyard, proxy):
    proxy.skew(1200)
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    services = {r.service for r in proxy.requests if r.outcome.startswith("skewed:")}
    assert "route53" in services, services
    assert skew_lines(err), err


@pytest.mark.world(bake="0s")
def test_a_dynamodb_state_table_is_made_with_a_skewed_clock(world, binary, proxy, validator):
    import subprocess
    from conftest import base_environment
    proxy.skew(1200)
    env = base_environment(validator, world, {"AWS_ENDPOINT_URL": proxy.url, "AWS_ENDPOINT_URL_DYNAMODB": proxy.url})
    table = f"switchyard-{world['service']}-skew"
    proc = subprocess.run([binary, "state", "init", f"dynamodb://{table}?region=us-east-1"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    refused = [r for r in proxy.requests if r.outcome == "skewed:InvalidSignatureException"]
    assert refused, [r.outcome for r in proxy.requests]
    assert skew_lines(proc.stderr), proc.stderr
