"""The proxy's service-model check on its own (no binary, no moto): bodies that botocore itself serializes pass,
and each kind of mistake in them is reported as exactly that mistake."""
import urllib.parse

import botocore.serialize
import pytest

from awsmodel import check_request, service_model


def serialized(service, operation, params):
    """The form body botocore sends for `operation` with `params`: the reference for a correct request."""
    model = service_model(service)
    # CloudWatch's model now prefers newer protocols; switchyard (like the AWS CLI v1) speaks its query protocol.
    protocol = "ec2" if model.protocol == "ec2" else "query"
    serializer = botocore.serialize.create_serializer(protocol, include_validation=True)
    body = serializer.serialize_to_request(params, model.operation_model(operation))["body"]
    return dict(body)


def encode(body):
    return urllib.parse.urlencode(body).encode()


TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-{}/0123456789abcdef"
CASES = {
    "modify_listener": ("elasticloadbalancing", "ModifyListener", {
        "ListenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2",
        "DefaultActions": [{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": TG.format("a"), "Weight": 90},
                             {"TargetGroupArn": TG.format("b"), "Weight": 10}],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300}}}]}),
    "create_asg": ("autoscaling", "CreateAutoScalingGroup", {
        "AutoScalingGroupName": "switchyard-web-d1", "MinSize": 2, "MaxSize": 4, "DesiredCapacity": 2,
        "LaunchTemplate": {"LaunchTemplateId": "lt-0123456789abcdef0", "Version": "7"},
        "VPCZoneIdentifier": "subnet-1,subnet-2", "TargetGroupARNs": [TG.format("b")],
        "HealthCheckType": "ELB", "HealthCheckGracePeriod": 30,
        "Tags": [{"Key": "switchyard:deployment", "Value": "d1", "PropagateAtLaunch": True,
                  "ResourceId": "switchyard-web-d1", "ResourceType": "auto-scaling-group"}]}),
    "create_lt_version": ("ec2", "CreateLaunchTemplateVersion", {
        "LaunchTemplateId": "lt-0123456789abcdef0", "SourceVersion": "3", "VersionDescription": "switchyard d1",
        "LaunchTemplateData": {
            "ImageId": "ami-35e92e4c", "InstanceType": "t3.micro", "SecurityGroupIds": ["sg-1", "sg-2"],
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                     "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True}}],
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "platform"}]}],
            "MetadataOptions": {"HttpTokens": "required"}}}),
    "modify_listener_oidc_map": ("elasticloadbalancing", "ModifyListener", {
        "ListenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2",
        "DefaultActions": [
            {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
                "Issuer": "https://idp.example", "AuthorizationEndpoint": "https://idp.example/auth",
                "TokenEndpoint": "https://idp.example/token", "UserInfoEndpoint": "https://idp.example/me",
                "ClientId": "client", "AuthenticationRequestExtraParams": {"prompt": "login", "display": "page"}}},
            {"Type": "forward", "Order": 2, "TargetGroupArn": TG.format("a")}]}),
    "describe_images": ("ec2", "DescribeImages", {
        "ImageIds": ["ami-35e92e4c"], "Owners": ["self"],
        "Filters": [{"Name": "architecture", "Values": ["x86_64"]}, {"Name": "state", "Values": ["available"]}]}),
    "describe_alarms": ("monitoring", "DescribeAlarms", {
        "AlarmNames": ["web-5xx"], "StateValue": "ALARM", "MaxRecords": 10}),
    # Classic ELB: the elasticloadbalancing signing name too, Version 2012-06-01 (botocore's `elb` model).
    "clb_describe_instance_health": ("elb", "DescribeInstanceHealth", {
        "LoadBalancerName": "web-clb", "Instances": [{"InstanceId": "i-0123456789abcdef0"}, {"InstanceId": "i-0fedcba987654321f"}]}),
    "clb_add_tags": ("elb", "AddTags", {
        "LoadBalancerNames": ["web-clb"], "Tags": [{"Key": "switchyard:claim", "Value": "d1"}]}),
    "clb_register_instances": ("elb", "RegisterInstancesWithLoadBalancer", {
        "LoadBalancerName": "web-clb", "Instances": [{"InstanceId": "i-0123456789abcdef0"}]}),
    "clb_deregister_instances": ("elb", "DeregisterInstancesFromLoadBalancer", {
        "LoadBalancerName": "web-clb", "Instances": [{"InstanceId": "i-0123456789abcdef0"}]}),
    "clb_describe_load_balancers": ("elb", "DescribeLoadBalancers", {"LoadBalancerNames": ["web-clb"], "PageSize": 20}),
    "clb_describe_attributes": ("elb", "DescribeLoadBalancerAttributes", {"LoadBalancerName": "web-clb"}),
    "clb_remove_tags": ("elb", "RemoveTags", {"LoadBalancerNames": ["web-clb"], "Tags": [{"Key": "switchyard:claim"}]}),
    "clb_describe_tags": ("elb", "DescribeTags", {"LoadBalancerNames": ["web-clb"]}),
    "elbv2_add_tags": ("elasticloadbalancing", "AddTags", {
        "ResourceArns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2"],
        "Tags": [{"Key": "switchyard:claim", "Value": "d1"}]}),
    "assume_role_with_web_identity": ("sts", "AssumeRoleWithWebIdentity", {
        "RoleArn": "arn:aws:iam::123456789012:role/deployer", "RoleSessionName": "e2e",
        "WebIdentityToken": "eyJhbGciOi.token.sig", "DurationSeconds": 3600}),
}


