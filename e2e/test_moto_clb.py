"""Two Auto Scaling groups on one Classic Load Balancer (traffic.shared's Classic world), boto3 alone (no binary): a
plain moto deregisters one group's instances whenever the other group changes, as AWS never does; the moto every test
runs on (scripts/moto-server.py, the one place for the workaround) registers and deregisters as AWS does. If the first
test fails, moto has changed: the workaround may be taken out."""
import uuid

import boto3
import pytest

from conftest import serve_moto

AMI = "ami-1e749f67"  # a built-in moto AMI (scripts/seed-world.py's blue)


@pytest.fixture(scope="module")
def plain_moto():
    """moto as it ships, `python3 -m moto.server`, for the proof."""
    yield from serve_moto(["-m", "moto.server"])


class World:
    """A VPC, a Classic Load Balancer and a launch template, made straight in moto, and the groups put on it."""

    def __init__(self, url):
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.ec2, self.asg, self.elb = (boto3.client(s, **kw) for s in ("ec2", "autoscaling", "elb"))
        self.name = f"mc{uuid.uuid4().hex[:8]}"
        vpc = self.ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        self.subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        self.clb = f"{self.name}-clb"
        self.elb.create_load_balancer(LoadBalancerName=self.clb, Subnets=[self.subnet], Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}])
        self.template = self.ec2.create_launch_template(
            LaunchTemplateName=self.name, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"})["LaunchTemplate"]["LaunchTemplateId"]

    def group(self, side, desired, clb=True):
        name = f"{self.name}-{side}"
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=0, MaxSize=8, DesiredCapacity=desired, VPCZoneIdentifier=self.subnet,
            LaunchTemplate={"LaunchTemplateId": self.template, "Version": "$Latest"},
            LoadBalancerNames=[self.clb] if clb else [])
        return name

    def instances(self, group):
        found = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        return {i["InstanceId"] for g in found for i in g["Instances"]}

    def registered(self, clb=None):
        return [i["InstanceId"] for i in self.elb.describe_load_balancers(LoadBalancerNames=[clb or self.clb])
                ["LoadBalancerDescriptions"][0]["Instances"]]

    def health(self, ids=None):
        kw = {"Instances": [{"InstanceId": i} for i in ids]} if ids else {}
        states = self.elb.describe_instance_health(LoadBalancerName=self.clb, **kw)["InstanceStates"]
        return {s["InstanceId"]: s["State"] for s in states}

    def scale(self, group, desired):
        self.asg.update_auto_scaling_group(AutoScalingGroupName=group, DesiredCapacity=desired)


def test_plain_moto_deregisters_one_groups_instances_when_the_other_group_changes(plain_moto):
    w = World(plain_moto)
    a = w.group("a", 2)
    assert set(w.registered()) == w.instances(a)
    b = w.group("b", 1)
    # Creating B set the load balancer to B's instances alone.
    assert set(w.registered()) == w.instances(b), "moto no longer deregisters A's instances: the workaround may go"
    w.scale(a, 2)  # any change of A takes the load balancer back
    w.scale(b, 3)
    assert set(w.registered()) == w.instances(b)
    assert not w.instances(a) & set(w.registered())
    # And DetachLoadBalancers of one load balancer deregisters the group from all of them.
    second = f"{w.name}-clb2"
    w.elb.create_load_balancer(LoadBalancerName=second, Subnets=[w.subnet], Listeners=[
        {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}])
    w.asg.attach_load_balancers(AutoScalingGroupName=b, LoadBalancerNames=[second])
    w.asg.detach_load_balancers(AutoScalingGroupName=b, LoadBalancerNames=[w.clb])
    assert w.registered(second) == [], "moto no longer deregisters from load balancers that were not detached"
    # An instance a group registered stays registered after DeregisterInstancesFromLoadBalancer; one registered twice
    # is listed twice.
    w.asg.attach_load_balancers(AutoScalingGroupName=b, LoadBalancerNames=[w.clb])
    one = sorted(w.instances(b))[0]
    w.elb.deregister_instances_from_load_balancer(LoadBalancerName=w.clb, Instances=[{"InstanceId": one}])
    assert one in w.registered()
    w.elb.register_instances_with_load_balancer(LoadBalancerName=w.clb, Instances=[{"InstanceId": one}])
    assert w.registered().count(one) == 2


