"""The checking proxy itself, driven by boto3 against moto (no switchyard binary): it verifies signatures, catches
cut bodies, and its faults behave as documented. If these fail, the e2e tests that lean on the proxy prove nothing."""
import socket
import time

import boto3
import botocore.config
import botocore.exceptions
import pytest

from proxy import Proxy


@pytest.fixture
def bare(moto_url):
    p = Proxy(moto_url)
    yield p
    p.close()


def client(proxy, service="autoscaling", key="testing", secret="testing", **config):
    return boto3.client(service, endpoint_url=proxy.url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config))


def test_a_request_signed_with_a_trusted_key_is_recorded_and_verified(bare):
    bare.trust("testing", "testing")
    client(bare).describe_auto_scaling_groups(AutoScalingGroupNames=["nothing-here"])
    [r] = bare.requests
    assert (r.action, r.service, r.akid, r.signature, r.outcome, r.status) == (
        "DescribeAutoScalingGroups", "autoscaling", "testing", "ok", "forwarded", 200)
    assert r.whole and bare.violations == []


def test_a_signature_with_another_secret_is_a_violation(bare):
    bare.trust("testing", "not-the-secret-it-was-signed-with")
    client(bare).describe_auto_scaling_groups()
    assert bare.requests[0].signature.startswith("mismatch: signature does not match")
    assert len(bare.violations) == 1 and "signature" in bare.violations[0]


def test_a_session_token_that_is_not_the_keys_is_a_violation(bare):
    bare.trust("ASIATEMP", "secret", token="the-real-token")
    boto3.client("ec2", endpoint_url=bare.url, region_name="us-east-1", aws_access_key_id="ASIATEMP",
                 aws_secret_access_key="secret", aws_session_token="another-token").describe_regions()
    assert bare.requests[0].signature == "mismatch: X-Amz-Security-Token is not the session token of this key"


def test_a_key_the_proxy_does_not_know_stays_unverified_without_a_violation(bare):
    client(bare, key="AKIDUNKNOWN").describe_auto_scaling_groups()
    assert bare.requests[0].signature == "unverified" and bare.violations == []


def test_a_cut_body_is_not_forwarded_and_is_a_violation(bare):
    host, port = bare.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                  b"Authorization: AWS4-HMAC-SHA256 Credential=testing/20261127/us-east-1/autoscaling/aws4_request, "
                  b"SignedHeaders=host;x-amz-date, Signature=" + b"0" * 64 + b"\r\n\r\nAction=Desc")
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == b"", "a cut request gets no answer"
    [r] = bare.requests
    assert r.outcome == "dropped" and (r.body_length, r.content_length) == (11, 100) and not r.whole
    assert "body cut: 11 of 100 bytes arrived" in bare.violations[0]


def test_an_unsigned_request_is_a_violation_unless_sts_takes_it_unsigned(bare):
    boto3.client("sts", endpoint_url=bare.url, region_name="us-east-1",
                 config=botocore.config.Config(signature_version=botocore.UNSIGNED)).assume_role_with_web_identity(
        RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="e2e-session", WebIdentityToken="token-" + "x" * 10)
    assert bare.requests[0].signature == "unsigned" and bare.violations == []
    assert bare.issued and bare.keys[bare.issued[0]][1], "the keys STS handed out are trusted, with their token"


def test_every_nth_request_is_dropped_without_an_answer(bare):
    bare.trust("testing", "testing")
    bare.drop_every(2)
    asg = client(bare)
    asg.describe_auto_scaling_groups()
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        asg.describe_auto_scaling_groups()
    asg.describe_auto_scaling_groups()
    assert [r.outcome for r in bare.requests] == ["forwarded", "dropped", "forwarded"]
    assert bare.forwarded_count("DescribeAutoScalingGroups") == 2


def test_every_nth_request_gets_an_aws_shaped_503(bare):
    bare.error_every(2)
    for service, call in (("autoscaling", "describe_auto_scaling_groups"), ("ec2", "describe_regions")):
        api = client(bare, service)
        getattr(api, call)()
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            getattr(api, call)()
        assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert [r.outcome for r in bare.requests] == ["forwarded", "injected:ServiceUnavailable"] * 2


def test_a_key_past_its_deadline_gets_expired_token(bare):
    bare.expire_after("ASIAOLD", time.time() - 1)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client(bare, key="ASIAOLD").describe_auto_scaling_groups()
    assert raised.value.response["Error"]["Code"] == "ExpiredToken"
    client(bare, key="ASIANEW").describe_auto_scaling_groups()
    assert [r.outcome for r in bare.requests] == ["expired", "forwarded"]


def test_a_held_answer_is_forwarded_first_and_answered_late(bare):
    bare.hold("DescribeAutoScalingGroups", 3)
    asg = client(bare, read_timeout=1)
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        asg.describe_auto_scaling_groups()
    asg.describe_auto_scaling_groups()  # held once only
    assert [r.outcome for r in bare.requests] == ["held+forwarded", "forwarded"]
    assert bare.forwarded_count("DescribeAutoScalingGroups") == 2


def test_a_hold_after_another_action_waits_for_that_action(bare):
    bare.hold("DescribeAutoScalingGroups", 3, after="DescribeLaunchConfigurations")
    asg = client(bare, read_timeout=1)
    asg.describe_auto_scaling_groups()  # before the `after` action: answered at once
    asg.describe_launch_configurations()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        asg.describe_auto_scaling_groups()
    assert [r.outcome for r in bare.requests] == ["forwarded", "forwarded", "held+forwarded"]
