#!/usr/bin/env python3
"""The baseline: the same release a careful in-process boto3 script would make, call for call. After each weight
change it looks once at what Switchyard's checks look at (the alarms, green's target health): zero bake means one look.

Usage: bench/boto3_release.py ENDPOINT WORLD_JSON   (prints wall seconds)
"""
import json
import sys
import time

import boto3

endpoint, world = sys.argv[1], json.loads(open(sys.argv[2]).read())
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
started = time.perf_counter()
ec2, asg, elb = boto3.client("ec2", **kw), boto3.client("autoscaling", **kw), boto3.client("elbv2", **kw)
cw = boto3.client("cloudwatch", **kw)
alarms = world.get("alarms", [])
listener, (blue_tg, green_tg) = world["listener_arn"], world["target_group_arns"]
green_name = f"{world['service']}-green"

# Discover blue and check the AMI.
elb.describe_listeners(ListenerArns=[listener])
groups = asg.describe_auto_scaling_groups()["AutoScalingGroups"]
blue = next(g for g in groups if blue_tg in g["TargetGroupARNs"])
lt = blue["LaunchTemplate"]
source = ec2.describe_launch_template_versions(LaunchTemplateId=lt["LaunchTemplateId"], Versions=[lt["Version"]])["LaunchTemplateVersions"][0]
ec2.describe_images(ImageIds=[source["LaunchTemplateData"]["ImageId"]])
ec2.describe_images(ImageIds=[world["new_ami"]])

# Launch green.
ec2.describe_launch_template_versions(LaunchTemplateId=lt["LaunchTemplateId"])
data = dict(source["LaunchTemplateData"], ImageId=world["new_ami"])
version = ec2.create_launch_template_version(LaunchTemplateId=lt["LaunchTemplateId"], LaunchTemplateData=data,
                                             VersionDescription="bench")["LaunchTemplateVersion"]["VersionNumber"]
asg.describe_auto_scaling_groups(AutoScalingGroupNames=[green_name])
asg.describe_auto_scaling_groups(AutoScalingGroupNames=[blue["AutoScalingGroupName"]])
asg.create_auto_scaling_group(AutoScalingGroupName=green_name,
                              LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": str(version)},
                              MinSize=blue["MinSize"], MaxSize=blue["MaxSize"], DesiredCapacity=blue["DesiredCapacity"],
                              VPCZoneIdentifier=blue["VPCZoneIdentifier"], TargetGroupARNs=[green_tg])

# Wait for capacity and health.
while True:
    green = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[green_name])["AutoScalingGroups"][0]
    if sum(i["LifecycleState"] == "InService" for i in green["Instances"]) >= blue["DesiredCapacity"]:
        break
    time.sleep(0.1)
while True:
    green = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[green_name])["AutoScalingGroups"][0]
    health = elb.describe_target_health(TargetGroupArn=green_tg)["TargetHealthDescriptions"]
    states = {h["Target"]["Id"]: h["TargetHealth"]["State"] for h in health}
    if all(states.get(i["InstanceId"]) == "healthy" for i in green["Instances"]):
        break
    time.sleep(0.1)

# Shift 10/50/100, reading each change back, then checking once.
for weight in (10, 50, 100):
    elb.describe_listeners(ListenerArns=[listener])
    elb.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": blue_tg, "Weight": 100 - weight}, {"TargetGroupArn": green_tg, "Weight": weight}],
        "TargetGroupStickinessConfig": {"Enabled": False}}}])
    elb.describe_listeners(ListenerArns=[listener])
    if alarms and any(a["StateValue"] == "ALARM" for a in cw.describe_alarms(AlarmNames=alarms)["MetricAlarms"]):
        sys.exit("alarm in ALARM")
    if any(h["TargetHealth"]["State"] != "healthy" for h in elb.describe_target_health(TargetGroupArn=green_tg)["TargetHealthDescriptions"]):
        sys.exit("green unhealthy")
elb.describe_listeners(ListenerArns=[listener])
print(f"{time.perf_counter() - started:.3f}")
