#!/usr/bin/env python3
"""Captures raw response bodies (the HTML 500 of an unimplemented action, the UpdateAutoScalingGroup error and
monitoring-DescribeAlarms.xml, which botocore asks for in JSON, were taken with curl and a dummy Authorization header) from a moto server into Tests/AWSTests/Fixtures/, for the XML decoding tests.

Usage: scripts/capture-fixtures.py http://127.0.0.1:PORT   (seed a world of service `fx` first is done here)
"""
import json
import os
import subprocess
import sys

import boto3

endpoint = sys.argv[1]
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "AWSTests", "Fixtures")
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
world = json.loads(subprocess.check_output([sys.executable, os.path.join(os.path.dirname(__file__), "seed-world.py"),
                                            "--endpoint", endpoint, "--service", "fx", "--alarm", "fx-5xx"]))


def capture(client, name):
    def hook(http_response, parsed, model, **_):
        path = os.path.join(out, f"{name}-{model.name}.xml")
        if http_response.status_code >= 400:
            path = os.path.join(out, f"{name}-{model.name}-error-{http_response.status_code}.xml")
        with open(path, "wb") as f:
            f.write(http_response.content)
    client.meta.events.register("after-call", hook)
    return client


ec2 = capture(boto3.client("ec2", **kw), "ec2")
asg = capture(boto3.client("autoscaling", **kw), "autoscaling")
elb = capture(boto3.client("elbv2", **kw), "elbv2")
cw = capture(boto3.client("cloudwatch", **kw), "monitoring")

ec2.describe_images(ImageIds=[world["blue_ami"]])
ec2.describe_launch_template_versions(LaunchTemplateId=world["launch_template_id"], Versions=["$Latest"])
ec2.create_launch_template_version(LaunchTemplateId=world["launch_template_id"], SourceVersion="1", VersionDescription="fixture",
                                   LaunchTemplateData={"ImageId": world["new_ami"], "InstanceType": "t3.micro"})
group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[world["blue_asg"]])["AutoScalingGroups"][0]
ec2.describe_instances(InstanceIds=[i["InstanceId"] for i in group["Instances"]])
elb.describe_listeners(ListenerArns=[world["listener_arn"]])
elb.describe_target_health(TargetGroupArn=world["target_group_arns"][0])
elb.describe_target_groups(TargetGroupArns=world["target_group_arns"])
elb.modify_target_group_attributes(TargetGroupArn=world["target_group_arns"][0],
                                   Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "45"}])
elb.describe_target_group_attributes(TargetGroupArn=world["target_group_arns"][0])
asg.describe_auto_scaling_instances(InstanceIds=[i["InstanceId"] for i in group["Instances"]])
elb.modify_listener(ListenerArn=world["listener_arn"], DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
    {"TargetGroupArn": world["target_group_arns"][0], "Weight": 90}, {"TargetGroupArn": world["target_group_arns"][1], "Weight": 10}],
    "TargetGroupStickinessConfig": {"Enabled": False}}}])
try:
    ec2.describe_images(ImageIds=["ami-00000000000000000"])
except Exception:
    pass
try:
    elb.modify_listener(ListenerArn=world["listener_arn"] + "0", DefaultActions=[{"Type": "forward", "TargetGroupArn": world["target_group_arns"][0]}])
except Exception:
    pass
try:
    asg.describe_auto_scaling_groups(AutoScalingGroupNames=["x"], MaxRecords=500)
except Exception:
    pass
rich = ec2.create_launch_template(LaunchTemplateName="fx-rich", LaunchTemplateData={
    "ImageId": world["blue_ami"], "InstanceType": "m5.large", "KeyName": "ops",
    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "DeleteOnTermination": True}}],
    "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": False, "Groups": [world["security_group_id"]]}],
    "IamInstanceProfile": {"Name": "web-role"},
    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
    "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "fx"}, {"Key": "tier", "Value": "web"}]}],
})["LaunchTemplate"]["LaunchTemplateId"]
ec2.meta.events.unregister("after-call")
raw = {}
def keep(http_response, **_):
    raw["body"] = http_response.content
ec2.meta.events.register("after-call", keep)
ec2.describe_launch_template_versions(LaunchTemplateId=rich, Versions=["1"])
with open(os.path.join(out, "ec2-DescribeLaunchTemplateVersions-rich.xml"), "wb") as f:
    f.write(raw["body"])
print("captured into", os.path.abspath(out))

# A production-dressed blue with a mixed instances policy (scripts/seed-world.py --dressed --mixed): the fixtures of the
# fleet clone's tests.
import urllib.parse
import urllib.request

dressed = json.loads(subprocess.check_output([sys.executable, os.path.join(os.path.dirname(__file__), "seed-world.py"),
                                              "--endpoint", endpoint, "--service", "fy", "--dressed", "--mixed", "--min-size", "1"]))


def keep_as(client, action_name, filename):
    def hook(http_response, model, **_):
        if model.name == action_name:
            with open(os.path.join(out, filename), "wb") as f:
                f.write(http_response.content)
    client.meta.events.register("after-call", hook)


for action, filename in [("DescribeAutoScalingGroups", "autoscaling-DescribeAutoScalingGroups-dressed.xml"),
                         ("DescribePolicies", "autoscaling-DescribePolicies.xml"),
                         ("DescribeScheduledActions", "autoscaling-DescribeScheduledActions.xml"),
                         ("DescribeLifecycleHooks", "autoscaling-DescribeLifecycleHooks.xml")]:
    keep_as(asg, action, filename)
keep_as(ec2, "DescribeInstanceTypes", "ec2-DescribeInstanceTypes.xml")
asg.describe_auto_scaling_groups(AutoScalingGroupNames=["fy-blue"])
step = [p for p in asg.describe_policies(AutoScalingGroupName="fy-blue")["ScalingPolicies"] if p["PolicyName"] == "step-out"][0]
asg.describe_scheduled_actions(AutoScalingGroupName="fy-blue")
asg.describe_lifecycle_hooks(AutoScalingGroupName="fy-blue")
ec2.describe_instance_types(InstanceTypes=["t3.micro"])
# botocore asks CloudWatch in JSON; the query protocol's XML is what the client reads.
body = urllib.parse.urlencode({"Action": "DescribeAlarms", "Version": "2010-08-01", "ActionPrefix": step["PolicyARN"]}).encode()
request = urllib.request.Request(endpoint, data=body, headers={
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0"})
with urllib.request.urlopen(request) as response, open(os.path.join(out, "monitoring-DescribeAlarms-policy.xml"), "wb") as f:
    f.write(response.read())
print("captured the dressed blue into", os.path.abspath(out))
