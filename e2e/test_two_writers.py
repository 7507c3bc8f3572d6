"""Two operators with two state files on one service: whatever each state file believes, traffic never moves to a
fleet that is gone, and a rollback that cannot be done safely says so (exit 2) instead of reporting success."""
import re

import pytest


def started(err):
    return re.match(r"deployment (\S+) started", err).group(1)


def serving_group(aws, world):
    """The group that stands on the target group carrying 100 % of the listener's traffic, or None."""
    weights = aws.weights(world["listener_arn"])
    live = [tg for tg, w in weights.items() if w > 0]
    assert len(live) == 1, weights
    standing = [name for name, g in aws.groups().items() if live[0] in g["TargetGroupARNs"]]
    return standing[0] if standing else None


@pytest.mark.world(bake="0s", interval="100ms", retention="30m")
def test_two_state_files_never_roll_traffic_onto_a_deleted_fleet(world, switchyard, aws, tmp_path):
    db_a, db_b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], db=db_a)
    assert code == 0, err
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], db=db_a)
    assert code == 0, err
    a2 = started(err)
    # B, with its own state file, releases and retires A2's kept blue (it stands on the target group B needs).
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], db=db_b)
    assert code == 0, err
    b1 = started(err)
    serving = serving_group(aws, world)
    assert serving == f"switchyard-{world['service']}-{b1}"
    groups_before = set(aws.groups())

    code, _, err = switchyard("rollback", a2, db=db_a)
    assert code == 2, err
    assert "was not rolled back" in err and ("is gone" in err or "no longer exists" in err), err
    assert serving_group(aws, world) == serving, "traffic moved"
    assert set(aws.groups()) == groups_before, "a group was deleted by a refused rollback"

    # B's rollback is sound: its blue (A2's green) still stands at full size.
    code, _, err = switchyard("rollback", b1, db=db_b)
    assert code == 0, err
    assert serving_group(aws, world) == f"switchyard-{world['service']}-{a2}"
