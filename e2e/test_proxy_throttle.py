"""The proxy's AWS-like throttling (e2e/throttling.py), driven by boto3 alone: a burst past a bucket gets AWS's
throttling answer in the service's shape, buckets are per API (or shared, where AWS shares them) and per account, they
refill at their rate, and botocore's own retry modes get through a burst. If these fail, a benchmark or test that leans
on the proxy's throttling measures nothing."""
import concurrent.futures
import re
import urllib.parse
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions
import pytest

import throttling
from proxy import Proxy


class FrozenClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def bare(moto_url):
    p = Proxy(moto_url)
    p.trust("testing", "testing")
    yield p
    p.close()
    assert p.violations == []


@pytest.fixture
def frozen(bare):
    """The proxy throttling with AWS's figures on a clock that moves only when the test says."""
    clock = FrozenClock()
    bare.throttle(clock=clock)
    return clock


def client(proxy, service, key="testing", mode="standard", attempts=1, account=None, region="us-east-1"):
    c = boto3.client(service, endpoint_url=proxy.url, region_name=region, aws_access_key_id=key, aws_secret_access_key="testing",
                     config=botocore.config.Config(retries={"total_max_attempts": attempts, "mode": mode}, max_pool_connections=20))
    if account:
        c.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
    return c


def query(proxy, service, params):
    """One query-protocol request, signed as Switchyard signs it (boto3 speaks CBOR to CloudWatch now): (status, body)."""
    request = botocore.awsrequest.AWSRequest("POST", proxy.url + "/", data=urllib.parse.urlencode(params).encode(),
                                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("testing", "testing"), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    try:
        with urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers))) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def error_of(call):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_an_ec2_describe_burst_past_100_gets_request_limit_exceeded_503_and_refills_at_20_a_second(bare, frozen):
    clock = frozen
    ec2 = client(bare, "ec2")
    for _ in range(100):
        ec2.describe_vpcs()
    assert error_of(ec2.describe_vpcs) == ("RequestLimitExceeded", 503)
    ec2.describe_subnets()  # another API has its own bucket
    clock.now += 0.25  # 5 tokens
    for _ in range(5):
        ec2.describe_vpcs()
    assert error_of(ec2.describe_vpcs) == ("RequestLimitExceeded", 503)
    assert [r.action for r in bare.throttled] == ["DescribeVpcs", "DescribeVpcs"]
    assert all(not r.reached_aws and r.status == 503 for r in bare.throttled)
    assert bare.forwarded_count("DescribeVpcs") == 105


def test_an_ec2_mutating_api_holds_50_and_refills_at_5_a_second(bare, frozen):
    clock = frozen
    ec2 = client(bare, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    for n in range(49):
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": n % 2 == 0})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    assert error_of(lambda: ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})) == ("RequestLimitExceeded", 503)
    clock.now += 0.2
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})


def test_every_auto_scaling_api_shares_one_bucket_and_answers_throttling_400(bare, frozen):
    asg = client(bare, "autoscaling")
    for n in range(40):
        (asg.describe_auto_scaling_groups if n % 2 else asg.describe_policies)()
    assert error_of(asg.describe_scheduled_actions) == ("Throttling", 400)
    assert error_of(asg.describe_auto_scaling_groups) == ("Throttling", 400)
    assert bare.throttled[0].outcome == "throttled:Throttling"


def test_elb_buckets_are_per_api(bare, frozen):
    elb = client(bare, "elbv2")
    for _ in range(40):
        elb.describe_load_balancers()
    assert error_of(elb.describe_load_balancers) == ("Throttling", 400)
    elb.describe_target_groups()
    # Classic ELB (the same signing name, Version 2012-06-01): an API of its own, though its action has ELBv2's name.
    classic = client(bare, "elb")
    for _ in range(40):
        classic.describe_load_balancers()
    assert error_of(classic.describe_load_balancers) == ("Throttling", 400)
    assert [r.action for r in bare.throttled] == ["DescribeLoadBalancers", "DescribeLoadBalancers"]
    assert {name for (_, _, _, name) in bare.throttling.table()} >= {"DescribeLoadBalancers", "DescribeLoadBalancers (Classic)"}


