"""The proxy's AWS-as-it-is switches, driven by boto3 alone against moto (no switchyard binary): stale reads after
writes, health that reads healthy after it failed, busy answers, launch failures, a skewed clock, a silent endpoint
and an endpoint that disappears. Each test shows that the switch makes an ordinary client see what AWS documents; the
tests of the binary lean on them."""
import datetime
import email.utils
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


def client(proxy, service, **config):
    return boto3.client(service, endpoint_url=proxy.url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config))


@pytest.fixture
def listener(aws):
    """A load balancer with a listener forwarding 100/0 to two target groups, made directly in moto."""
    ec2, elb = aws.ec2, aws.elb
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    name = f"pf{int(time.time() * 1000) % 10_000_000}"
    lb = elb.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tgs = [elb.create_target_group(Name=f"{name}-{c}", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
           for c in "ab"]
    arn = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[forward(tgs, 100)])["Listeners"][0]["ListenerArn"]
    return {"arn": arn, "tgs": tgs, "subnets": subnets, "name": name}


def forward(tgs, blue):
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tgs[0], "Weight": blue},
                                                                  {"TargetGroupArn": tgs[1], "Weight": 100 - blue}]}}


def weights(elb, arn):
    action = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
    return [g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]]


def test_a_listener_read_right_after_a_write_shows_the_state_before_it_until_the_window_ends(bare, listener, aws):
    elb = client(bare, "elbv2")
    assert weights(elb, listener["arn"]) == [100, 0]
    bare.stale_reads(1.0)
    elb.modify_listener(ListenerArn=listener["arn"], DefaultActions=[forward(listener["tgs"], 90)])
    assert weights(elb, listener["arn"]) == [100, 0], "a read inside the window shows the state before the write"
    assert weights(aws.elb, listener["arn"]) == [90, 10], "moto itself has the write"
    elb.modify_listener(ListenerArn=listener["arn"], DefaultActions=[forward(listener["tgs"], 50)])
    assert weights(elb, listener["arn"]) == [90, 10], "after a second write: the state before the last write"
    time.sleep(1.1)
    assert weights(elb, listener["arn"]) == [50, 50], "after the window the read is fresh"
    assert [bare.requests[n - 1].outcome for n in bare.stale.answered] == ["stale", "stale"]


def test_tags_read_stale_after_add_and_remove_on_both_apis(bare, listener, aws):
    elb = client(bare, "elbv2")
    def tag():
        found = elb.describe_tags(ResourceArns=[listener["arn"]])["TagDescriptions"][0]["Tags"]
        return {t["Key"]: t["Value"] for t in found}.get("switchyard:deployment")
    assert tag() is None
    bare.stale_reads(1.0, kinds=["tags"])
    elb.add_tags(ResourceArns=[listener["arn"]], Tags=[{"Key": "switchyard:deployment", "Value": "A"}])
    assert tag() is None
    time.sleep(1.1)
    assert tag() == "A"
    elb.remove_tags(ResourceArns=[listener["arn"]], TagKeys=["switchyard:deployment"])
    assert tag() == "A", "a removed tag still reads for the window"
    # Auto Scaling group tags go stale in DescribeAutoScalingGroups too.
    asg = client(bare, "autoscaling")
    template = aws.ec2.create_launch_template(LaunchTemplateName=listener["name"], LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    aws.asg.create_auto_scaling_group(
        AutoScalingGroupName=listener["name"], MinSize=0, MaxSize=1, DesiredCapacity=0, VPCZoneIdentifier=listener["subnets"][0],
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"], "Version": "1"})
    def retain():
        group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[listener["name"]])["AutoScalingGroups"][0]
        return {t["Key"]: t["Value"] for t in group["Tags"]}.get("switchyard:retain-until")
    assert retain() is None
    asg.create_or_update_tags(Tags=[{"ResourceId": listener["name"], "ResourceType": "auto-scaling-group",
                                     "Key": "switchyard:retain-until", "Value": "2099-01-01T00:00:00Z", "PropagateAtLaunch": False}])
    assert retain() is None, "the retention tag reads as absent for the window"
    both = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[listener["name"], "another"])["AutoScalingGroups"]
    assert [t["Key"] for t in both[0]["Tags"]] == [], "a read never seen before is stale too"
    time.sleep(1.1)
    assert retain() == "2099-01-01T00:00:00Z"


