"""What a release costs in AWS requests: no question asked twice for the same answer, and planning that does not
grow with the number of Auto Scaling groups in the account (counted through the recording proxy)."""
import pytest


def release_requests(log):
    """The actions of one release in order, as the proxy saw them."""
    return list(log)


@pytest.mark.world(bake="0s", interval="1s")
def test_a_zero_bake_release_makes_at_most_twenty_eight_requests_and_asks_nothing_twice(world, switchyard, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    proxy.reset_counts()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    log = release_requests(proxy.log)
    # 20 as it was, plus one tick of checks per step (DescribeAutoScalingGroups + DescribeTargetHealth, three steps:
    # every step is checked under its own weight), plus finding every forward to the pair (DescribeTargetGroups and
    # DescribeRules per listener; DescribeListeners per load balancer replaces the read of the one listener).
    assert len(log) <= 20 + 6 + 2, log
    assert log.count("DescribeTargetGroups") == 1 and log.count("DescribeRules") == 1, log
    # Planning reads blue's launch-template version and both images once; green is created from those answers.
    assert log.count("DescribeLaunchTemplateVersions") == 1, log
    assert log.count("DescribeImages") == 1, log
    before_create = log[:log.index("CreateAutoScalingGroup")]
    assert before_create.count("DescribeAutoScalingGroups") == 1, log
    # Each ModifyListener's answer is its read-back: no DescribeListeners follows a write.
    first_write = log.index("ModifyListener")
    assert "DescribeListeners" not in log[first_write:], log
    assert log.count("ModifyListener") == 3, log


def plan_requests(switchyard, world, proxy):
    proxy.reset_counts()
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    return list(proxy.log)


def test_planning_costs_the_same_with_many_more_groups_in_the_account(world, switchyard, proxy, aws):
    before = plan_requests(switchyard, world, proxy)
    template = {"LaunchTemplateId": world["launch_template_id"], "Version": "1"}
    for n in range(110):  # past a page of DescribeAutoScalingGroups (100)
        aws.asg.create_auto_scaling_group(AutoScalingGroupName=f"{world['service']}-other-{n}", LaunchTemplate=template,
                                          MinSize=0, MaxSize=1, DesiredCapacity=0,
                                          VPCZoneIdentifier=",".join(world["subnet_ids"]))
    after = plan_requests(switchyard, world, proxy)
    assert after == before, (before, after)
    # 8 as it was, plus DescribeTargetGroups and one DescribeRules for the one listener: per load balancer and
    # listener of the pair, never per account.
    assert len(before) <= 10, before
