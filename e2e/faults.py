"""The ways AWS and networks misbehave that moto never does, as the checking proxy (proxy.py) plays them.

Each class holds one switch's state and decides, for a request the proxy received, what becomes of it; the proxy
calls them under its lock. The behaviours follow AWS's documentation, cited at each class, so a test that passes
against them passes for the reason it claims. Every one is first proven with boto3 alone (test_proxy_faults.py).
"""
import datetime
import email.utils
import socket
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

# The actions whose answers go stale after a write, by kind: a write of the kind makes every read of the kind answer
# what it answered just before the write, for the stale window (EC2 devguide, "eventual consistency": a Describe right
# after a change may not show it; tags included). Keys are (signing name, action). Tags are stale per resource (see
# StaleReads), whatever the read asks.
STALE_KINDS = {
    "listener": {"writes": {("elasticloadbalancing", "ModifyListener")},
                 "reads": {("elasticloadbalancing", "DescribeListeners"), ("elasticloadbalancing", "DescribeRules")}},
    "rules": {"writes": {("elasticloadbalancing", a) for a in ("CreateRule", "ModifyRule", "DeleteRule", "SetRulePriorities")},
              "reads": {("elasticloadbalancing", "DescribeRules")}},
    "groups": {"writes": {("autoscaling", a) for a in (
                   "CreateAutoScalingGroup", "UpdateAutoScalingGroup", "DeleteAutoScalingGroup", "SetDesiredCapacity",
                   "AttachLoadBalancerTargetGroups", "DetachLoadBalancerTargetGroups", "AttachLoadBalancers",
                   "DetachLoadBalancers", "SuspendProcesses", "ResumeProcesses")},
               "reads": {("autoscaling", "DescribeAutoScalingGroups"), ("autoscaling", "DescribeAutoScalingInstances")}},
    "tags": {"writes": {("elasticloadbalancing", "AddTags"), ("elasticloadbalancing", "RemoveTags"),
                        ("autoscaling", "CreateOrUpdateTags"), ("autoscaling", "DeleteTags")},
             "reads": set()},
    "listener-tags": {"writes": {("elasticloadbalancing", "AddTags"), ("elasticloadbalancing", "RemoveTags")}, "reads": set()},
    "group-tags": {"writes": {("autoscaling", "CreateOrUpdateTags"), ("autoscaling", "DeleteTags")}, "reads": set()},
}
TAG_KINDS = ("tags", "listener-tags", "group-tags")
ELB_NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
CLB_NS = "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/"  # Classic ELB: the same signing name, Version 2012-06-01
CLASSIC_VERSION = "2012-06-01"
ASG_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
_xml_lock = threading.Lock()  # ElementTree's default-namespace registration is global


def _parse(data):
    return ET.fromstring(data)


def _serialize(root, namespace):
    with _xml_lock:
        ET.register_namespace("", namespace)
        return ET.tostring(root, encoding="utf-8")


def _local(element):
    return element.tag.rsplit("}", 1)[-1]


def _child(element, name):
    return next((c for c in element if _local(c) == name), None)


def _text(element, name):
    child = _child(element, name)
    return child.text if child is not None else None


