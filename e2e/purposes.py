"""Names each AWS request of one release by its purpose, from the request itself (action and parameters) and what
came before it (the release's phase: planning, the listener claim, the launch, the health gate, step k, promotion,
rollback), never from its position. A request no rule knows is "unnamed": a new request is a decision to name, not
an accident.

    names = name_requests(requests, world)   # requests: proxy Request records of one release, in arrival order
    names[i].purpose                         # e.g. "plan: blue's target health", "step 2: weight write (blue 50 / green 50)"
    names[i].repeat                          # the same request, same parameters, already made for the same purpose

Classic ELB and ELBv2 share the signing name `elasticloadbalancing`; the request's Version (2012-06-01: Classic) says
whose rules name it, so a Classic AddTags or DescribeLoadBalancers is never read as ELBv2's action of that name.
"""
import urllib.parse
from dataclasses import dataclass

UNNAMED = "unnamed"

# Reads of blue's group that a release copies to green: action -> what it reads.
GROUP_SETTINGS = {"DescribeLifecycleHooks": "lifecycle hooks", "DescribePolicies": "scaling policies",
                  "DescribeNotificationConfigurations": "notification configurations",
                  "DescribeScheduledActions": "scheduled actions", "DescribeWarmPool": "warm pool",
                  "DescribeTags": "tags", "DescribeLoadBalancerTargetGroups": "target groups",
                  "DescribeTrafficSources": "traffic sources", "DescribeMetricCollectionTypes": "metric collection"}
# What each kind of check reads at a tick.
CHECK_READS = {"DescribeAlarms": "alarms", "DescribeTargetHealth": "green's target health",
               "DescribeInstanceHealth": "instance health on the Classic Load Balancer",
               "DescribeAutoScalingGroups": "green's group instances", "GetMetricData": "metrics"}
CLASSIC_ELB_VERSION = "2012-06-01"


@dataclass
class Named:
    purpose: str
    repeat: bool = False


def form_of(request):
    """Every form parameter of a request, Action and Version included (the Version tells Classic ELB from ELBv2)."""
    return {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode("utf-8", "replace")).items()}


def params_of(request):
    return {k: v for k, v in form_of(request).items() if k not in ("Action", "Version")}


def is_classic_elb(request):
    """Whether a request is Classic ELB's (signing name elasticloadbalancing, Version 2012-06-01)."""
    return request.service == "elasticloadbalancing" and form_of(request).get("Version") == CLASSIC_ELB_VERSION


def weights_of(params, world):
    """(blue, green) weights of a ModifyListener's forward, or None."""
    arns = {v: k.rsplit(".", 1)[0] for k, v in params.items() if k.endswith(".TargetGroupArn")}
    weight = {arn: int(params.get(prefix + ".Weight", "0")) for arn, prefix in arns.items()}
    blue, green = world["target_group_arns"]
    if blue not in weight and green not in weight:
        return None
    return weight.get(blue, 0), weight.get(green, 0)


class _Release:
    """What the requests so far say about where the release is."""

    def __init__(self, world):
        self.world = world
        self.blue_tg, self.green_tg = world.get("target_group_arns") or (None, None)
        self.clb = world.get("clb_name")
        self.blue_group = world["blue_asg"]
        self.phase = "plan"     # plan, claim, launch, health, step, done, rollback
        self.writes = 0         # weight writes so far
        self.tick, self.tick_reads = 0, set()
        self.claimed = False
        self.created = False

    def is_green_group(self, name):
        service = self.world["service"]
        return name != self.blue_group and name.startswith((f"switchyard-{service}-", f"{service}-green"))

    def upcoming(self):
        return f"step {self.writes + 1}"

    def check(self, what):
        """A check read: which tick of which phase it belongs to (a read kind seen again starts a new tick)."""
        if what in self.tick_reads or not self.tick_reads:
            self.tick, self.tick_reads = self.tick + 1, set()
        self.tick_reads.add(what)
        where = "health gate" if self.writes == 0 else f"step {self.writes}"
        return f"{where} check {self.tick}: {CHECK_READS[what]}"


