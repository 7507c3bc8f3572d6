"""A mistyped ARN in `traffic` (issue 21): the error names exactly the ARN AWS did not find, with AWS's error code,
and suggests the listener that does forward to the pair; one mistyped target group is named alone."""
import re

import pytest


def mistyped(arn):
    """The same ARN with its last id changed: the kind of typo a copy and paste makes."""
    head, _, last = arn.rpartition("/")
    return f"{head}/{'0' * len(last) if set(last) != {'0'} else '1' * len(last)}"


def rewrite(world, old, new):
    text = open(world["file"]).read()
    assert old in text
    open(world["file"], "w").write(text.replace(old, new))


def test_a_mistyped_listener_arn_is_named_with_the_code_aws_answered_and_the_real_one_suggested(world, switchyard):
    wrong = mistyped(world["listener_arn"])
    rewrite(world, f"listener_arn: {world['listener_arn']}", f"listener_arn: {wrong}")
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2, err
    assert err.startswith(f"error: traffic.listener_arn names listener {wrong}, which AWS does not find in this account "
                          "and region (ELB error ListenerNotFound). The one that forwards to the target groups is "
                          f"listener {world['listener_arn']} (HTTP:80): did you mean it?"), err
    assert "not named in traffic" not in err


def test_one_mistyped_target_group_is_the_only_one_named(world, switchyard):
    blue, green = world["target_group_arns"]
    wrong = mistyped(green)
    rewrite(world, f"- {green}", f"- {wrong}")
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 2, err
    assert err.strip() == ("error: traffic.target_groups names a target group that does not exist in this account and region "
                           f"(ELB error TargetGroupNotFound): {wrong}."), err
    assert blue not in err