class StaleReads:
    """Reads that answer the state from before the last write, for `seconds` after it.

    Listener, rules and groups: the proxy remembers every read of a stale kind it forwarded (its exact request, kept
    while the switch is off too). Just before it forwards a write of that kind, it sends those reads to moto again
    (moto checks no signature or date) and keeps the answers: the state before the write. Until `seconds` after the
    write was answered, a read with the same request gets that answer, not moto's; a read never seen before gets
    moto's (there is no earlier answer to give). A second write inside the window takes a new snapshot (which shows
    the first write): a read sees the state from before the last write, as AWS's eventually consistent reads may.

    Tags: per resource, whatever the read. Before a tag write (ELB AddTags/RemoveTags, ELBv2's by ARN or Classic's by
    load balancer name, as the request's Version says; Auto Scaling CreateOrUpdateTags/DeleteTags) the proxy reads the
    resources' tags from moto; until `seconds` after the write, every answer that shows those resources' tags (ELB
    DescribeTags of either API, Auto Scaling DescribeTags and DescribeAutoScalingGroups) shows the tags from before
    the write."""

    def __init__(self):
        self.seconds, self.kinds = 0, ()
        self.seen = {}       # (service, action, body) -> headers of the last such read forwarded (kept while off too)
        self.snapshot = {}   # (service, action, body) -> (status, data, content type) before the last write
        self.until = {}      # kind -> epoch seconds the window ends
        self.tags = {}       # ("elb", arn), ("clb", name) or ("asg", group) -> (window end, [tag dicts] before the last write)
        self.answered = []   # request numbers answered from a snapshot or with tags from before a write
        self.write_lock = threading.Lock()

    def switch(self, seconds, kinds):
        """`seconds` of staleness after each write of these kinds from now on; 0 turns it off."""
        unknown = set(kinds) - set(STALE_KINDS)
        if unknown:
            raise ValueError(f"unknown stale kinds {sorted(unknown)}; the kinds are {sorted(STALE_KINDS)}")
        self.seconds, self.kinds = seconds, tuple(kinds) if seconds > 0 else ()
        self.until.clear()
        self.tags.clear()

    def _kinds_of(self, key, role):
        return [k for k in self.kinds if key in STALE_KINDS[k][role]]

    def is_write(self, record):
        return bool(self._kinds_of((record.service, record.action), "writes"))

    def stale_answer(self, record, now):
        """The snapshot to answer this read with, or None (forward it)."""
        kinds = self._kinds_of((record.service, record.action), "reads")
        if not kinds:
            return None
        key = (record.service, record.action, record.body)
        if any(self.until.get(k, 0) > now for k in kinds) and key in self.snapshot:
            self.answered.append(record.n)
            return self.snapshot[key]
        return None

    def remember(self, record, headers):
        if any((record.service, record.action) in kind["reads"] for kind in STALE_KINDS.values()):
            self.seen[(record.service, record.action, record.body)] = headers

    def before_write(self, record, headers, send):
        """Takes the snapshot: every remembered read of the write's kinds sent to moto again now; for a tag write,
        the tags of the resources it names."""
        kinds = self._kinds_of((record.service, record.action), "writes")
        reads = set().union(*(STALE_KINDS[k]["reads"] for k in kinds))
        for (service, action, body), seen_headers in list(self.seen.items()):
            if (service, action) in reads:
                try:
                    self.snapshot[(service, action, body)] = send("POST", "/", body, seen_headers)
                except OSError:
                    pass
        pending = {}
        if any(k in TAG_KINDS for k in kinds):
            pending = self._tags_now(record, headers, send)
        return kinds, pending

    def after_write(self, written, now):
        kinds, pending = written
        for k in kinds:
            self.until[k] = now + self.seconds
        for resource, tags in pending.items():
            self.tags[resource] = (now + self.seconds, tags)

    def _tags_now(self, record, headers, send):
        form = urllib.parse.parse_qs(record.body.decode("utf-8", "replace"))
        quiet = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        if record.service == "elasticloadbalancing" and form.get("Version", [""])[0] == CLASSIC_VERSION:
            names = [v[0] for k, v in sorted(form.items()) if k.startswith("LoadBalancerNames.member.")]
            body = urllib.parse.urlencode([("Action", "DescribeTags"), ("Version", CLASSIC_VERSION)]
                                          + [(f"LoadBalancerNames.member.{i + 1}", n) for i, n in enumerate(names)]).encode()
            status, data, _ = send("POST", "/", body, quiet)
            found = {}
            for member in (_parse(data).iter(f"{{{CLB_NS}}}member") if status == 200 else []):
                name = _text(member, "LoadBalancerName")
                if name is not None:
                    tags = _child(member, "Tags")
                    found[("clb", name)] = [{"Key": _text(t, "Key"), "Value": _text(t, "Value") or ""} for t in (tags if tags is not None else [])]
            return {("clb", n): found.get(("clb", n), []) for n in names}
        if record.service == "elasticloadbalancing":
            arns = [v[0] for k, v in sorted(form.items()) if k.startswith("ResourceArns.member.")]
            body = urllib.parse.urlencode([("Action", "DescribeTags"), ("Version", "2015-12-01")]
                                          + [(f"ResourceArns.member.{i + 1}", a) for i, a in enumerate(arns)]).encode()
            _, data, _ = send("POST", "/", body, quiet)
            found = {}
            for member in _parse(data).iter(f"{{{ELB_NS}}}member"):
                arn = _text(member, "ResourceArn")
                if arn is not None:
                    tags = _child(member, "Tags")
                    found[("elb", arn)] = [{"Key": _text(t, "Key"), "Value": _text(t, "Value") or ""} for t in (tags if tags is not None else [])]
            return {("elb", a): found.get(("elb", a), []) for a in arns}
        groups = sorted({v[0] for k, v in form.items() if k.startswith("Tags.member.") and k.endswith(".ResourceId")})
        body = urllib.parse.urlencode([("Action", "DescribeAutoScalingGroups"), ("Version", "2011-01-01")]
                                      + [(f"AutoScalingGroupNames.member.{i + 1}", g) for i, g in enumerate(groups)]).encode()
        _, data, _ = send("POST", "/", body, quiet)
        found = {}
        for group in _groups(_parse(data)):
            tags = _child(group, "Tags")
            found[("asg", _text(group, "AutoScalingGroupName"))] = [
                {_local(f): f.text or "" for f in t} for t in (tags if tags is not None else [])]
        return {("asg", g): found.get(("asg", g), []) for g in groups}

    def stale_tags(self, record, status, data, now):
        """The answer with every resource inside a tag window showing its tags from before the write."""
        live = {r: tags for r, (until, tags) in self.tags.items() if until > now}
        if not live or status != 200:
            return data
        classic = urllib.parse.parse_qs(record.body.decode("utf-8", "replace")).get("Version", [""])[0] == CLASSIC_VERSION
        if (record.service, record.action) == ("elasticloadbalancing", "DescribeTags"):
            # Classic answers name each load balancer, v2 each resource's ARN; the owners are the tag members.
            kind, namespace, key = ("clb", CLB_NS, "LoadBalancerName") if classic else ("elb", ELB_NS, "ResourceArn")
            root = _parse(data)
            owners = [(m, _text(m, key)) for m in root.iter(f"{{{namespace}}}member")]
        elif (record.service, record.action) == ("autoscaling", "DescribeAutoScalingGroups"):
            kind, namespace, root = "asg", ASG_NS, _parse(data)
            owners = [(g, _text(g, "AutoScalingGroupName")) for g in _groups(root)]
        else:
            return data
        changed = False
        for owner, name in owners:
            if (kind, name) in live:
                _set_tags(owner, live[(kind, name)], namespace)
                changed = True
        if not changed:
            return data
        self.answered.append(record.n)
        return _serialize(root, namespace)