def _elb(r, action, p):
    w = r.world
    if action == "DescribeTargetGroups" and r.phase == "plan":
        return "plan: the two target groups (VPC, load balancer)"
    if action == "DescribeListeners" and "LoadBalancerArn" in p and r.phase == "plan":
        return "plan: the load balancer's listeners (other forwards to the pair)"
    if action == "DescribeRules" and r.phase == "plan":
        return "plan: the listener's rules (other forwards to the pair)"
    if action == "DescribeListeners" and p.get("ListenerArns.member.1") == w["listener_arn"]:
        if r.phase == "plan":
            return "plan: the listener's forward"
        if r.phase == "rollback":
            return "rollback: read back at 100 % blue"
        if r.phase == "done":
            return "promotion: the listener at 100 % green"
        return f"{r.upcoming()}: the weights before the write"
    if action == "ModifyListener" and p.get("ListenerArn") == w["listener_arn"]:
        weights = weights_of(p, w)
        if weights is None:
            return None
        if weights[1] == 0 and r.writes > 0:
            r.phase = "rollback"
            return f"rollback: weight write (blue {weights[0]} / green 0)"
        r.writes, r.phase, r.tick, r.tick_reads = r.writes + 1, "step", 0, set()
        return f"step {r.writes}: weight write (blue {weights[0]} / green {weights[1]})"
    if action == "DescribeTargetHealth":
        arn = p.get("TargetGroupArn")
        if arn == r.blue_tg and r.phase == "plan":
            return "plan: blue's target health (which instances serve)"
        if arn == r.green_tg and not r.created:
            return "plan: green's target group (which instances it holds)"
        if arn == r.green_tg and r.phase in ("health", "step"):
            return r.check("DescribeTargetHealth")
        return None
    if action == "DescribeTags" and p.get("ResourceArns.member.1") == w["listener_arn"]:
        if r.phase == "plan" or (r.phase == "claim" and not r.claimed):
            r.phase = "claim"
            return "claim: who holds the listener (its tag)"
        if r.phase == "claim":
            return "claim: the claim reads back, no rival beside it"
        return f"{r.upcoming()}: the listener is still ours (its tag)"
    if action == "AddTags" and p.get("ResourceArns.member.1") == w["listener_arn"]:
        r.phase, r.claimed = "claim", True
        return "claim: tag the listener"
    if action == "RemoveTags" and p.get("ResourceArns.member.1") == w["listener_arn"]:
        if r.phase == "claim":
            return "claim: take off the claims it replaced (finished or force-unlocked)"
        return "release: take this deployment's own claim tag off"
    return None


def _clb(r, action, p):
    """Classic ELB requests (traffic.shared with a Classic Load Balancer): reads of the world's load balancer, its
    instance health (blue's in the plan, at each check tick after), and its claim tag, as the listener's for ELBv2."""
    names = {v for k, v in p.items() if k.startswith("LoadBalancerNames.member.")} | {p.get("LoadBalancerName")}
    if r.clb is None or r.clb not in names:
        return None
    if action == "DescribeLoadBalancers" and r.phase in ("plan", "claim"):
        return "plan: the Classic Load Balancer (its instances, subnets, listeners)"
    if action == "DescribeLoadBalancerAttributes" and r.phase in ("plan", "claim"):
        return "plan: the Classic Load Balancer's connection draining"
    if action == "DescribeInstanceHealth":
        if r.phase in ("plan", "claim"):
            return "plan: blue's instance health on the Classic Load Balancer (which instances serve)"
        if r.phase in ("launch", "health", "step"):
            return r.check("DescribeInstanceHealth")
        return None
    if action == "DescribeTags":
        if r.phase == "plan" or (r.phase == "claim" and not r.claimed):
            r.phase = "claim"
            return "claim: who holds the Classic Load Balancer (its tag)"
        if r.phase == "claim":
            return "claim: the claim reads back, no rival beside it"
        return f"{r.upcoming()}: the Classic Load Balancer is still ours (its tag)"
    if action == "AddTags":
        r.phase, r.claimed = "claim", True
        return "claim: tag the Classic Load Balancer"
    if action == "RemoveTags":
        if r.phase == "claim":
            return "claim: take off the claims it replaced (finished or force-unlocked)"
        return "release: take this deployment's own claim tag off"
    return None