def test_through_the_launcher_a_group_registers_and_deregisters_its_own_instances_only(moto_url):
    w = World(moto_url)
    a = w.group("a", 2)
    blue = w.instances(a)
    assert sorted(w.registered()) == sorted(blue)
    b = w.group("b", 1)
    assert set(w.registered()) == blue | w.instances(b), "creating B leaves A's registered"
    w.scale(b, 3)
    green = w.instances(b)
    assert len(green) == 3
    assert sorted(w.registered()) == sorted(blue | green), "scaling B out registers B's new instances, A's stay"
    assert w.health() == {i: "InService" for i in blue | green}
    w.scale(a, 2)  # a change of A that changes nothing
    assert sorted(w.registered()) == sorted(blue | green)

    # TerminateInstanceInAutoScalingGroup, decrementing: only that instance leaves the load balancer.
    gone = sorted(green)[0]
    w.asg.terminate_instance_in_auto_scaling_group(InstanceId=gone, ShouldDecrementDesiredCapacity=True)
    assert sorted(w.registered()) == sorted(blue | green - {gone})
    # moto answers Unknown for an instance not registered (AWS: InvalidInstance); a registered one terminated outside
    # the group (EC2 TerminateInstances) is OutOfService, as AWS says once its health check fails.
    assert w.health([gone]) == {gone: "Unknown"}
    # Without decrementing: the group launches a replacement and registers it.
    replaced = sorted(green - {gone})[0]
    w.asg.terminate_instance_in_auto_scaling_group(InstanceId=replaced, ShouldDecrementDesiredCapacity=False)
    green = w.instances(b)
    assert replaced not in green and len(green) == 2
    assert sorted(w.registered()) == sorted(blue | green)

    # Scaling B in deregisters the instances it terminates and nothing of A's.
    w.scale(b, 1)
    green = w.instances(b)
    assert sorted(w.registered()) == sorted(blue | green)

    # DetachLoadBalancers on B deregisters B's only, from the one named only.
    second = f"{w.name}-clb2"
    w.elb.create_load_balancer(LoadBalancerName=second, Subnets=[w.subnet], Listeners=[
        {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}])
    w.asg.attach_load_balancers(AutoScalingGroupName=b, LoadBalancerNames=[second])
    assert w.registered(second) == sorted(green)
    w.asg.detach_load_balancers(AutoScalingGroupName=b, LoadBalancerNames=[w.clb])
    assert sorted(w.registered()) == sorted(blue)
    assert w.registered(second) == sorted(green), "the load balancer not detached keeps B's"
    assert [x["LoadBalancerName"] for x in w.asg.describe_load_balancers(AutoScalingGroupName=b)["LoadBalancers"]] == [second]

    # Attached again, B registers what it holds.
    w.asg.attach_load_balancers(AutoScalingGroupName=b, LoadBalancerNames=[w.clb])
    assert sorted(w.registered()) == sorted(blue | green)

    # DeregisterInstancesFromLoadBalancer deregisters a group's instance too (whoever registered it), and the group does
    # not register it again on its next change; registering it again lists it once.
    one = sorted(blue)[0]
    w.elb.deregister_instances_from_load_balancer(LoadBalancerName=w.clb, Instances=[{"InstanceId": one}])
    assert one not in w.registered()
    w.scale(a, 2)
    w.scale(b, 1)
    assert one not in w.registered()
    w.elb.register_instances_with_load_balancer(LoadBalancerName=w.clb, Instances=[{"InstanceId": one}])
    w.elb.register_instances_with_load_balancer(LoadBalancerName=w.clb, Instances=[{"InstanceId": one}])
    assert w.registered().count(one) == 1
    with pytest.raises(w.elb.exceptions.AccessPointNotFoundException):
        w.elb.register_instances_with_load_balancer(LoadBalancerName=f"{w.name}-none", Instances=[{"InstanceId": one}])

    # An instance registered by hand is left alone by the groups.
    spare = w.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=w.subnet)["Instances"][0]["InstanceId"]
    w.elb.register_instances_with_load_balancer(LoadBalancerName=w.clb, Instances=[{"InstanceId": spare}])
    w.scale(b, 2)
    green = w.instances(b)
    assert sorted(w.registered()) == sorted(blue | green | {spare})

    # DeleteAutoScalingGroup (forced) deregisters the group's instances; a new group of the same name starts afresh.
    w.asg.delete_auto_scaling_group(AutoScalingGroupName=b, ForceDelete=True)
    assert sorted(w.registered()) == sorted(blue | {spare})
    b = w.group("b", 1)
    assert sorted(w.registered()) == sorted(blue | {spare} | w.instances(b))
    # A group not on the load balancer changes nothing on it.
    w.group("c", 2, clb=False)
    assert sorted(w.registered()) == sorted(blue | {spare} | w.instances(b))