def _groups(root):
    """The group members of a DescribeAutoScalingGroups answer (not the members nested in them)."""
    result = next((e for e in root.iter() if _local(e) == "AutoScalingGroups"), None)
    return list(result) if result is not None else []


def _set_tags(owner, tags, namespace):
    element = _child(owner, "Tags")
    if element is None:
        element = ET.SubElement(owner, f"{{{namespace}}}Tags")
    for child in list(element):
        element.remove(child)
    for tag in tags:
        member = ET.SubElement(element, f"{{{namespace}}}member")
        for key, value in tag.items():
            ET.SubElement(member, f"{{{namespace}}}{key}").text = value


class HealthyAfterFailure:
    """Health that reads healthy after it failed: for the next `answers` answers about one pool, the named instances
    read healthy whatever moto says. In a target group (DescribeTargetHealth, Version 2015-12-01, by TargetGroupArn)
    each of them is State `healthy` with no Reason and no Description, as AWS answers a healthy target; one moto no
    longer lists (deregistered) is listed so. Behind a Classic Load Balancer (DescribeInstanceHealth, Version
    2012-06-01, by LoadBalancerName) each is State `InService`, ReasonCode and Description `N/A`, as AWS answers an
    instance in service. An answer counts when it shows, or would show, a named instance: asked for every target, or
    for targets that include one of them. Then the answers are moto's again.

    AWS documents why a health read may lag a failure. A target is marked unhealthy only after UnhealthyThresholdCount
    consecutive failed health checks, HealthCheckIntervalSeconds apart (ELBv2 API reference, CreateTargetGroup: 2
    failures 30 s apart by default for an instance target group); a Classic Load Balancer's instance only after
    UnhealthyThreshold of them, Interval apart (ELB API reference 2012-06-01, HealthCheck; ConfigureHealthCheck); in
    between, DescribeTargetHealth and DescribeInstanceHealth still answer healthy and InService. And the reads are
    eventually consistent (EC2 devguide, "eventual consistency", which the ELB APIs share): an instance stopped,
    terminated or deregistered a moment ago may still read as it was. One such answer is what a two-look rule is for;
    `answers` > 1 plays staleness beyond it."""

    def __init__(self, pool, instances, answers):
        self.pool = pool                  # ("tg", target group ARN) or ("clb", load balancer name)
        self.instances = tuple(instances)
        self.left = answers
        self.answered = []   # request numbers of the answers the fault took (at most `answers`)
        self.rewritten = []  # those among them that moto had not answered healthy for every named instance

    def concerns(self, record):
        """The named instances this request's answer shows (empty: not an answer of this pool, or not asked)."""
        form = urllib.parse.parse_qs(record.body.decode("utf-8", "replace"))
        first = lambda key: form.get(key, [""])[0]
        classic = first("Version") == CLASSIC_VERSION
        kind, name = self.pool
        if kind == "tg" and (record.action, classic, first("TargetGroupArn")) != ("DescribeTargetHealth", False, name):
            return ()
        if kind == "clb" and (record.action, classic, first("LoadBalancerName")) != ("DescribeInstanceHealth", True, name):
            return ()
        suffix = ".Id" if kind == "tg" else ".InstanceId"
        prefix = "Targets.member." if kind == "tg" else "Instances.member."
        asked = {v[0] for k, v in form.items() if k.startswith(prefix) and k.endswith(suffix)}
        return tuple(i for i in self.instances if not asked or i in asked)

    def answer(self, record, status, data):
        """The answer with the named instances healthy, while answers are left; else moto's."""
        if self.left <= 0 or status != 200:
            return data
        shown = self.concerns(record)
        if not shown:
            return data
        self.left -= 1
        self.answered.append(record.n)
        kind, _ = self.pool
        root = _parse(data)
        namespace = ELB_NS if kind == "tg" else CLB_NS
        listed = next((e for e in root.iter() if _local(e) in ("TargetHealthDescriptions", "InstanceStates")), None)
        if listed is None:
            listed = ET.SubElement(next(e for e in root.iter() if _local(e).endswith("Result")),
                                   f"{{{namespace}}}{'TargetHealthDescriptions' if kind == 'tg' else 'InstanceStates'}")
        changed = False
        for instance in shown:
            changed |= (_healthy_target if kind == "tg" else _in_service)(listed, instance, namespace)
        if changed:
            self.rewritten.append(record.n)
        return _serialize(root, namespace)