def test_classic_elb_tags_read_stale_by_load_balancer_name_and_elbv2_tags_of_the_same_action_are_apart(bare, listener, aws):
    # Classic ELB signs as elasticloadbalancing too; its AddTags/RemoveTags/DescribeTags name load balancers, not ARNs.
    name = f"{listener['name']}-clb"
    classic = boto3.client("elb", endpoint_url=bare.upstream.geturl(), region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    classic.create_load_balancer(LoadBalancerName=name, Subnets=listener["subnets"],
                                 Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}])
    elb = client(bare, "elb")
    def tag():
        found = elb.describe_tags(LoadBalancerNames=[name])["TagDescriptions"][0]["Tags"]
        return {t["Key"]: t["Value"] for t in found}.get("switchyard:deployment")
    assert tag() is None
    bare.stale_reads(1.0, kinds=["listener-tags"])
    elb.add_tags(LoadBalancerNames=[name], Tags=[{"Key": "switchyard:deployment", "Value": "A"}])
    assert tag() is None, "the Classic tag reads as absent for the window"
    assert {t["Key"]: t["Value"] for t in classic.describe_tags(LoadBalancerNames=[name])["TagDescriptions"][0]["Tags"]} == {
        "switchyard:deployment": "A"}, "moto itself has the write"
    v2 = client(bare, "elbv2")
    assert v2.describe_tags(ResourceArns=[listener["arn"]])["TagDescriptions"][0]["Tags"] == [], "no ELBv2 answer is touched"
    time.sleep(1.1)
    assert tag() == "A"
    elb.remove_tags(LoadBalancerNames=[name], Tags=[{"Key": "switchyard:deployment"}])
    assert tag() == "A", "a removed Classic tag still reads for the window"
    time.sleep(1.1)
    assert tag() is None
    assert bare.violations == []


def test_a_rule_read_right_after_modify_rule_shows_the_rule_before_it_until_the_window_ends(bare, listener, aws):
    elb = client(bare, "elbv2")
    rule = aws.elb.create_rule(ListenerArn=listener["arn"], Priority=7, Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                               Actions=[forward(listener["tgs"], 100)])["Rules"][0]["RuleArn"]
    def rule_weights():
        action = elb.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"][0]
        return [g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]]
    assert rule_weights() == [100, 0]
    bare.stale_reads(1.0, kinds=["rules"])
    elb.modify_rule(RuleArn=rule, Actions=[forward(listener["tgs"], 90)])
    assert rule_weights() == [100, 0], "a read inside the window shows the rule before the write"
    moto_action = aws.elb.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"][0]
    assert [g["Weight"] for g in moto_action["ForwardConfig"]["TargetGroups"]] == [90, 10], "moto itself has the write"
    assert weights(elb, listener["arn"]) == [100, 0], "the listener's own read is not of this kind"
    time.sleep(1.1)
    assert rule_weights() == [90, 10], "after the window the read is fresh"
    assert [bare.requests[n - 1].outcome for n in bare.stale.answered] == ["stale"]


