"""e2e/purposes.py names a release's requests from what they ask and what came before, so bench/release can say what
each request is for. Checked on made-up request records (no moto, no binary): a request no rule knows is "unnamed",
the same read for the same purpose twice is a repeat, and names follow the order of the release, not positions."""
import urllib.parse

from proxy import Request
from purposes import UNNAMED, name_requests

WORLD = {"service": "web", "blue_asg": "web-blue", "listener_arn": "arn:listener/web", "new_ami": "ami-new",
         "target_group_arns": ["arn:tg/web-a", "arn:tg/web-b"]}
GREEN = "switchyard-web-20260101-000000-abcd"


def request(service, action, **params):
    body = urllib.parse.urlencode({"Action": action, **params}).encode()
    return Request(n=0, connection=1, at=0.0, method="POST", path="/", action=action, service=service, akid="k", token=None,
                   content_length=len(body), body_length=len(body), body=body)


def weights(blue, green):
    prefix = "DefaultActions.member.1.ForwardConfig.TargetGroups.member"
    return {"ListenerArn": "arn:listener/web", f"{prefix}.1.TargetGroupArn": "arn:tg/web-a", f"{prefix}.1.Weight": blue,
            f"{prefix}.2.TargetGroupArn": "arn:tg/web-b", f"{prefix}.2.Weight": green}


def release(extra_plan=(), extra_step=()):
    alarms = request("monitoring", "DescribeAlarms", **{"AlarmNames.member.1": "web-5xx"})
    health = request("elasticloadbalancing", "DescribeTargetHealth", TargetGroupArn="arn:tg/web-b")
    group = request("autoscaling", "DescribeAutoScalingGroups", **{"AutoScalingGroupNames.member.1": GREEN})
    return [request("elasticloadbalancing", "DescribeTargetHealth", TargetGroupArn="arn:tg/web-a"),
            request("autoscaling", "DescribeAutoScalingGroups", **{"AutoScalingGroupNames.member.1": "web-blue"}),
            *extra_plan,
            request("ec2", "CreateLaunchTemplateVersion", **{"LaunchTemplateData.ImageId": "ami-new"}),
            request("autoscaling", "CreateAutoScalingGroup", AutoScalingGroupName=GREEN),
            group, alarms, health,
            request("elasticloadbalancing", "ModifyListener", **weights(90, 10)),
            alarms, group, health, *extra_step,
            request("elasticloadbalancing", "ModifyListener", **weights(0, 100))]


def test_each_request_of_a_release_is_named_from_what_it_asks_and_where_it_comes():
    names = [n.purpose for n in name_requests(release(), WORLD)]
    assert names == ["plan: blue's target health (which instances serve)", "plan: blue's group",
                     "launch: green's launch template version (the new AMI)", "launch: create green's group",
                     "capacity wait: green's instances InService", "health gate check 1: alarms",
                     "health gate check 1: green's target health", "step 1: weight write (blue 90 / green 10)",
                     "step 1 check 1: alarms", "step 1 check 1: green's group instances",
                     "step 1 check 1: green's target health", "step 2: weight write (blue 0 / green 100)"]


def test_a_request_no_rule_knows_is_unnamed_wherever_it_comes():
    odd = request("ec2", "DescribeInstances")
    for requests in (release(extra_plan=[odd]), release(extra_step=[odd])):
        named = name_requests(requests, WORLD)
        assert [n.purpose for n, r in zip(named, requests) if r is odd] == [UNNAMED]
    # A known action where the release has no use for it is unnamed too: blue's target health during a step.
    late = request("elasticloadbalancing", "DescribeTargetHealth", TargetGroupArn="arn:tg/web-a")
    assert name_requests(release(extra_step=[late]), WORLD)[-2].purpose == UNNAMED


def test_the_same_read_for_the_same_purpose_is_a_repeat():
    blue = request("autoscaling", "DescribeAutoScalingGroups", **{"AutoScalingGroupNames.member.1": "web-blue"})
    named = name_requests(release(extra_plan=[blue]), WORLD)
    assert [n.repeat for n in named[:3]] == [False, False, True]
    assert not any(n.repeat for n in name_requests(release(), WORLD))


def test_classic_elb_requests_are_named_by_their_own_rules_the_version_telling_them_from_elbv2():
    world = {**WORLD, "clb_name": "web-clb"}
    classic = {"Version": "2012-06-01"}
    requests = [request("elasticloadbalancing", "DescribeLoadBalancers", **classic, **{"LoadBalancerNames.member.1": "web-clb"}),
                request("elasticloadbalancing", "DescribeInstanceHealth", **classic, LoadBalancerName="web-clb"),
                request("elasticloadbalancing", "DescribeTags", **classic, **{"LoadBalancerNames.member.1": "web-clb"}),
                request("elasticloadbalancing", "AddTags", **classic, **{"LoadBalancerNames.member.1": "web-clb",
                                                                         "Tags.member.1.Key": "switchyard:claim"}),
                request("elasticloadbalancing", "DescribeTags", **classic, **{"LoadBalancerNames.member.1": "web-clb"}),
                # ELBv2's AddTags of the listener is still ELBv2's, with or without its Version.
                request("elasticloadbalancing", "AddTags", Version="2015-12-01", **{"ResourceArns.member.1": "arn:listener/web"}),
                # A Classic request naming another load balancer, or the listener's ARN, is no rule's.
                request("elasticloadbalancing", "DescribeInstanceHealth", **classic, LoadBalancerName="other-clb"),
                request("elasticloadbalancing", "DescribeTags", **classic, **{"ResourceArns.member.1": "arn:listener/web"})]
    assert [n.purpose for n in name_requests(requests, world)] == [
        "plan: the Classic Load Balancer (its instances, subnets, listeners)",
        "plan: blue's instance health on the Classic Load Balancer (which instances serve)",
        "claim: who holds the Classic Load Balancer (its tag)", "claim: tag the Classic Load Balancer",
        "claim: the claim reads back, no rival beside it", "claim: tag the listener", UNNAMED, UNNAMED]