def _healthy_target(listed, instance, ns):
    """Makes `instance` a healthy target in a TargetHealthDescriptions element; True when that changed it."""
    targets = [(m, _child(m, "Target")) for m in listed]
    member = next((m for m, t in targets if t is not None and _text(t, "Id") == instance), None)
    if member is None:
        ports = [_text(t, "Port") for _, t in targets if t is not None]
        member = ET.SubElement(listed, f"{{{ns}}}member")
        target = ET.SubElement(member, f"{{{ns}}}Target")
        ET.SubElement(target, f"{{{ns}}}Id").text = instance
        ET.SubElement(target, f"{{{ns}}}Port").text = next((p for p in ports if p), "80")
        ET.SubElement(member, f"{{{ns}}}HealthCheckPort").text = "traffic-port"
    health = _child(member, "TargetHealth")
    if health is None:
        health = ET.SubElement(member, f"{{{ns}}}TargetHealth")
    was = _text(health, "State")
    for child in list(health):
        health.remove(child)
    ET.SubElement(health, f"{{{ns}}}State").text = "healthy"
    return was != "healthy"


def _in_service(listed, instance, ns):
    """Makes `instance` InService in an InstanceStates element; True when that changed it."""
    member = next((m for m in listed if _text(m, "InstanceId") == instance), None)
    if member is None:
        member = ET.SubElement(listed, f"{{{ns}}}member")
        ET.SubElement(member, f"{{{ns}}}InstanceId").text = instance
    was = _text(member, "State")
    for child in list(member):
        if _local(child) != "InstanceId":
            member.remove(child)
    for key, value in (("State", "InService"), ("ReasonCode", "N/A"), ("Description", "N/A")):
        ET.SubElement(member, f"{{{ns}}}{key}").text = value
    return was != "InService"


class Busy:
    """Auto Scaling's answers while an activity runs on the group, in the status and words the service model and the
    API reference give (DeleteAutoScalingGroup, UpdateAutoScalingGroup, SetDesiredCapacity, ...)."""
    ANSWERS = {
        "ScalingActivityInProgress": (400, "Sender",
                                      "You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group."),
        "ResourceInUse": (400, "Sender",
                          "Cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group."),
        "ResourceContention": (500, "Sender",
                               "You already have a pending update to an Auto Scaling resource (for example, a group, instance, or load balancer)."),
    }