def test_a_group_read_right_after_update_shows_the_old_desired_capacity_until_the_window_ends(bare, listener, aws):
    asg = client(bare, "autoscaling")
    template = aws.ec2.create_launch_template(LaunchTemplateName=listener["name"], LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    aws.asg.create_auto_scaling_group(
        AutoScalingGroupName=listener["name"], MinSize=0, MaxSize=4, DesiredCapacity=1, VPCZoneIdentifier=listener["subnets"][0],
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"], "Version": "1"})
    def desired(c):
        return c.describe_auto_scaling_groups(AutoScalingGroupNames=[listener["name"]])["AutoScalingGroups"][0]["DesiredCapacity"]
    assert desired(asg) == 1
    bare.stale_reads(1.0, kinds=["groups"])
    asg.update_auto_scaling_group(AutoScalingGroupName=listener["name"], MinSize=0, MaxSize=4, DesiredCapacity=3)
    assert desired(asg) == 1, "a read inside the window shows the group before the write"
    assert desired(aws.asg) == 3, "moto itself has the write"
    time.sleep(1.1)
    assert desired(asg) == 3, "after the window the read is fresh"
    assert [bare.requests[n - 1].outcome for n in bare.stale.answered] == ["stale"]


def test_the_removal_guard_flags_a_group_removed_while_its_target_group_has_weight(bare, listener, aws):
    asg = client(bare, "autoscaling")
    template = aws.ec2.create_launch_template(LaunchTemplateName=listener["name"], LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    for suffix, tg in zip("ab", listener["tgs"]):
        aws.asg.create_auto_scaling_group(
            AutoScalingGroupName=f"{listener['name']}-{suffix}", MinSize=0, MaxSize=1, DesiredCapacity=0, VPCZoneIdentifier=listener["subnets"][0],
            TargetGroupARNs=[tg], LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"], "Version": "1"})
    bare.guard_removals()
    # The listener sends 100 % to a, 0 % to b: b's group may go, a's may not, not even once detached.
    asg.detach_load_balancer_target_groups(AutoScalingGroupName=f"{listener['name']}-b", TargetGroupARNs=[listener["tgs"][1]])
    asg.delete_auto_scaling_group(AutoScalingGroupName=f"{listener['name']}-b", ForceDelete=True)
    assert bare.violations == []
    asg.detach_load_balancer_target_groups(AutoScalingGroupName=f"{listener['name']}-a", TargetGroupARNs=[listener["tgs"][0]])
    asg.delete_auto_scaling_group(AutoScalingGroupName=f"{listener['name']}-a", ForceDelete=True)
    assert len(bare.violations) == 2, bare.violations
    assert "DetachLoadBalancerTargetGroups of " in bare.violations[0] and "weight 100" in bare.violations[0], bare.violations
    assert "DeleteAutoScalingGroup of " in bare.violations[1] and "weight 100" in bare.violations[1], bare.violations
    bare.violations.clear()


@pytest.fixture
def classic(listener, aws):
    """A Classic Load Balancer (HTTP:80 to 8080) in the listener fixture's subnets with groups a (two instances) and
    b (one) on it, made directly in moto (scripts/moto-server.py: each group registers its own, InService at once)."""
    name = f"{listener['name']}-clb"
    aws.clb.create_load_balancer(LoadBalancerName=name, Subnets=listener["subnets"], Listeners=[
        {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}])
    template = aws.ec2.create_launch_template(LaunchTemplateName=f"{listener['name']}-c", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    groups = {}
    for suffix, desired in (("a", 2), ("b", 1)):
        groups[suffix] = f"{listener['name']}-c{suffix}"
        aws.asg.create_auto_scaling_group(
            AutoScalingGroupName=groups[suffix], MinSize=0, MaxSize=4, DesiredCapacity=desired, VPCZoneIdentifier=listener["subnets"][0],
            LoadBalancerNames=[name], LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"], "Version": "1"})
    return {"clb": name, **groups}


def test_the_removal_guard_flags_a_removal_that_leaves_a_classic_load_balancer_with_no_instance_in_service(bare, classic, aws):
    """Behind a Classic Load Balancer a group's share is its instances InService there: taking some of them is a
    step of a shared release while another group's still serve, and a violation (as a weighted target group's
    removal is) once nothing else would. Each of the six removals is flagged when it takes the last InService ones."""
    asg, clb = client(bare, "autoscaling"), client(bare, "elb")
    a, b, name = classic["a"], classic["b"], classic["clb"]

    def instances(group):
        return sorted(i["InstanceId"] for i in aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["Instances"])

    def serving():
        return sorted(s["InstanceId"] for s in aws.clb.describe_instance_health(LoadBalancerName=name)["InstanceStates"] if s["State"] == "InService")

    assert serving() == sorted(instances(a) + instances(b))
    bare.guard_removals()
    # While b's instance serves, a's two may go one by one (a step: deregistered, then terminated) and b's may go
    # once a's serve again; a scale-in that leaves one InService is no violation either.
    first = instances(a)[0]
    clb.deregister_instances_from_load_balancer(LoadBalancerName=name, Instances=[{"InstanceId": first}])
    asg.terminate_instance_in_auto_scaling_group(InstanceId=first, ShouldDecrementDesiredCapacity=False)
    assert len(instances(a)) == 2 and len(serving()) == 3, "a's replacement registered"
    asg.detach_load_balancers(AutoScalingGroupName=b, LoadBalancerNames=[name])
    asg.update_auto_scaling_group(AutoScalingGroupName=b, MinSize=0, MaxSize=0, DesiredCapacity=0)
    asg.delete_auto_scaling_group(AutoScalingGroupName=b, ForceDelete=True)
    asg.update_auto_scaling_group(AutoScalingGroupName=a, DesiredCapacity=1)
    assert bare.violations == [], bare.violations
    assert len(serving()) == 1 and serving() == instances(a)

    def only_a_serves():
        """Back to a's one instance InService, the load balancer's only one (made directly in moto, unguarded)."""
        aws.asg.update_auto_scaling_group(AutoScalingGroupName=a, MinSize=0, MaxSize=4, DesiredCapacity=1)
        if not serving():
            aws.clb.register_instances_with_load_balancer(LoadBalancerName=name, Instances=[{"InstanceId": i} for i in instances(a)])
        assert len(serving()) == 1 and serving() == instances(a)

    last = instances(a)[0]
    clb.deregister_instances_from_load_balancer(LoadBalancerName=name, Instances=[{"InstanceId": last}])
    only_a_serves()
    asg.terminate_instance_in_auto_scaling_group(InstanceId=instances(a)[0], ShouldDecrementDesiredCapacity=True)
    only_a_serves()
    asg.update_auto_scaling_group(AutoScalingGroupName=a, DesiredCapacity=0)
    only_a_serves()
    asg.update_auto_scaling_group(AutoScalingGroupName=a, MaxSize=0)  # AWS: a MaxSize below the size lowers it too
    only_a_serves()
    asg.set_desired_capacity(AutoScalingGroupName=a, DesiredCapacity=0)
    only_a_serves()
    asg.detach_load_balancers(AutoScalingGroupName=a, LoadBalancerNames=[name])
    aws.asg.attach_load_balancers(AutoScalingGroupName=a, LoadBalancerNames=[name])
    only_a_serves()
    asg.delete_auto_scaling_group(AutoScalingGroupName=a, ForceDelete=True)
    found = [v.split(": ", 1)[1] for v in bare.violations]
    assert [v.split(" of ", 1)[0] for v in found] == [
        "DeregisterInstancesFromLoadBalancer", "TerminateInstanceInAutoScalingGroup", "UpdateAutoScalingGroup",
        "UpdateAutoScalingGroup", "SetDesiredCapacity", "DetachLoadBalancers", "DeleteAutoScalingGroup"], found
    assert all("leaves the Classic Load Balancer with no InService instance" in v and f"{name} served only i-" in v for v in found), found
    assert f"DeregisterInstancesFromLoadBalancer of {name}" in found[0] and f"(of {a})" in found[1], found
    assert f"of {a} from 1 to 0" in found[2] and f"of {a} from 1 to 0" in found[3], found
    assert found[5].startswith(f"DetachLoadBalancers of {a} reached AWS"), found[5]
    # What the guard read for each: the load balancer's InService count, how many the request took, how many it left.
    assert [seen for action, _, seen in bare.removal_guard.classic_checked if action == "DetachLoadBalancers"] == [{name: (3, 1, 2)}, {name: (1, 1, 0)}]
    bare.violations.clear()


def test_the_removal_guard_lets_a_group_leave_a_shared_target_group_only_while_another_serves_there(bare, listener, aws):
    """traffic.shared.target_group: blue and green stand in one target group that always has weight, so a group's
    share is its healthy targets there. A detach, delete, scale-in, DeregisterTargets or termination passes while
    another group's target is healthy there, and is flagged once it would take the last healthy ones."""
    asg, elb = client(bare, "autoscaling"), client(bare, "elbv2")
    tg = listener["tgs"][0]  # 100 % of the listener
    template = aws.ec2.create_launch_template(LaunchTemplateName=f"{listener['name']}-s", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    a, b = f"{listener['name']}-sa", f"{listener['name']}-sb"
    for group, desired in ((a, 2), (b, 1)):
        aws.asg.create_auto_scaling_group(
            AutoScalingGroupName=group, MinSize=0, MaxSize=4, DesiredCapacity=desired, VPCZoneIdentifier=listener["subnets"][0],
            TargetGroupARNs=[tg], LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"], "Version": "1"})

    def healthy():
        """Healthy in the target group and running (moto lists an instance a scale-in terminated healthy still)."""
        listed = [d["Target"]["Id"] for d in aws.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
                  if d["TargetHealth"]["State"] == "healthy"]
        running = {i["InstanceId"] for r in aws.ec2.describe_instances(InstanceIds=listed)["Reservations"] for i in r["Instances"]
                   if i["State"]["Name"] == "running"} if listed else set()
        return sorted(i for i in listed if i in running)

    assert healthy() == sorted(fleet_ids(aws, a) + fleet_ids(aws, b)), "moto lists each group's instances healthy"
    bare.guard_removals()
    # b's one instance serves while a's two go, one by deregistration and termination, one by a scale-in; then a
    # scales back and b leaves by a detach and a delete.
    first = fleet_ids(aws, a)[0]
    elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": first}])
    asg.terminate_instance_in_auto_scaling_group(InstanceId=first, ShouldDecrementDesiredCapacity=True)
    asg.update_auto_scaling_group(AutoScalingGroupName=a, DesiredCapacity=0)
    assert healthy() == fleet_ids(aws, b)
    aws.asg.update_auto_scaling_group(AutoScalingGroupName=a, DesiredCapacity=1)
    asg.detach_load_balancer_target_groups(AutoScalingGroupName=b, TargetGroupARNs=[tg])
    asg.delete_auto_scaling_group(AutoScalingGroupName=b, ForceDelete=True)
    assert bare.violations == [], bare.violations
    assert healthy() == fleet_ids(aws, a) and len(healthy()) == 1
    # Now a's one instance is all the target group has: each way of taking it is flagged (undone directly in moto).
    only = fleet_ids(aws, a)[0]
    elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": only}])
    aws.elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": only}])
    asg.terminate_instance_in_auto_scaling_group(InstanceId=only, ShouldDecrementDesiredCapacity=False)
    assert len(healthy()) == 1, "a's replacement registered"
    asg.update_auto_scaling_group(AutoScalingGroupName=a, MaxSize=0)
    aws.asg.update_auto_scaling_group(AutoScalingGroupName=a, MaxSize=4, DesiredCapacity=1)
    asg.set_desired_capacity(AutoScalingGroupName=a, DesiredCapacity=0)
    aws.asg.update_auto_scaling_group(AutoScalingGroupName=a, DesiredCapacity=1)
    assert len(healthy()) == 1
    asg.detach_load_balancer_target_groups(AutoScalingGroupName=a, TargetGroupARNs=[tg])
    found = [v.split(": ", 1)[1] for v in bare.violations]
    assert [v.split(" of ", 1)[0] for v in found] == [
        "DeregisterTargets", "TerminateInstanceInAutoScalingGroup", "UpdateAutoScalingGroup", "SetDesiredCapacity",
        "DetachLoadBalancerTargetGroups"], found
    assert all("all of them taken" in v for v in found[:4]) and "weight 100" in found[4], found
    assert f"of {a} from 1 to 0" in found[2] and f"(of {a})" in found[1], found
    # What the guard read: b's detach left a's one healthy target; a's took the last.
    assert [seen for action, _, seen in bare.removal_guard.targets_checked if action == "DetachLoadBalancerTargetGroups"] == [
        {tg: (2, 1, 1)}, {tg: (1, 1, 0)}], bare.removal_guard.targets_checked
    bare.violations.clear()


def fleet_ids(aws, group):
    return sorted(i["InstanceId"] for i in aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["Instances"])


@pytest.mark.world(shared=True, desired=3)
def test_health_that_failed_reads_healthy_for_exactly_the_next_answers_of_its_target_group(bare, world, aws):
    """Blue's three instances in the shared target group: one stopped (moto: unused, Target.InvalidState), one
    deregistered (moto lists it no more), both still InService in their group. Through the switch the next two
    DescribeTargetHealth answers of that target group show both healthy, as AWS's may while the failures are not yet
    UnhealthyThresholdCount checks old; a read of another target group, or of targets that are not theirs, is not
    touched and does not count; the third answer is moto's."""
    tg, other = world["target_group_arns"]
    stopped, gone, fine = fleet_ids(aws, world["blue_asg"])
    aws.ec2.stop_instances(InstanceIds=[stopped])
    aws.elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": gone}])
    truth = {t["Target"]["Id"]: t["TargetHealth"] for t in aws.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
    assert truth == {stopped: {"State": "unused", "Reason": "Target.InvalidState", "Description": "Target is in the stopped state"},
                     fine: {"State": "healthy"}}, truth
    lifecycle = {i["InstanceId"]: i["LifecycleState"] for i in aws.asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[world["blue_asg"]])["AutoScalingGroups"][0]["Instances"]}
    assert lifecycle == {stopped: "InService", gone: "InService", fine: "InService"}, "the group still lists them InService"
    elb = client(bare, "elbv2")

    def health(**kw):
        return {t["Target"]["Id"]: t["TargetHealth"] for t in elb.describe_target_health(TargetGroupArn=tg, **kw)["TargetHealthDescriptions"]}
    fault = bare.healthy_after_failure([stopped, gone], answers=2, target_group=tg)
    assert elb.describe_target_health(TargetGroupArn=other)["TargetHealthDescriptions"] == [], "another target group is not touched"
    assert health(Targets=[{"Id": fine}]) == {fine: {"State": "healthy"}}, "a read of other targets does not count"
    first = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert {t["Target"]["Id"]: t["TargetHealth"] for t in first} == {i: {"State": "healthy"} for i in (stopped, gone, fine)}, first
    assert {t["Target"]["Id"]: t["Target"]["Port"] for t in first} == {stopped: 80, gone: 80, fine: 80}
    assert health(Targets=[{"Id": gone}]) == {gone: {"State": "healthy"}}, "asked by id, the deregistered one reads healthy too"
    assert health() == truth, "after the two answers, moto's truth"
    assert health() == truth
    numbers = [r.n for r in bare.requests if r.action == "DescribeTargetHealth"]
    assert fault.answered == fault.rewritten == numbers[2:4], (fault.answered, numbers)
    assert bare.violations == []


@pytest.mark.world(shared_clb=True, desired=3)
def test_health_that_failed_reads_in_service_for_exactly_the_next_answers_of_its_classic_load_balancer(bare, world, aws):
    """The Classic twin: an instance stopped (moto: OutOfService) and one deregistered from the Classic Load Balancer
    read InService (ReasonCode and Description N/A, as AWS answers an instance in service) in the next answer of
    DescribeInstanceHealth (Version 2012-06-01) for that load balancer, then as moto has them; a target group's read of
    the same signing name is another API and not touched."""
    name = world["clb_name"]
    stopped, gone, fine = fleet_ids(aws, world["blue_asg"])
    aws.ec2.stop_instances(InstanceIds=[stopped])
    aws.clb.deregister_instances_from_load_balancer(LoadBalancerName=name, Instances=[{"InstanceId": gone}])
    clb = client(bare, "elb")

    def states():
        return {s["InstanceId"]: (s["State"], s["ReasonCode"], s["Description"])
                for s in clb.describe_instance_health(LoadBalancerName=name)["InstanceStates"]}
    truth = {stopped: ("OutOfService", "N/A", "N/A"), fine: ("InService", "N/A", "N/A")}
    assert states() == truth
    fault = bare.healthy_after_failure([stopped, gone], load_balancer=name)
    assert client(bare, "elbv2").describe_target_health(TargetGroupArn=world["target_group_arns"][0])["TargetHealthDescriptions"] == []
    assert states() == {i: ("InService", "N/A", "N/A") for i in (stopped, gone, fine)}
    assert states() == truth, "after the one answer, moto's truth"
    assert fault.answered == fault.rewritten and len(fault.answered) == 1
    assert bare.requests[fault.answered[0] - 1].action == "DescribeInstanceHealth"
    assert bare.violations == []


@pytest.mark.parametrize("code,status", [("ScalingActivityInProgress", 400), ("ResourceInUse", 400), ("ResourceContention", 500)])
def test_busy_answers_have_the_service_models_status_and_shape(bare, code, status):
    bare.busy("DeleteAutoScalingGroup", code, times=2)
    asg = client(bare, "autoscaling")
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            asg.delete_auto_scaling_group(AutoScalingGroupName="nothing-here", ForceDelete=True)
        assert raised.value.response["Error"]["Code"] == code
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert raised.value.response["Error"]["Message"].startswith(("You cannot", "Cannot delete", "You already have"))
    # The third goes through to moto (which says the group does not exist).
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        asg.delete_auto_scaling_group(AutoScalingGroupName="nothing-here", ForceDelete=True)
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    # botocore's own classes exist for these codes: the shape is the model's.
    assert code + "Fault" in {s for s in asg.meta.service_model.shape_names}


def test_a_failing_group_has_no_instances_and_failed_launch_activities(bare, listener, aws):
    template = aws.ec2.create_launch_template(LaunchTemplateName=listener["name"] + "-lf", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    asg = client(bare, "autoscaling")
    name = f"switchyard-{listener['name']}-green"
    bare.launch_failures(f"switchyard-{listener['name']}-", every=0.3)
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=2, MaxSize=2, DesiredCapacity=2, VPCZoneIdentifier=listener["subnets"][0],
                                  LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"], "Version": "1"})
    assert len(aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]) == 2
    time.sleep(0.7)
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert group["Instances"] == [] and group["DesiredCapacity"] == 2
    activities = asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
    assert len(activities) >= 3
    assert {a["StatusCode"] for a in activities} == {"Failed"} and {a["Progress"] for a in activities} == {100}
    assert "sufficient t3.micro capacity" in activities[0]["StatusMessage"]
    assert activities[0]["StartTime"] > activities[-1]["StartTime"], "newest first"
    # Another group is untouched.
    assert asg.describe_scaling_activities(AutoScalingGroupName="other")["Activities"] == []


def test_a_skewed_aws_clock_refuses_each_protocol_in_its_own_words_and_dates_its_answers(bare):
    bare.skew(1200)
    cases = [("autoscaling", lambda c: c.describe_auto_scaling_groups(), "SignatureDoesNotMatch", 403),
             ("elbv2", lambda c: c.describe_load_balancers(), "SignatureDoesNotMatch", 403),
             ("ec2", lambda c: c.describe_regions(), "RequestExpired", 400),
             ("dynamodb", lambda c: c.list_tables(), "InvalidSignatureException", 400),
             ("route53", lambda c: c.list_hosted_zones(), "SignatureDoesNotMatch", 403)]
    for service, call, code, status in cases:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            call(client(bare, service))
        error = raised.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), service
        if code != "RequestExpired":
            assert error["Error"]["Message"].startswith("Signature expired: "), error["Error"]["Message"]
        date = email.utils.parsedate_to_datetime(error["ResponseMetadata"]["HTTPHeaders"]["date"])
        assert abs(date.timestamp() - (time.time() + 1200)) < 5, "the Date header is AWS's clock"
    assert all(r.outcome.startswith("skewed:") for r in bare.requests) and not bare.forwarded()
    bare.skew(-1200, codes={"ec2": ("AuthFailure", 401)})
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client(bare, "autoscaling").describe_auto_scaling_groups()
    assert raised.value.response["Error"]["Message"].startswith("Signature not yet current: ")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client(bare, "ec2").describe_regions()
    assert raised.value.response["Error"]["Code"] == "AuthFailure"


def test_a_request_signed_with_aws_time_goes_through_a_skewed_clock(bare):
    bare.skew(1200)
    asg = client(bare, "autoscaling")
    # botocore signs with its own clock; move it to AWS's, as a client that corrected its skew does.
    real = datetime.datetime
    class Ahead(real):
        @classmethod
        def utcnow(cls):
            return real.utcnow() + datetime.timedelta(seconds=1200)
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + datetime.timedelta(seconds=1200)
    import botocore.auth
    original = botocore.auth.datetime.datetime
    botocore.auth.datetime.datetime = Ahead
    try:
        asg.describe_auto_scaling_groups()
    finally:
        botocore.auth.datetime.datetime = original
    assert bare.requests[-1].outcome == "forwarded"


def test_a_blackholed_endpoint_accepts_and_never_answers(bare):
    bare.blackhole(action="DescribeAutoScalingGroups")
    asg = client(bare, "autoscaling", read_timeout=1, connect_timeout=1)
    started = time.time()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        asg.describe_auto_scaling_groups()
    assert 0.9 < time.time() - started < 3
    asg.describe_launch_configurations()  # other actions are answered
    bare.clear()
    asg.describe_auto_scaling_groups()
    assert [r.outcome for r in bare.requests] == ["blackholed", "forwarded", "forwarded"]
    assert bare.forwarded_count("DescribeAutoScalingGroups") == 1


def test_an_endpoint_that_disappears_refuses_connections_then_comes_back(bare):
    asg = client(bare, "autoscaling", connect_timeout=1)
    asg.describe_auto_scaling_groups()
    bare.outage(1.0)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        asg.describe_auto_scaling_groups()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", bare.port)) != 0, "nothing listens during the outage"
    time.sleep(1.2)
    asg.describe_auto_scaling_groups()
    assert bare.forwarded_count("DescribeAutoScalingGroups") == 2


def test_an_outage_can_start_when_an_action_arrives(bare):
    asg = client(bare, "autoscaling", connect_timeout=1)
    bare.outage(1.0, on="DeleteAutoScalingGroup")
    asg.describe_auto_scaling_groups()
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError)):
        asg.delete_auto_scaling_group(AutoScalingGroupName="g")
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        asg.describe_auto_scaling_groups()
    time.sleep(1.2)
    asg.describe_auto_scaling_groups()
    assert [r.outcome for r in bare.requests] == ["forwarded", "outage", "forwarded"]