def _autoscaling(r, action, p):
    group = p.get("AutoScalingGroupName") or p.get("AutoScalingGroupNames.member.1") or ""
    if action == "DescribeAutoScalingInstances" and r.phase == "plan":
        return "plan: the groups of the instances in the target groups"
    if r.phase == "rollback":
        return _rolling_back(r, action, p, group)
    if action == "DescribeAutoScalingGroups":
        if group == r.blue_group and r.phase in ("plan", "claim"):
            return "plan: blue's group"
        if group == r.blue_group and r.phase == "step":
            return "rollback: blue's instances (can it take the traffic back)"
        if r.is_green_group(group) and not r.created:
            return "launch: is green's group there already"
        if r.is_green_group(group) and r.phase == "launch":
            return "capacity wait: green's instances InService"
        if r.is_green_group(group) and r.phase in ("health", "step"):
            return r.check("DescribeAutoScalingGroups")
        return None
    if action in GROUP_SETTINGS and group == r.blue_group and r.phase in ("plan", "claim"):
        return f"plan: blue's {GROUP_SETTINGS[action]} (copied to green)"
    if action == "UpdateAutoScalingGroup" and group == r.blue_group and "LaunchTemplate.Version" in p:
        return "launch: pin blue's launch template version"
    if action == "CreateAutoScalingGroup" and r.is_green_group(group):
        r.phase, r.created = "launch", True
        return "launch: create green's group"
    if action == "UpdateAutoScalingGroup" and r.is_green_group(group) and r.phase == "done":
        return "promotion: green's own sizes"
    if action == "CreateOrUpdateTags" and p.get("Tags.member.1.ResourceId") == r.blue_group:
        key = p.get("Tags.member.1.Key", "")
        if key == "switchyard:retain-until" and r.writes > 0:
            r.phase = "done"
            return "promotion: blue's retention deadline (tag)"
    return None


def _rolling_back(r, action, p, group):
    green = r.is_green_group(group)
    if action == "DescribeAutoScalingGroups":
        return "rollback: is green's group gone" if green else None
    if action == "DescribePolicies" and green:
        return "rollback: green's scaling policies (their alarms are deleted with it)"
    if action == "UpdateAutoScalingGroup" and green and p.get("DesiredCapacity") == "0":
        return "rollback: scale green to 0"
    if action == "DeleteAutoScalingGroup" and green:
        return "rollback: delete green's group"
    if action == "UpdateAutoScalingGroup" and group == r.blue_group:
        return "rollback: restore blue's sizes and launch template version"
    return None


def _ec2(r, action, p):
    if action == "DescribeLaunchTemplateVersions" and r.phase in ("plan", "claim"):
        return "plan: blue's launch template version"
    if action == "DescribeImages" and r.phase in ("plan", "claim"):
        return "plan: blue's and the new AMI (architecture, existence)"
    if action == "DeleteLaunchTemplateVersions" and r.phase == "rollback":
        return "rollback: delete green's launch template version"
    if action == "CreateLaunchTemplateVersion" and p.get("LaunchTemplateData.ImageId") == r.world["new_ami"]:
        r.phase = "launch"
        return "launch: green's launch template version (the new AMI)"
    return None


def _cloudwatch(r, action, p):
    if action == "DescribeAlarms":
        if r.phase in ("plan", "claim"):
            return "plan: the alarms exist"
        if r.phase in ("launch", "health", "step"):
            if r.phase == "launch":
                r.phase = "health"
            return r.check("DescribeAlarms")
    return None


SERVICES = {"elasticloadbalancing": _elb, "autoscaling": _autoscaling, "ec2": _ec2, "monitoring": _cloudwatch}


def _after_launch(r, request, p):
    """The health gate begins with the first read of green's targets after its group reports capacity."""
    if r.phase == "launch" and request.action == "DescribeTargetHealth" and p.get("TargetGroupArn") == r.green_tg:
        r.phase = "health"


def name_requests(requests, world):
    """One Named per request, in order."""
    release, named, seen = _Release(world), [], set()
    for request in requests:
        p = params_of(request)
        _after_launch(release, request, p)
        rule = _clb if is_classic_elb(request) else SERVICES.get(request.service)
        purpose = (rule(release, request.action, p) if rule else None) or UNNAMED
        key = (purpose, request.action, tuple(sorted(p.items())))
        named.append(Named(purpose, repeat=purpose != UNNAMED and key in seen))
        seen.add(key)
    return named
