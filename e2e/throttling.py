"""AWS's request throttling, for the test proxy: token buckets per account, region, service and API.

moto never throttles. AWS does, per account and region, with token buckets: each request takes a token from its
API's bucket, an empty bucket answers an error instead of doing the work, and the bucket refills at a fixed rate up
to its capacity. `Proxy.throttle()` (e2e/proxy.py) puts these buckets in front of moto.

The figures (`limit_for`), and where each comes from:
- EC2 (documented): "Request throttling for the Amazon EC2 API", table "Request token bucket sizes and refill
  rates" (docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). One bucket per API. Non-mutating actions
  (Describe*, List*, Search*, Get*) 100 tokens, 20/s; the unfiltered-and-unpaginated subset (DescribeInstances,
  DescribeSecurityGroups, ... asked without a filter or pagination) 50, 10/s; mutating actions 50, 5/s; the
  uncategorized actions Switchyard may call have their own rows (CreateLaunchTemplateVersion and ModifyLaunchTemplate
  100, 5/s; CreateTags and DeleteTags 100, 10/s). Answer: HTTP 503 RequestLimitExceeded. The resource-token buckets
  (RunInstances, TerminateInstances) are not modelled: Switchyard never calls them (Auto Scaling launches).
- CloudWatch (documented): "CloudWatch service quotas" (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
  cloudwatch_limits.html) gives a rate per API per account and region: DescribeAlarms 9/s, GetMetricData 500/s,
  GetMetricStatistics 400/s, ListMetrics 25/s, DescribeAlarmHistory 20/s, PutMetricAlarm, SetAlarmState,
  DeleteAlarms 3/s, PutMetricData 500/s. No burst is published: the bucket holds one second's worth.
  Answer: HTTP 400 Throttling.
- Route 53 (documented): "Quotas, Frequency of Amazon Route 53 API requests": five requests per second per account,
  all requests together; HTTP 400 Throttling "Rate exceeded". One bucket of 5, 5/s.
- Elastic Load Balancing (undocumented): AWS publishes no figure. The AWS Load Balancer Controller (AWS's own
  client, kubernetes-sigs/aws-load-balancer-controller pkg/aws/throttle/defaults.go) holds itself to 10 requests/s
  with a burst of 40 for ELBv2 calls, and 4/s, burst 20 for RegisterTargets and DeregisterTargets; those are taken
  as each API's bucket here. Answer: HTTP 400 Throttling "Rate exceeded" (as AWS answers; seen in that project's
  issues). Classic ELB (the same signing name and endpoint, Version 2012-06-01) publishes no figure either: its APIs
  are APIs of their own (a Classic AddTags or DescribeLoadBalancers does not draw on ELBv2's bucket of that name), each
  given ELBv2's figures, RegisterInstancesWithLoadBalancer and DeregisterInstancesFromLoadBalancer those of
  Register/DeregisterTargets (the writes of registrations, as there).
- EC2 Auto Scaling (undocumented): AWS's knowledge center ("autoscaling-api-calls-throttled") says every Auto
  Scaling API call of an account and region shares one bucket; no figure. Chosen here: ELB's 40 tokens, 10/s, for
  that one shared bucket, below EC2's per-API describes as the AWS docs and users report. Answer: HTTP 400 Throttling.
- STS, DynamoDB and everything else: not throttled here (DynamoDB throttles by capacity units, not requests).

A bucket starts full and refills continuously (botocore's own client-side bucket does the same; AWS's page
describes a refill "every second"). A throttled request takes no token and does not reach moto.
"""
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """A bucket's capacity (tokens) and refill rate (tokens per second), and where the figure comes from."""
    capacity: float
    refill: float
    source: str


EC2_DOC = "EC2 API throttling, request token buckets"
CW_DOC = "CloudWatch service quotas"
EC2_NON_MUTATING = Limit(100, 20, EC2_DOC + ": non-mutating actions")
EC2_UNFILTERED = Limit(50, 10, EC2_DOC + ": unfiltered and unpaginated non-mutating actions")
EC2_MUTATING = Limit(50, 5, EC2_DOC + ": mutating actions")
EC2_UNFILTERED_ACTIONS = {"DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces", "DescribeSecurityGroups",
                          "DescribeSnapshots", "DescribeSpotInstanceRequests", "DescribeVolumes"}
EC2_OWN = {
    "CreateLaunchTemplateVersion": Limit(100, 5, EC2_DOC + ": uncategorized, CreateLaunchTemplateVersion"),
    "ModifyLaunchTemplate": Limit(100, 5, EC2_DOC + ": uncategorized, ModifyLaunchTemplate"),
    "CreateTags": Limit(100, 10, EC2_DOC + ": uncategorized, CreateTags"),
    "DeleteTags": Limit(100, 10, EC2_DOC + ": uncategorized, DeleteTags"),
}
CLOUDWATCH = {action: Limit(rate, rate, f"{CW_DOC}: {action} {rate}/s") for action, rate in {
    "DescribeAlarms": 9, "DescribeAlarmsForMetric": 9, "DescribeAlarmHistory": 20, "GetMetricData": 500,
    "GetMetricStatistics": 400, "ListMetrics": 25, "PutMetricAlarm": 3, "SetAlarmState": 3, "DeleteAlarms": 3,
    "PutMetricData": 500}.items()}
