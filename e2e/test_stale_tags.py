"""Tags that read stale, as AWS's eventually consistent reads may show them: two starts racing for the listener (from
two state files), and a blue kept for rollback whose retention tag is not visible yet to the next start. The proxy
answers tag reads with the tags from before the last write for a while (test_proxy_faults.py proves it with boto3);
the truth is read from moto directly."""
import re
import subprocess
import time

import pytest

from test_rollback import shown

TAG = "switchyard:deployment"


def listener_tag(aws, world):
    """Every claim tag on the listener (switchyard:deployment:<id>, or the older single key), or None."""
    tags = aws.elb.describe_tags(ResourceArns=[world["listener_arn"]])["TagDescriptions"][0]["Tags"]
    return [t["Key"] for t in tags if t["Key"].startswith(TAG)] or None


@pytest.mark.world(bake="0s", interval="100ms")
def test_two_starts_racing_on_stale_tags_one_wins_and_the_loser_leaves_nothing(world, switchyard, aws, proxy, tmp_path):
    # Tag reads are stale for 1.5 s after each write; the claim's settle is longer than twice that. Each start's read of
    # the tag before it claims is answered a second late (it still shows the tags as they were when it arrived), so
    # both read no owner and both tag: a race every time, not only when the two happen to overlap.
    proxy.stale_reads(1.5, kinds=["tags"])
    proxy.hold("DescribeTags", 1.0, times=2)
    # Green's first health read answers 2 s late, so the first fence (before traffic moves) comes after the stale window.
    proxy.hold("DescribeTargetHealth", 2.0, after="CreateAutoScalingGroup")
    env = {"AWS_ENDPOINT_URL": proxy.url, "SWITCHYARD_TAG_SETTLE": "3s"}
    a = switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env=env, db=str(tmp_path / "a.db"))
    b = switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env=env, db=str(tmp_path / "b.db"))
    results = []
    for proc in (a, b):
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, err))
    codes = sorted(code for code, _ in results)
    assert codes == [0, 4], results
    winner = next(err for code, err in results if code == 0)
    loser = next(err for code, err in results if code == 4)
    winner_id = re.search(r"deployment (\S+) started", winner).group(1)
    loser_id = re.search(r"deployment (\S+) started", loser).group(1)
    # Both tagged the listener: a real race (the reads after it came past the stale window, as the settle intends).
    tagged = {r.body for r in proxy.forwarded() if r.action == "AddTags"}
    assert any(winner_id.encode() in b for b in tagged) and any(loser_id.encode() in b for b in tagged), "no race"
    # The winner went on to the end; the loser created nothing, and its tag is not on the listener.
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]) == {blue_tg: 0, green_tg: 100}
    groups = aws.groups(world)
    assert f"switchyard-{world['service']}-{winner_id}" in groups
    assert f"switchyard-{world['service']}-{loser_id}" not in groups
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1
    assert listener_tag(aws, world) is None, "the winner's tag goes at its end; the loser's must not stay"
    # Whatever the loser says about AWS is true.
    line = next(l for l in loser.splitlines() if l.startswith("error:"))
    assert winner_id in line, line
    if "nothing" in line:
        assert not [r for r in proxy.forwarded() if r.action in ("CreateAutoScalingGroup", "CreateLaunchTemplateVersion")
                    and loser_id.encode() in r.body]


@pytest.mark.world(bake="0s", interval="100ms", retention="30m")
def test_a_blue_kept_for_rollback_is_not_retired_when_its_retention_tag_reads_stale(world, switchyard, aws, proxy):
    env = {"AWS_ENDPOINT_URL": proxy.url}
    # Group tags read stale for 5 s: the next start comes before the retention tag shows.
    proxy.stale_reads(5.0, kinds=["group-tags"])
    proxy.guard_removals()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 0, err
    first = re.match(r"deployment (\S+) started", err).group(1)
    tagged = [r for r in proxy.forwarded() if r.action == "CreateOrUpdateTags"]
    assert tagged, "the kept blue was never tagged"
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], env=env)
    assert time.time() - tagged[-1].at < 5, "the second start came after the stale window: the test did not test much"
    assert code == 2, err
    assert world["blue_asg"] in err and "kept for rollback" in err and first in err, err
    assert world["blue_asg"] in aws.groups(world), "the kept blue was retired"
    assert shown(switchyard, first)["state"] == "completed"
    code, _, err = switchyard("rollback", first, env=env)
    assert code == 0, err
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1, "only the first start made a green"


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_claim_whose_tag_never_reads_back_takes_it_back_and_changes_nothing(world, switchyard, aws, proxy):
    # Tag reads stale for 4 s after each write, the claim's settle 1 s: the claim never sees its own key, so it cannot
    # know that no rival's is there too. It must take its key back and stop before anything is made or moved.
    proxy.stale_reads(4.0, kinds=["tags"])
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"],
                              env={"AWS_ENDPOINT_URL": proxy.url, "SWITCHYARD_TAG_SETTLE": "1s"})
    assert code == 4, err
    assert "did not read back within 1s (SWITCHYARD_TAG_SETTLE): the tag was taken back and nothing else was made" in err
    assert proxy.stale.answered, "no tag read was answered stale: the test did not test much"
    actions = [r.action for r in proxy.forwarded()]
    assert actions.count("RemoveTags") == 1 and actions.index("RemoveTags") > actions.index("AddTags"), actions
    made = {"CreateLaunchTemplateVersion", "CreateAutoScalingGroup", "ModifyListener", "ModifyRule", "UpdateAutoScalingGroup"}
    assert not made & set(actions), actions
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]) == {blue_tg: 100, green_tg: 0}
    assert listener_tag(aws, world) is None, "the claim's key stayed on the listener"