def signing_name(service):
    """What the proxy knows a request by: its SigV4 signing name (Classic ELB signs as elasticloadbalancing)."""
    return "elasticloadbalancing" if service == "elb" else service


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_botocore_serializes_has_no_violation(case):
    service, operation, params = CASES[case]
    body = serialized(service, operation, params)
    assert check_request(signing_name(service), encode(body)) == []


def mutated(case, change):
    service, operation, params = CASES[case]
    body = serialized(service, operation, params)
    change(body)
    return check_request(signing_name(service), encode(body))


def test_an_unknown_parameter_is_named():
    problems = mutated("modify_listener", lambda b: b.update({"DefaultActions.member.1.ForwardConfig.Colour": "red"}))
    assert problems == ["ModifyListener: unknown parameter DefaultActions.member.1.ForwardConfig.Colour"]


def test_an_ec2_style_list_in_a_query_service_is_unknown_with_a_hint():
    def change(body):
        body["TargetGroupARNs.1"] = body.pop("TargetGroupARNs.member.1")
    assert mutated("create_asg", change) == [
        "CreateAutoScalingGroup: unknown parameter TargetGroupARNs.1 (query-protocol lists are Name.member.N)"]


def test_a_query_style_list_in_ec2_is_unknown_with_a_hint():
    def change(body):
        body["LaunchTemplateData.SecurityGroupId.member.1"] = body.pop("LaunchTemplateData.SecurityGroupId.1")
        body["LaunchTemplateData.SecurityGroupId.member.2"] = body.pop("LaunchTemplateData.SecurityGroupId.2")
    assert mutated("create_lt_version", change) == [
        f"CreateLaunchTemplateVersion: unknown parameter LaunchTemplateData.SecurityGroupId.member.{i} "
        "(EC2 lists are Name.N)" for i in (1, 2)]


def test_ec2_member_names_come_from_query_name_not_the_member_name():
    def change(body):
        body["LaunchTemplateData.SecurityGroupIds.1"] = body.pop("LaunchTemplateData.SecurityGroupId.1")
        body["LaunchTemplateData.SecurityGroupIds.2"] = body.pop("LaunchTemplateData.SecurityGroupId.2")
    problems = mutated("create_lt_version", change)
    assert problems == [f"CreateLaunchTemplateVersion: unknown parameter LaunchTemplateData.SecurityGroupIds.{i}"
                        for i in (1, 2)]


def test_a_missing_required_member_is_named():
    assert mutated("create_asg", lambda b: b.pop("MaxSize")) == [
        "CreateAutoScalingGroup: MaxSize: required member of CreateAutoScalingGroupType is missing"]


def test_a_missing_required_member_deep_in_a_list_is_named():
    problems = mutated("modify_listener", lambda b: b.pop("DefaultActions.member.1.Type"))
    assert problems == ["ModifyListener: DefaultActions.member.1.Type: required member of Action is missing"]


def test_a_value_outside_the_enum_is_named():
    problems = mutated("create_lt_version", lambda b: b.update({"LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType": "gp9"}))
    assert len(problems) == 1
    assert problems[0].startswith("CreateLaunchTemplateVersion: LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType: "
                                  "'gp9' is not one of VolumeType's values [")


def test_a_bad_integer_is_named():
    assert mutated("modify_listener", lambda b: b.update(
        {"DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight": "ten"})) == [
        "ModifyListener: DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight: 'ten' is not an integer"]
    assert mutated("create_asg", lambda b: b.update({"DesiredCapacity": "2.0"})) == [
        "CreateAutoScalingGroup: DesiredCapacity: '2.0' is not an integer"]


def test_a_bad_boolean_is_named():
    assert mutated("create_asg", lambda b: b.update({"Tags.member.1.PropagateAtLaunch": "True"})) == [
        "CreateAutoScalingGroup: Tags.member.1.PropagateAtLaunch: 'True' is not a boolean (true or false)"]