def test_classic_elb_registrations_draw_on_the_smaller_bucket():
    params = {"Version": "2012-06-01", "LoadBalancerName": "web-clb"}
    assert throttling.limit_for("elasticloadbalancing", "RegisterInstancesWithLoadBalancer", params) == (
        "RegisterInstancesWithLoadBalancer (Classic)", throttling.ELB_CLASSIC_INSTANCES)
    assert throttling.limit_for("elasticloadbalancing", "DescribeInstanceHealth", params) == (
        "DescribeInstanceHealth (Classic)", throttling.ELB_CLASSIC_ANY)
    assert throttling.limit_for("elasticloadbalancing", "AddTags", {"Version": "2015-12-01"}) == ("AddTags", throttling.ELB_ANY)
    assert throttling.scaled(throttling.limit_for, 2)("elasticloadbalancing", "AddTags", params)[1].capacity == 80


def test_cloudwatch_describe_alarms_holds_one_seconds_worth_9_and_answers_the_query_error_shape(bare, frozen):
    clock = frozen
    alarms = {"Action": "DescribeAlarms", "Version": "2010-08-01", "AlarmNames.member.1": "none"}
    assert [query(bare, "monitoring", alarms)[0] for _ in range(9)] == [200] * 9
    status, body = query(bare, "monitoring", alarms)
    assert status == 400
    assert re.search(r"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>", body)
    clock.now += 0.12  # one token and a bit
    assert query(bare, "monitoring", alarms)[0] == 200


def test_buckets_are_per_account_by_moto_header_or_access_key(bare):
    clock = FrozenClock()
    tiny = lambda service, action, params: (action, throttling.Limit(2, 1, "test"))
    bare.throttle(limits=tiny, clock=clock)
    bare.trust("AKIDOTHERACCOUNT", "testing")
    mine, other_key, other_account = client(bare, "ec2"), client(bare, "ec2", key="AKIDOTHERACCOUNT"), client(bare, "ec2", account="210987654321")
    mine.describe_vpcs(), mine.describe_vpcs()
    assert error_of(mine.describe_vpcs)[0] == "RequestLimitExceeded"
    other_key.describe_vpcs()
    other_account.describe_vpcs()
    assert {r.account for r in bare.requests} == {"testing", "AKIDOTHERACCOUNT", "210987654321"}
    bare.throttle(limits=tiny, clock=clock, account_of=lambda request: "one account for every key")
    other_key.describe_vpcs(), other_account.describe_vpcs()
    assert error_of(mine.describe_vpcs)[0] == "RequestLimitExceeded"


def test_an_unfiltered_describe_instances_draws_on_the_smaller_bucket(bare, frozen):
    # A region no world uses: an unfiltered DescribeInstances in us-east-1 lists every instance this worker's moto
    # has launched so far (0.4 s a call late in a run); the bucket is what is tested, not moto's listing.
    ec2 = client(bare, "ec2", region="eu-north-1")
    for _ in range(50):
        ec2.describe_instances()
    assert error_of(ec2.describe_instances)[0] == "RequestLimitExceeded"
    ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_botocore_retry_modes_get_a_burst_through(bare, mode):
    """A burst of 30 calls from 6 threads at a bucket of 5 refilled at 10/s: botocore's retries (standard: jittered
    exponential backoff; adaptive: that plus a client-side rate limiter) get every call through; the throttled
    answers are counted and never reached moto."""
    bare.throttle(limits=lambda service, action, params: ("test", throttling.Limit(5, 10, "test")) if service == "autoscaling" else None)
    asg = client(bare, "autoscaling", mode=mode, attempts=10)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: asg.describe_auto_scaling_groups(), range(30)))
    assert len(answers) == 30
    assert bare.forwarded_count("DescribeAutoScalingGroups") == 30
    throttled = len(bare.throttled)
    assert throttled > 0, "the burst never met an empty bucket"
    assert len(bare.requests) == 30 + throttled
    print(f"{mode}: 30 calls, {throttled} throttled answers")