class RemovalGuard:
    """The invariant "no group that has weight is removed": before a DeleteAutoScalingGroup or a
    DetachLoadBalancerTargetGroups reaches moto, moto itself (not the stale view the proxy may be serving) is read with
    boto3: the group's target groups (those it stands in now, and those an earlier detach through this proxy took it
    out of), their load balancers' listeners and rules. A forward that gives one of them weight > 0 is a violation,
    which fails the test at teardown as a request AWS would refuse does. The request is forwarded either way.

    Behind a Classic Load Balancer (traffic.shared.load_balancer_name) there is no weight: the load balancer sends to
    every instance InService on it, so a group's share is its instances there, and what takes traffic away is a
    removal of InService instances. The same invariant in those words, "no removal leaves the load balancer's traffic
    with nowhere to go": before a DetachLoadBalancers, DeleteAutoScalingGroup, UpdateAutoScalingGroup or
    SetDesiredCapacity to a lower desired capacity (an UpdateAutoScalingGroup's MaxSize below it lowers it too, as
    AWS documents), DeregisterInstancesFromLoadBalancer or TerminateInstanceInAutoScalingGroup reaches moto, moto is
    read (the group; each Classic Load Balancer it is attached to now, or was detached from through this proxy, or the
    one named; DescribeInstanceHealth there). A request that takes InService instances from a load balancer which then
    has no InService instance left (none of another group, none the request does not name) is a violation. A scale-in
    counts as taking as many of the group's InService instances as it removes (Auto Scaling picks which, so the guard
    assumes the worst). Recorded in `classic_checked`; forwarded either way, as above."""
    TARGET_GROUP_ACTIONS = ("DeleteAutoScalingGroup", "DetachLoadBalancerTargetGroups")
    # Instance by instance (traffic.shared.target_group): what takes some of a group's targets, not the group.
    TARGET_ACTIONS = ("UpdateAutoScalingGroup", "SetDesiredCapacity", "DeregisterTargets", "TerminateInstanceInAutoScalingGroup")
    CLASSIC_ACTIONS = ("DetachLoadBalancers", "DeleteAutoScalingGroup", "UpdateAutoScalingGroup", "SetDesiredCapacity",
                       "DeregisterInstancesFromLoadBalancer", "TerminateInstanceInAutoScalingGroup")
    ACTIONS = tuple(dict.fromkeys(TARGET_GROUP_ACTIONS + TARGET_ACTIONS + CLASSIC_ACTIONS))

    def __init__(self, upstream):
        import boto3  # the proxy's other switches need no AWS SDK; this one reads moto as a client would
        kw = dict(endpoint_url=upstream, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.asg, self.elb = boto3.client("autoscaling", **kw), boto3.client("elbv2", **kw)
        self.clb, self.ec2 = boto3.client("elb", **kw), boto3.client("ec2", **kw)
        self.detached = {}  # group -> target groups a detach through the proxy named
        self.detached_classic = {}  # group -> Classic Load Balancers a DetachLoadBalancers through the proxy named
        self.checked = []   # (action, group, {target group: weight}) for every removal seen
        self.targets_checked = []  # (action, group or instance, {target group with weight: (healthy, taken, left)})
        self.classic_checked = []  # (action, group or instance, {load balancer: (InService, taken, left)})

    def problem(self, record):
        """Why this removal breaks the invariant, or None (records what it checked)."""
        form = _form(record)
        problems = []
        if record.action in self.TARGET_GROUP_ACTIONS:
            problems.append(self.target_group_problem(record, form))
        if record.action in self.TARGET_ACTIONS:
            problems.append(self.targets_problem(record, form))
        if record.action in self.CLASSIC_ACTIONS:
            problems.append(self.classic_problem(record, form))
        return "; ".join(p for p in problems if p) or None

    def target_group_problem(self, record, form):
        group = form.get("AutoScalingGroupName", [""])[0]
        named = [v[0] for k, v in sorted(form.items()) if k.startswith("TargetGroupARNs.member.")]
        found = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        tgs = set(named) | set(self.detached.get(group, [])) | {t for g in found for t in g.get("TargetGroupARNs", [])}
        if record.action == "DetachLoadBalancerTargetGroups":
            self.detached.setdefault(group, set()).update(named)
        weights = self.weights(tgs)
        self.checked.append((record.action, group, weights))
        carrying = {tg: w for tg, w in weights.items() if w > 0}
        if not carrying:
            return None
        # A target group blue and green share (traffic.shared) has weight whoever stands in it: a group may leave it
        # while a healthy target of another group stays there to take its traffic. Its own target group (every other
        # mode) has no other: with weight, the group may not leave it.
        mine = {i["InstanceId"] for g in found for i in g.get("Instances", [])}
        seen = {tg: self.healthy(tg) for tg in carrying}
        self.targets_checked.append((record.action, group, {tg: (len(h), len(h & mine), len(h - mine)) for tg, h in seen.items()}))
        carrying = {tg: w for tg, w in carrying.items() if not seen[tg] - mine}
        if not carrying:
            return None
        return (f"{record.action} of {group} reached AWS while its target group(s) carry traffic in moto: "
                + ", ".join(f"{tg.rsplit('/', 2)[-2]} weight {w}" for tg, w in sorted(carrying.items())))

    def healthy(self, tg):
        """The targets moto lists healthy in this target group that are running instances: moto never deregisters a
        group's instance it terminates on a scale-in, and lists it healthy still (AWS deregisters it first)."""
        described = self.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        listed = {d["Target"]["Id"] for d in described if d["TargetHealth"]["State"] == "healthy"}
        if not listed:
            return set()
        found = self.ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": sorted(listed)},
                                                     {"Name": "instance-state-name", "Values": ["running"]}])
        return {i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]}

    def targets_problem(self, record, form):
        """A removal of some of a group's targets (a scale-in, a DeregisterTargets, a TerminateInstanceInAutoScaling-
        Group) from a target group with weight: a violation when it leaves that target group with no healthy target
        (a scale-in takes as many of the group's healthy targets as it removes: Auto Scaling picks which)."""
        first = lambda key: form.get(key, [""])[0]
        action = record.action
        if action == "DeregisterTargets":
            tg, named = first("TargetGroupArn"), {v[0] for k, v in form.items() if k.startswith("Targets.member.") and k.endswith(".Id")}
            return self._targets_verdict(action, tg, {tg}, lambda healthy: len(healthy & named))
        if action == "TerminateInstanceInAutoScalingGroup":
            instance = first("InstanceId")
            found = self.asg.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"] if instance else []
            group = found[0]["AutoScalingGroupName"] if found else None
            described = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"] if group else []
            tgs = {t for g in described for t in g.get("TargetGroupARNs", [])} | set(self.detached.get(group, []))
            return self._targets_verdict(action, f"{instance} (of {group})", tgs, lambda healthy: int(instance in healthy))
        if not ({"DesiredCapacity", "MaxSize"} & set(form)):
            return None  # nothing that scales in
        group = first("AutoScalingGroupName")
        found = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"] if group else []
        if not found or not found[0].get("TargetGroupARNs"):
            return None
        described = found[0]
        current = described["DesiredCapacity"]
        desired = int(first("DesiredCapacity")) if "DesiredCapacity" in form else min(current, int(first("MaxSize")))
        removed = current - desired
        if removed <= 0:
            return None
        mine = {i["InstanceId"] for i in described.get("Instances", [])}
        return self._targets_verdict(action, f"{group} from {current} to {desired}", set(described["TargetGroupARNs"]),
                                     lambda healthy: min(removed, len(healthy & mine)))

    def _targets_verdict(self, action, subject, tgs, taken_of):
        carrying = {tg: w for tg, w in self.weights({t for t in tgs if t}).items() if w > 0}
        seen, problems = {}, []
        for tg in sorted(carrying):
            healthy = self.healthy(tg)
            taken = taken_of(healthy)
            seen[tg] = (len(healthy), taken, len(healthy) - taken)
            if taken and len(healthy) - taken <= 0:
                problems.append(f"{tg.rsplit('/', 2)[-2]} (weight {carrying[tg]}) had only {', '.join(sorted(healthy))} healthy, all of them taken")
        if seen:
            self.targets_checked.append((action, subject, seen))
        if not problems:
            return None
        return f"{action} of {subject} reached AWS while it leaves a target group with weight no healthy target in moto: " + "; ".join(problems)

    def weights(self, tgs):
        """The highest weight any listener or rule of their load balancers gives each of these target groups."""
        if not tgs:
            return {}
        out = {tg: 0 for tg in tgs}
        described = self.elb.describe_target_groups(TargetGroupArns=sorted(tgs))["TargetGroups"]
        balancers = {lb for tg in described for lb in tg.get("LoadBalancerArns", [])}
        for lb in sorted(balancers):
            for listener in self.elb.describe_listeners(LoadBalancerArn=lb)["Listeners"]:
                actions = [listener.get("DefaultActions", [])]
                actions += [r.get("Actions", []) for r in self.elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]]
                for action in (a for group in actions for a in group if a.get("Type") == "forward"):
                    shares = action.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": action.get("TargetGroupArn"), "Weight": 1}]
                    for share in shares:
                        if share.get("TargetGroupArn") in out:
                            out[share["TargetGroupArn"]] = max(out[share["TargetGroupArn"]], share.get("Weight", 1))
        return out

    # -- Classic Load Balancers ------------------------------------------------------------------------------------
    def classic_problem(self, record, form):
        """What this request takes from each Classic Load Balancer, read from moto: a violation when one of them
        is left with no InService instance (see the class docstring)."""
        first = lambda key: form.get(key, [""])[0]
        action = record.action
        if action == "DeregisterInstancesFromLoadBalancer":
            named = {v[0] for k, v in form.items() if k.startswith("Instances.member.") and k.endswith(".InstanceId")}
            return self._classic_verdict(action, first("LoadBalancerName"), {first("LoadBalancerName")},
                                         lambda serving: len(serving & named))
        if action == "TerminateInstanceInAutoScalingGroup":
            instance = first("InstanceId")
            found = self.asg.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"] if instance else []
            group = found[0]["AutoScalingGroupName"] if found else None
            balancers = self._classic_of(group) if group else set()
            return self._classic_verdict(action, instance, balancers, lambda serving: int(instance in serving), of=group)
        group = first("AutoScalingGroupName")
        if action in ("UpdateAutoScalingGroup", "SetDesiredCapacity") and not ({"DesiredCapacity", "MaxSize"} & set(form)):
            return None  # nothing that scales in: no read of moto
        found = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"] if group else []
        if not found:
            return None
        described = found[0]
        mine = {i["InstanceId"] for i in described.get("Instances", [])}
        if action == "DetachLoadBalancers":
            named = {v[0] for k, v in form.items() if k.startswith("LoadBalancerNames.member.")}
            self.detached_classic.setdefault(group, set()).update(named)
            return self._classic_verdict(action, group, named, lambda serving: len(serving & mine))
        balancers = self._classic_of(group, described)
        if not balancers:
            return None  # a group behind no Classic Load Balancer: the target-group rule, if any, is the one
        if action == "DeleteAutoScalingGroup":
            return self._classic_verdict(action, group, balancers, lambda serving: len(serving & mine))
        current = described["DesiredCapacity"]
        if "DesiredCapacity" in form:
            desired = int(first("DesiredCapacity"))
        else:  # AWS: a MaxSize below the group's size sets the desired capacity to it
            desired = min(current, int(first("MaxSize")))
        removed = current - desired
        if removed <= 0:
            return None
        return self._classic_verdict(action, group, balancers, lambda serving: min(removed, len(serving & mine)),
                                     scale=(current, desired))

    def _classic_of(self, group, described=None):
        """The Classic Load Balancers a group stands behind now, or was detached from through this proxy."""
        if described is None:
            found = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
            described = found[0] if found else {}
        return set(described.get("LoadBalancerNames", [])) | self.detached_classic.get(group, set())

    def _classic_verdict(self, action, subject, balancers, taken_of, of=None, scale=None):
        """Reads each load balancer's InService instances; taken_of(them) is how many of them the request takes."""
        seen, problems = {}, []
        for name in sorted(b for b in balancers if b):
            try:
                states = self.clb.describe_instance_health(LoadBalancerName=name)["InstanceStates"]
            except self.clb.exceptions.AccessPointNotFoundException:  # LoadBalancerNotFound: gone, it serves nothing
                continue
            serving = {s["InstanceId"] for s in states if s["State"] == "InService"}
            taken = taken_of(serving)
            seen[name] = (len(serving), taken, len(serving) - taken)
            if taken and len(serving) - taken <= 0:
                problems.append(f"{name} served only {', '.join(sorted(serving))}, all of them taken")
        self.classic_checked.append((action, subject, seen))
        if not problems:
            return None
        what = f"{action} of {subject}" + (f" (of {of})" if of else "") + (f" from {scale[0]} to {scale[1]}" if scale else "")
        return (f"{what} reached AWS while it leaves the Classic Load Balancer with no InService instance of another "
                f"group in moto: " + "; ".join(problems))