# -- target groups (traffic.shared.target_group) ----------------------------------------------------------------------
class TargetGroupWorld(World):
    """The same, with a target group (behind an ALB's listener, as a shared one is) in place of the Classic one."""

    def __init__(self, url):
        super().__init__(url)
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.elbv2 = boto3.client("elbv2", **kw)
        vpc = self.ec2.describe_subnets(SubnetIds=[self.subnet])["Subnets"][0]["VpcId"]
        other = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
        lb = self.elbv2.create_load_balancer(Name=f"{self.name}-alb", Subnets=[self.subnet, other])["LoadBalancers"][0]["LoadBalancerArn"]
        self.tg = self.elbv2.create_target_group(Name=f"{self.name}-tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg}])

    def group(self, side, desired, clb=False):
        name = f"{self.name}-{side}"
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=0, MaxSize=8, DesiredCapacity=desired, VPCZoneIdentifier=self.subnet,
            LaunchTemplate={"LaunchTemplateId": self.template, "Version": "$Latest"}, TargetGroupARNs=[self.tg])
        return name

    def targets(self):
        return sorted(d["Target"]["Id"] for d in self.elbv2.describe_target_health(TargetGroupArn=self.tg)["TargetHealthDescriptions"])

    def deregister(self, instance):
        self.elbv2.deregister_targets(TargetGroupArn=self.tg, Targets=[{"Id": instance}])


def test_plain_moto_registers_a_deregistered_instance_again_when_its_group_changes(plain_moto):
    w = TargetGroupWorld(plain_moto)
    a = w.group("a", 2)
    one, other = sorted(w.instances(a))
    w.deregister(one)
    assert w.targets() == [other]
    w.scale(a, 3)  # any change of the group registers all of its instances again
    assert one in w.targets(), "moto no longer registers a deregistered instance again: the workaround may go"
    # A scale-in's terminated instances stay registered.
    before = w.instances(a)
    w.scale(a, 1)
    assert set(w.targets()) > w.instances(a) and set(w.targets()) & (before - w.instances(a))
    # DetachLoadBalancerTargetGroups fails when one of the group's instances is not registered.
    w.scale(a, 2)
    w.deregister(sorted(w.instances(a))[0])
    with pytest.raises(w.asg.exceptions.ClientError):
        w.asg.detach_load_balancer_target_groups(AutoScalingGroupName=a, TargetGroupARNs=[w.tg])


def test_through_the_launcher_a_group_registers_only_what_it_launches_and_deregisters_what_it_terminates(moto_url):
    w = TargetGroupWorld(moto_url)
    a = w.group("a", 2)
    blue = w.instances(a)
    assert w.targets() == sorted(blue)
    b = w.group("b", 1)
    assert w.targets() == sorted(blue | w.instances(b)), "creating B leaves A's registered"
    # A step: B scaled out, then one of A's deregistered (it drains) and terminated; B's change in between does not
    # register it again.
    w.scale(b, 2)
    green = w.instances(b)
    drained = sorted(blue)[0]
    w.deregister(drained)
    w.scale(b, 3)
    assert drained not in w.targets(), "a change of B registered A's deregistered instance again"
    w.scale(a, 2)  # nor a change of A itself
    assert drained not in w.targets()
    w.asg.terminate_instance_in_auto_scaling_group(InstanceId=drained, ShouldDecrementDesiredCapacity=True)
    green = w.instances(b)
    assert w.targets() == sorted((blue - {drained}) | green)
    # A scale-in deregisters the instances it terminates.
    w.scale(b, 1)
    assert w.targets() == sorted((blue - {drained}) | w.instances(b)), "a scale-in's terminated instances stay registered"
    # Registered again by the API (a rollback's drained blue instance), it stays.
    kept = sorted(blue - {drained})[0]
    w.deregister(kept)
    w.elbv2.register_targets(TargetGroupArn=w.tg, Targets=[{"Id": kept}])
    w.scale(b, 2)
    assert kept in w.targets() and w.targets().count(kept) == 1
    # DetachLoadBalancerTargetGroups deregisters the group's registered instances, whatever else it held.
    w.deregister(sorted(w.instances(b))[0])
    w.asg.detach_load_balancer_target_groups(AutoScalingGroupName=b, TargetGroupARNs=[w.tg])
    assert not set(w.targets()) & w.instances(b)
    assert set(w.targets()) == w.instances(a)