ELB_ANY = Limit(40, 10, "undocumented: the AWS Load Balancer Controller's client-side ELBv2 limit (10/s, burst 40)")
ELB_TARGETS = Limit(20, 4, "undocumented: the AWS Load Balancer Controller's Register/DeregisterTargets limit (4/s, burst 20)")
ELB_CLASSIC_ANY = Limit(40, 10, "undocumented: Classic ELB publishes no figure; ELBv2's (10/s, burst 40) taken")
ELB_CLASSIC_INSTANCES = Limit(20, 4, "undocumented: Classic ELB publishes no figure; ELBv2's Register/DeregisterTargets "
                                     "(4/s, burst 20) taken for Register/DeregisterInstances")
CLASSIC_ELB_VERSION = "2012-06-01"
AUTOSCALING_SHARED = Limit(40, 10, "undocumented: one bucket for every Auto Scaling API (AWS knowledge center); 40, 10/s chosen")
ROUTE53_SHARED = Limit(5, 5, "Route 53 quotas: five requests per second per account, all requests")

# How each service answers an empty bucket: (HTTP status, error code, message).
ANSWERS = {"ec2": (503, "RequestLimitExceeded", "Request limit exceeded.")}
DEFAULT_ANSWER = (400, "Throttling", "Rate exceeded")


def _filtered_or_paginated(params):
    """Whether an EC2 describe names a filter, ids, or pagination (then it draws on the larger bucket). AWS says
    "without specifying either pagination or a filter"; an id list narrows the answer as a filter does."""
    heads = {k.split(".")[0] for k in params}
    return any(h.startswith(("Filter", "MaxResults", "NextToken")) or h.endswith(("Id", "Name")) for h in heads)


def limit_for(service, action, params):
    """The bucket a request draws on: (bucket name, Limit), or None when AWS is not modelled as throttling it.
    Bucket names are per API unless the service shares one bucket (Auto Scaling, Route 53); a Classic ELB API's name
    ends in " (Classic)" (the `Version` in `params` tells it from the ELBv2 API of the same action name)."""
    if service == "ec2":
        if action in EC2_OWN:
            return action, EC2_OWN[action]
        if action in EC2_UNFILTERED_ACTIONS and not _filtered_or_paginated(params):
            return action + " (unfiltered)", EC2_UNFILTERED
        if action.startswith(("Describe", "List", "Search", "Get")):
            return action, EC2_NON_MUTATING
        return action, EC2_MUTATING
    if service == "monitoring":
        return (action, CLOUDWATCH[action]) if action in CLOUDWATCH else None
    if service == "elasticloadbalancing" and params.get("Version") == CLASSIC_ELB_VERSION:
        instances = action in ("RegisterInstancesWithLoadBalancer", "DeregisterInstancesFromLoadBalancer")
        return f"{action} (Classic)", ELB_CLASSIC_INSTANCES if instances else ELB_CLASSIC_ANY
    if service == "elasticloadbalancing":
        return action, ELB_TARGETS if action in ("RegisterTargets", "DeregisterTargets") else ELB_ANY
    if service == "autoscaling":
        return "all Auto Scaling APIs", AUTOSCALING_SHARED
    if service == "route53":
        return "all Route 53 APIs", ROUTE53_SHARED
    return None


UNDOCUMENTED = (ELB_ANY, ELB_TARGETS, ELB_CLASSIC_ANY, ELB_CLASSIC_INSTANCES, AUTOSCALING_SHARED)


def scaled(limits, factor):
    """`limits` with the figures AWS does not publish (ELB's, Classic ELB's, Auto Scaling's) multiplied by `factor`."""
    if factor == 1:
        return limits

    def scaled_limits(service, action, params):
        found = limits(service, action, params)
        if found is None or found[1] not in UNDOCUMENTED:
            return found
        limit = found[1]
        return found[0], Limit(limit.capacity * factor, limit.refill * factor, f"{limit.source}, ×{factor:g}")
    return scaled_limits


def answer_for(service):
    """(status, code, message) of AWS's answer to a throttled request of this service."""
    return ANSWERS.get(service, DEFAULT_ANSWER)


class TokenBucket:
    def __init__(self, limit, now):
        self.limit, self.tokens, self.stamp = limit, float(limit.capacity), now

    def take(self, now):
        """Takes one token if there is one (after refilling for the time since the last look)."""
        self.tokens = min(self.limit.capacity, self.tokens + (now - self.stamp) * self.limit.refill)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Throttle:
    """Buckets keyed by (account, region, service, bucket name), created full on first use. `limits` is a function
    like `limit_for`; `clock` gives seconds (monotonic), injectable for tests."""

    def __init__(self, limits=limit_for, clock=time.monotonic):
        self.limits, self.clock = limits, clock
        self.buckets = {}
        self.lock = threading.Lock()

    def admit(self, account, region, service, action, params):
        """True when the request may go on (it took a token, or nothing limits it)."""
        found = self.limits(service, action, params)
        if found is None:
            return True
        name, limit = found
        key = (account, region, service, name)
        with self.lock:
            now = self.clock()
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(limit, now)
            return bucket.take(now)

    def table(self):
        """The buckets in use: {(account, region, service, name): Limit}."""
        with self.lock:
            return {key: bucket.limit for key, bucket in self.buckets.items()}