def _form(record):
    """A query request's parameters, from its body (or, for a GET, its query string)."""
    form = urllib.parse.parse_qs(record.body.decode("utf-8", "replace"))
    if not form:
        form = urllib.parse.parse_qs(urllib.parse.urlsplit(record.path).query)
    return form


INSUFFICIENT_CAPACITY = ("We currently do not have sufficient t3.micro capacity in the Availability Zone you requested "
                         "(us-east-1a). Our system will be working on provisioning additional capacity. You can currently get "
                         "t3.micro capacity by not specifying an Availability Zone in your request or choosing us-east-1b, "
                         "us-east-1c. Launching EC2 instance failed.")


class LaunchFailures:
    """Groups whose launches fail, as Auto Scaling reports it: DescribeAutoScalingGroups lists the group with no
    instances, and DescribeScalingActivities (which moto always answers empty) lists one Failed activity
    (Progress 100, StatusCode Failed, the EC2 reason in StatusMessage) every `every` seconds since the group was
    created, newest first, as the service's own retries produce them."""

    def __init__(self, prefix, message, every):
        self.prefix, self.message, self.every = prefix, message, every
        self.created = {}  # group name -> epoch seconds of its CreateAutoScalingGroup

    def group_created(self, name, at):
        if name.startswith(self.prefix):
            self.created.setdefault(name, at)

    def strip_instances(self, data):
        """A DescribeAutoScalingGroups answer with the failing groups' instances taken out."""
        if not self.created:
            return data
        root = _parse(data)
        for group in _groups(root):
            instances = _child(group, "Instances")
            if _text(group, "AutoScalingGroupName") in self.created and instances is not None:
                for child in list(instances):
                    instances.remove(child)
        return _serialize(root, ASG_NS)

    def activities(self, name, now):
        """The DescribeScalingActivities answer for one group (None: not a failing group)."""
        created = self.created.get(name)
        if created is None:
            return None
        count = min(int((now - created) / self.every) + 1, 100)
        members = []
        for i in reversed(range(count)):
            start = created + i * self.every
            stamp = _iso(start)
            members.append(
                "<member>"
                f"<ActivityId>{uuid.uuid5(uuid.NAMESPACE_URL, f'{name}/{i}')}</ActivityId>"
                f"<AutoScalingGroupName>{name}</AutoScalingGroupName>"
                f"<Description>Launching a new EC2 instance.  Status Reason: {_xml(self.message)}</Description>"
                f"<Cause>At {stamp} an instance was started in response to a difference between desired and actual "
                f"capacity, increasing the capacity from 0 to 2.</Cause>"
                f"<StartTime>{stamp}</StartTime><EndTime>{_iso(start + 0.1)}</EndTime>"
                "<StatusCode>Failed</StatusCode>"
                f"<StatusMessage>{_xml(self.message)}</StatusMessage><Progress>100</Progress>"
                "</member>")
        return (f'<DescribeScalingActivitiesResponse xmlns="{ASG_NS}"><DescribeScalingActivitiesResult>'
                f'<Activities>{"".join(members)}</Activities></DescribeScalingActivitiesResult>'
                '<ResponseMetadata><RequestId>proxy-launch-failures</RequestId></ResponseMetadata>'
                '</DescribeScalingActivitiesResponse>').encode()