def test_a_list_where_a_scalar_belongs_is_named():
    def change(body):
        body["VPCZoneIdentifier.member.1"] = body.pop("VPCZoneIdentifier")
    problems = mutated("create_asg", change)
    assert "CreateAutoScalingGroup: unknown parameter VPCZoneIdentifier.member.1" in problems[0], problems
    assert mutated("create_asg", lambda b: b.update({"VPCZoneIdentifier.member.1": "subnet-3"})) == [
        "CreateAutoScalingGroup: VPCZoneIdentifier: a list or structure (VPCZoneIdentifier.member.1) where the "
        "string XmlStringMaxLen5000 belongs"]


def test_a_scalar_where_a_list_belongs_is_named():
    assert mutated("describe_images", lambda b: b.update({"ImageId": "ami-1"})) == [
        "DescribeImages: ImageId: a scalar where the list ImageIdStringList belongs (items are ImageId.N)"]


def test_gaps_in_list_indexes_and_a_wrong_version_are_named():
    def change(body):
        body["Filter.3.Name"] = body.pop("Filter.2.Name")
        body["Filter.3.Value.1"] = body.pop("Filter.2.Value.1")
        body["Version"] = "2012-06-01"
    assert sorted(mutated("describe_images", change)) == sorted([
        "DescribeImages: Version is '2012-06-01', the ec2 API is '2016-11-15'",
        "DescribeImages: Filter: list indexes [1, 3] do not run 1..N"])


def test_an_empty_or_cut_body_is_a_violation():
    assert check_request("autoscaling", b"") == ["autoscaling: the request has no Action (an empty or cut body?)"]


def test_an_unknown_action_is_named():
    assert check_request("elasticloadbalancing", b"Action=ShiftTraffic&Version=2015-12-01") == [
        "elasticloadbalancing ShiftTraffic: no such operation in the elbv2 model"]


def test_a_map_is_entry_n_key_and_value():
    body = serialized(*CASES["modify_listener_oidc_map"])
    prefix = "DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry"
    assert body[f"{prefix}.1.key"] in ("prompt", "display")
    body[f"{prefix}.2.kee"] = body.pop(f"{prefix}.2.key")
    assert check_request("elasticloadbalancing", encode(body)) == [f"ModifyListener: unknown parameter {prefix}.2.kee"]


def test_the_version_picks_classic_elb_or_elbv2_under_the_one_signing_name():
    # The same action in both APIs: each body is checked against the model its Version names.
    classic = serialized(*CASES["clb_add_tags"])
    v2 = serialized(*CASES["elbv2_add_tags"])
    assert classic["Version"] == "2012-06-01" and v2["Version"] == "2015-12-01"
    assert check_request("elasticloadbalancing", encode(classic)) == []
    assert check_request("elasticloadbalancing", encode(v2)) == []
    # An ELBv2 body sent as Classic: its ResourceArns are unknown there, and Classic's required names are missing.
    assert sorted(check_request("elasticloadbalancing", encode({**v2, "Version": "2012-06-01"}))) == [
        "AddTags: LoadBalancerNames: required member of AddTagsInput is missing",
        "AddTags: unknown parameter ResourceArns.member.1"]
    # A Classic body sent as ELBv2: the other way round.
    assert sorted(check_request("elasticloadbalancing", encode({**classic, "Version": "2015-12-01"}))) == [
        "AddTags: ResourceArns: required member of AddTagsInput is missing",
        "AddTags: unknown parameter LoadBalancerNames.member.1"]


def test_an_elbv2_only_parameter_in_a_classic_request_is_named():
    assert mutated("clb_add_tags", lambda b: b.update({"ResourceArns.member.1": "arn:aws:elasticloadbalancing:x"})) == [
        "AddTags: unknown parameter ResourceArns.member.1"]
    # DescribeLoadBalancers is in both APIs; Names (ELBv2's) means nothing to Classic.
    assert mutated("clb_describe_load_balancers", lambda b: b.update({"Names.member.1": "web-clb"})) == [
        "DescribeLoadBalancers: unknown parameter Names.member.1"]
    assert mutated("clb_describe_instance_health", lambda b: b.update({"TargetGroupArn": "arn:tg"})) == [
        "DescribeInstanceHealth: unknown parameter TargetGroupArn"]


def test_a_missing_classic_parameter_and_a_classic_only_action_without_its_version_are_named():
    assert mutated("clb_describe_instance_health", lambda b: b.pop("LoadBalancerName")) == [
        "DescribeInstanceHealth: LoadBalancerName: required member of DescribeEndPointStateInput is missing"]
    # Without Version (or with ELBv2's), a Classic-only action is not an ELBv2 operation.
    body = serialized(*CASES["clb_register_instances"])
    del body["Version"]
    assert check_request("elasticloadbalancing", encode(body)) == [
        "elasticloadbalancing RegisterInstancesWithLoadBalancer: no such operation in the elbv2 model"]
    body["Version"] = "2015-12-01"
    assert check_request("elasticloadbalancing", encode(body)) == [
        "elasticloadbalancing RegisterInstancesWithLoadBalancer: no such operation in the elbv2 model"]
