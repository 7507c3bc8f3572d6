"""What the e2e data plane reads from moto, with boto3, straight (not through the checking proxy: these are the
harness's reads, not the binary's), in a process of its own so that boto3's CPU never holds the load balancer's
GIL. One JSON command a line on stdin, one JSON answer a line on stdout:
    {"op": "read", "full": false}  ->  {"ok": Snapshot as a dict}
    {"op": "alarm", "name": N, "state": "ALARM", "reason": R}  ->  {"ok": true}
It reads the listener's rules, the world's instances, each target group's registrations,
and (on a full read) each group's health check path and deregistration delay. Four calls a read (seven on a full
one); boto3 spends about 5 ms of CPU on each, so the data plane reads when told to and only every few seconds else.

In a Classic world (config "classic": the Classic Load Balancer's name, traffic.shared.load_balancer_name) the load
balancer is that Classic one and nothing else routes: a read is the world's instances and the load balancer's
registrations (DescribeInstanceHealth, which lists the registered instances), two calls; the first and every full read
add its connection-draining timeout (DescribeLoadBalancerAttributes: 0 when draining is off) and its health check's
path (DescribeLoadBalancers), four. No listener is read (`rules` stays empty); the load balancer is keyed by its name
where a target group is keyed by its ARN."""
import json
import sys
import time
from dataclasses import asdict, dataclass, field

import boto3


@dataclass
class Snapshot:
    at: float                                           # when the rules were read (a change is never older)
    rules: list                                         # [(priority, conditions, actions)], evaluation order
    instances: dict = field(default_factory=dict)       # id -> (ami, state name, Auto Scaling group or "")
    registered: dict = field(default_factory=dict)      # target group arn -> set of instance ids
    delays: dict = field(default_factory=dict)          # target group arn -> deregistration delay (s)
    health_paths: dict = field(default_factory=dict)    # target group arn -> health check path
    names: dict = field(default_factory=dict)           # target group arn -> name


def rule_order(rule):
    return (1, 0) if rule.get("IsDefault") or rule["Priority"] == "default" else (0, int(rule["Priority"]))


class MotoReader:
    def __init__(self, endpoint, region, listener_arn, target_groups, vpc_id, classic=None):
        kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.elb = boto3.client("elbv2", **kw)
        self.clb = boto3.client("elb", **kw) if classic else None
        self.ec2 = boto3.client("ec2", **kw)
        self.listener, self.target_groups, self.vpc, self.classic = listener_arn, list(target_groups), vpc_id, classic
        self.settings = {}      # target group arn (a Classic Load Balancer's name) -> (name, health check path, delay)
        self.last_registered = None   # the registrations of the last read (`consistent`)

    def read(self, full=False):
        """Reads moto; `full` re-reads the groups' settings too (a group seen for the first time is always read)."""
        if self.classic:
            return self.read_classic(full)
        rules = sorted(self.elb.describe_rules(ListenerArn=self.listener)["Rules"], key=rule_order)
        snap = Snapshot(at=time.time(), rules=[(r["Priority"], r.get("Conditions", []), r.get("Actions", [])) for r in rules])
        groups = set(self.target_groups) | {arn for _, _, actions in snap.rules for arn in forwarded(actions)}
        self.read_instances(snap)
        unknown = sorted(groups if full else groups - set(self.settings))
        if unknown:
            for tg in self.elb.describe_target_groups(TargetGroupArns=unknown)["TargetGroups"]:
                arn = tg["TargetGroupArn"]
                attributes = self.elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
                delay = next((a["Value"] for a in attributes if a["Key"] == "deregistration_delay.timeout_seconds"), "300")
                self.settings[arn] = (tg["TargetGroupName"], tg.get("HealthCheckPath", "/"), float(delay))
        for arn in groups:
            health = self.elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            snap.registered[arn] = {d["Target"]["Id"] for d in health}
            snap.names[arn], snap.health_paths[arn], snap.delays[arn] = self.settings[arn]
        return self.consistent(snap)

    def consistent(self, snap):
        """The instances are read before the registrations; when the registrations changed since the last read, the
        instances are read again. Auto Scaling (moto, scripts/moto-server.py) terminates an instance before it
        deregisters it: without the second read a scale-in landing between the two reads would show a running
        instance deregistered (a drain), then terminated while draining (an early termination nobody made)."""
        if snap.registered != self.last_registered:
            self.last_registered = {k: set(v) for k, v in snap.registered.items()}
            snap.instances.clear()
            self.read_instances(snap)
        return snap

    def read_classic(self, full):
        """The Classic world: the instances, then the load balancer's registrations (and its settings when `full`)."""
        name = self.classic
        snap = Snapshot(at=time.time(), rules=[])
        self.read_instances(snap)
        if full or name not in self.settings:
            attributes = self.clb.describe_load_balancer_attributes(LoadBalancerName=name)["LoadBalancerAttributes"]
            draining = attributes.get("ConnectionDraining", {})
            delay = float(draining.get("Timeout", 300)) if draining.get("Enabled") else 0.0
            check = self.clb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]["HealthCheck"]
            # Target is PROTOCOL:PORT/PATH for HTTP(S) checks, TCP:PORT / SSL:PORT for the others (any answer passes).
            path = "/" + check["Target"].split("/", 1)[1] if "/" in check["Target"] else "/"
            self.settings[name] = (name, path, delay)
        states = self.clb.describe_instance_health(LoadBalancerName=name)["InstanceStates"]
        snap.registered[name] = {s["InstanceId"] for s in states}
        snap.names[name], snap.health_paths[name], snap.delays[name] = self.settings[name]
        return self.consistent(snap)

    def read_instances(self, snap):
        pages = self.ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])
        for page in pages:
            for reservation in page["Reservations"]:
                for i in reservation["Instances"]:
                    group = next((t["Value"] for t in i.get("Tags", []) if t["Key"] == "aws:autoscaling:groupName"), "")
                    snap.instances[i["InstanceId"]] = (i["ImageId"], i["State"]["Name"], group)


def forwarded(actions):
    """The target groups a rule's actions forward to, with their weights: {arn: weight}."""
    out = {}
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = action.get("ForwardConfig", {}).get("TargetGroups")
        if groups:
            for g in groups:
                out[g["TargetGroupArn"]] = g.get("Weight", 1)
        elif action.get("TargetGroupArn"):
            out[action["TargetGroupArn"]] = 1
    return out


def main(config):
    reader = MotoReader(config["endpoint"], config["region"], config["listener_arn"], config["target_groups"], config["vpc_id"],
                        config.get("classic"))
    cloudwatch = boto3.client("cloudwatch", endpoint_url=config["endpoint"], region_name=config["region"],
                              aws_access_key_id="testing", aws_secret_access_key="testing")
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["op"] == "read":
                snap = asdict(reader.read(command.get("full", False)))
                snap["registered"] = {arn: sorted(ids) for arn, ids in snap["registered"].items()}
                answer = {"ok": snap}
            else:
                cloudwatch.set_alarm_state(AlarmName=command["name"], StateValue=command["state"], StateReason=command["reason"])
                answer = {"ok": True}
        except Exception as error:  # a moto hiccup: said, and the next read will do
            answer = {"error": f"{type(error).__name__}: {error}"[:300]}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    from dp_http import die_with_parent
    die_with_parent()
    main(json.loads(sys.argv[1]))