class Skew:
    """AWS's clock `seconds` away from this machine's (which is the binary's): a request whose X-Amz-Date is more
    than `window` seconds from AWS's time is refused, not forwarded, in its service's words (SigV4 troubleshooting,
    IAM user guide: "Signature expired: DATE is now earlier than DATE" and "Signature not yet current"; EC2's common
    errors: RequestExpired; DynamoDB, a JSON API: InvalidSignatureException), and every answer's Date header is
    AWS's time, which is what SDKs correct their clock from. `codes` overrides the code per signing name."""
    DEFAULT = {"ec2": ("RequestExpired", 400), "dynamodb": ("InvalidSignatureException", 400)}
    QUERY = ("SignatureDoesNotMatch", 403)  # autoscaling, elasticloadbalancing, monitoring, sts, route53

    def __init__(self, seconds, window=300, codes=None):
        self.seconds, self.window, self.codes = seconds, window, codes or {}
        self.refused = []

    def now(self):
        return time.time() + self.seconds

    def refusal(self, record):
        """(code, status, message) when AWS would refuse this request for its date, else None."""
        if record.amz_date is None:
            return None
        try:
            sent = datetime.datetime.strptime(record.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            return None
        aws = self.now()
        if abs(sent - aws) <= self.window:
            return None
        code, status = self.codes.get(record.service) or self.DEFAULT.get(record.service) or self.QUERY
        minutes = self.window // 60
        if code == "RequestExpired":
            message = "Request has expired."
        elif sent < aws:
            message = (f"Signature expired: {record.amz_date} is now earlier than {_amz(aws - self.window)} "
                       f"({_amz(aws)} - {minutes} min.)")
        else:
            message = (f"Signature not yet current: {record.amz_date} is still later than {_amz(aws + self.window)} "
                       f"({_amz(aws)} + {minutes} min.)")
        self.refused.append(record.n)
        return code, status, message

    def http_date(self):
        return email.utils.formatdate(self.now(), usegmt=True)


def group_name(body):
    return urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("AutoScalingGroupName", [""])[0]


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _amz(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _xml(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")



class Switches:
    """The proxy's switches for the behaviours above (mixed into proxy.Proxy, whose lock, server and state they use)."""

    def stale_reads(self, seconds, kinds=("listener", "rules", "groups", "tags")):
        """Eventually consistent reads (see the module docstring and StaleReads); 0 ends them."""
        with self.lock:
            self.stale.switch(seconds, kinds)

    def healthy_after_failure(self, instances, answers=1, target_group=None, load_balancer=None):
        """The next `answers` health answers of the target group (or Classic Load Balancer) read these instances
        healthy (InService) whatever moto says (see HealthyAfterFailure); returns the fault, whose `answered` and
        `rewritten` list the requests it took and changed."""
        if (target_group is None) == (load_balancer is None):
            raise ValueError("name one pool: target_group= or load_balancer=")
        fault = HealthyAfterFailure(("tg", target_group) if target_group else ("clb", load_balancer), instances, answers)
        with self.lock:
            self.health_faults.append(fault)
        return fault

    def busy(self, action, code="ScalingActivityInProgress", times=1):
        """Answers `action` `times` times as Auto Scaling does while an activity runs on the group."""
        status, kind, message = Busy.ANSWERS[code]
        with self.lock:
            self.faults[action] = {"status": status, "code": code, "message": message, "times": times, "kind": kind}

    def guard_removals(self):
        """Fail the test (at teardown) when a group is deleted or detached while moto gives its target group weight,
        or a removal leaves a Classic Load Balancer with no InService instance (see RemovalGuard). Opt-in: each
        removal costs a few reads of moto."""
        with self.lock:
            self.removal_guard = RemovalGuard(urllib.parse.urlunsplit((self.upstream.scheme, self.upstream.netloc, "", "", "")))

    def launch_failures(self, prefix, message=INSUFFICIENT_CAPACITY, every=0.5):
        """Groups created with this name prefix never launch (see LaunchFailures)."""
        with self.lock:
            self.launches = LaunchFailures(prefix, message, every)

    def skew(self, seconds, window=300, codes=None):
        """AWS's clock `seconds` from this machine's (see Skew); 0 ends it."""
        with self.lock:
            self.skewed = Skew(seconds, window, codes) if seconds else None

    def blackhole(self, action=None, seconds=None, after=None):
        """Requests (all, or of `action`; once an `after` action has reached moto, if given) are read and never
        answered; after `seconds` (if given) their connection is closed without an answer. Not forwarded. `clear()`
        ends it."""
        with self.lock:
            self.blackholed, self.blackhole_seconds, self.blackhole_after = action or "*", seconds, after
            self.blackhole_end = threading.Event()

    def outage(self, seconds, on=None):
        """The endpoint disappears for `seconds` (the listening socket and every open connection closed: new
        connections are refused), then listens again on the same port. With `on`, it starts when a request for that
        action arrives (that request is not forwarded)."""
        if on is not None:
            with self.lock:
                self.outage_on_action = (on, seconds)
            return
        self._go_down(seconds)

    def _go_down(self, seconds):
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            open_now = list(self._open)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._back_up = threading.Timer(seconds, self._come_back)
        self._back_up.daemon = True
        self._back_up.start()

    def _come_back(self):
        if self.closing.is_set():
            return
        self.server = self._listen_again()

    def _health_answer(self, record, status, data):
        """Health that reads healthy after it failed (HealthyAfterFailure): every switched-on fault, in order."""
        if record.action not in ("DescribeTargetHealth", "DescribeInstanceHealth"):
            return data
        with self.lock:
            for fault in self.health_faults:
                data = fault.answer(record, status, data)
        return data

    def _launch_answer(self, record, status, data):
        """Launch failures (LaunchFailures): the answers of moto as Auto Scaling gives them for such groups."""
        launches = self.launches
        if launches is None or status != 200:
            return data
        if record.action == "CreateAutoScalingGroup":
            launches.group_created(group_name(record.body), record.at)
        elif record.action == "DescribeAutoScalingGroups":
            return launches.strip_instances(data)
        elif record.action == "DescribeScalingActivities":
            return launches.activities(group_name(record.body), time.time()) or data
        return data

