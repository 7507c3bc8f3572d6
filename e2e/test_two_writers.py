"""Two operators with two state files on one service: whatever each state file believes, traffic never moves to a
fleet that is gone, and a rollback that cannot be done safely says so (exit 2) instead of reporting success."""
import re
import signal
import sqlite3
import time

import pytest

from conftest import on_every_backend


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
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention", db=db_a)
    assert code == 0, err
    a2 = started(err)
    # B, with its own state file, may retire A2's kept blue (it stands on the target group B needs) only when told to:
    # the retention is in a tag on the group, seen from every state file.
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], db=db_b)
    assert code == 2, err
    assert "kept for rollback until" in err and "switchyard:retain-until" in err, err
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--end-retention", db=db_b)
    assert code == 0, err
    b1 = started(err)
    serving = serving_group(aws, world)
    assert serving == f"switchyard-{world['service']}-{b1}"
    groups_before = set(aws.groups(world))

    code, _, err = switchyard("rollback", a2, db=db_a)
    assert code == 2, err
    assert "was not rolled back" in err and ("is gone" in err or "no longer exists" in err), err
    assert serving_group(aws, world) == serving, "traffic moved"
    assert set(aws.groups(world)) == groups_before, "a group was deleted by a refused rollback"

    # B's rollback is sound: its blue (A2's green) still stands at full size.
    code, _, err = switchyard("rollback", b1, db=db_b)
    assert code == 0, err
    assert serving_group(aws, world) == f"switchyard-{world['service']}-{a2}"


@on_every_backend
@pytest.mark.world(bake="30s", interval="200ms")
def test_a_runner_stopped_past_its_lease_writes_nothing_when_it_wakes(world, switchyard, aws, state_backend):
    """SIGSTOP past the lease, `rollback` from another terminal takes over and finishes; SIGCONT: the woken runner
    stops without writing its stale record or touching AWS, and no group was deleted while it carried traffic."""
    import json

    from test_rollback import Running, shifted, wait_until
    env = {"SWITCHYARD_LEASE_TTL": "2s"}
    run = Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env=env))
    wait_until(shifted(aws, world, 10), what="the first step")
    # Frozen between two writes: frozen inside one, it holds SQLite's write lock, which nothing can take from it
    # (test_a_runner_frozen_in_the_middle_of_a_write_… below says what the operator sees then).
    freeze_between_writes(run.proc, world["db"] if state_backend == "sqlite" else None)
    try:
        time.sleep(2.5)
        code, _, err = switchyard("rollback", run.id, "--reason", "runner frozen", env=env)
        assert code == 0, err
        assert "taking over from" in err, err
        _, out, _ = switchyard("show", run.id, "--json")
        events_before = len(json.loads(out)["events"])
    finally:
        run.proc.send_signal(signal.SIGCONT)
    code, _, err = run.finish(timeout=30)
    assert code != 0, err
    assert "another process took over" in err, err
    _, out, _ = switchyard("show", run.id, "--json")
    view = json.loads(out)
    assert view["state"] == "rolled_back"
    assert len(view["events"]) == events_before, view["events"][events_before:]
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]).get(green_tg, 0) == 0


def write_lock_is_free(db):
    """Whether a write transaction can begin on the SQLite state file at once."""
    con = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error) or "busy" in str(error), error
        return False
    finally:
        con.close()


def freeze_between_writes(proc, db):
    """SIGSTOPs `proc` at a moment it holds no write transaction on `db` (None: a store without file locks): frozen
    while it does, it is let run for 20 ms and frozen again."""
    for _ in range(500):
        proc.send_signal(signal.SIGSTOP)
        time.sleep(0.005)  # the signal is delivered before the lock is looked at
        if db is None or write_lock_is_free(db):
            return
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError(f"the runner held the write lock of {db} at every one of 500 looks")


@pytest.mark.world(bake="30s", interval="200ms")
def test_a_runner_frozen_in_the_middle_of_a_write_leaves_the_other_terminal_a_clear_refusal(world, switchyard, aws):
    """A runner frozen while it holds SQLite's write lock keeps it (no process can take it away): `rollback` from
    another terminal waits SQLite's 5 s busy timeout, then says the file is locked, names it and exits 4 with the
    listener untouched; once the lock is let go, the same command takes over and rolls back."""
    from test_rollback import Running, shifted, wait_until
    env = {"SWITCHYARD_LEASE_TTL": "2s"}
    run = Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env=env))
    wait_until(shifted(aws, world, 10), what="the first step")
    freeze_between_writes(run.proc, world["db"])
    # The frozen runner's open write transaction, held here so the test decides when it ends.
    holder = sqlite3.connect(world["db"], timeout=5, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        time.sleep(2.5)  # past the runner's lease: only the lock stands in the way
        began = time.monotonic()
        code, _, err = switchyard("rollback", run.id, "--reason", "runner frozen", env=env)
        waited = time.monotonic() - began
        assert code == 4, err
        assert f"the state file {world['db']} stayed locked by another process" in err, err
        assert "fuser" in err and "Run the command again once it is free" in err, err
        assert waited >= 4.5, f"answered after {waited:.1f} s, before SQLite's 5 s busy timeout"
        assert shifted(aws, world, 10)(), aws.weights(world["listener_arn"])
        holder.execute("ROLLBACK")
        code, _, err = switchyard("rollback", run.id, "--reason", "runner frozen", env=env)
        assert code == 0, err
        assert "taking over from" in err, err
    finally:
        holder.close()
        run.proc.send_signal(signal.SIGCONT)
    code, _, err = run.finish(timeout=30)
    assert code != 0 and "another process took over" in err, err
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]).get(green_tg, 0) == 0


@pytest.mark.world(bake="6s", interval="200ms")
def test_a_runner_whose_listener_was_claimed_elsewhere_stops_without_moving_traffic(world, switchyard, aws, tmp_path):
    """Another state file force-unlocks the listener of a live release: the first runner's next traffic write is
    fenced (exit 4) and the listener stays where the last confirmed step left it."""
    from test_rollback import Running, shifted, wait_until
    run = Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True))
    wait_until(shifted(aws, world, 10), what="the first step")
    aws.elb.add_tags(ResourceArns=[world["listener_arn"]], Tags=[{"Key": "switchyard:deployment", "Value": "someone-else"}])
    code, _, err = run.finish(timeout=60)
    assert code == 4, err
    assert "is tagged for deployment someone-else" in err, err
    assert shifted(aws, world, 10)(), aws.weights(world["listener_arn"])


@pytest.mark.world(bake="0s", interval="1s")
def test_a_create_retried_after_a_timeout_answers_already_exists_and_the_release_goes_on(world, switchyard, aws, proxy):
    """The first CreateAutoScalingGroup reaches AWS but its answer comes too late; the resend is answered
    AlreadyExists, as AWS does: the group carries this deployment's tag, so it is ours and the release goes on."""
    proxy.hold("CreateAutoScalingGroup", 3)
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"],
                              env={"AWS_ENDPOINT_URL": proxy.url, "SWITCHYARD_AWS_TIMEOUT": "1s"})
    assert code == 0, err
    creates = [r.outcome for r in proxy.requests if r.action == "CreateAutoScalingGroup"]
    assert creates == ["held+forwarded", "injected:AlreadyExists"], creates
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1
    green = [name for name in aws.groups() if name.startswith(f"switchyard-{world['service']}-")]
    assert green == [f"switchyard-{world['service']}-{started(err)}"]


@pytest.mark.world(bake="0s", interval="200ms")
def test_a_group_not_yet_visible_after_creation_is_waited_for_not_taken_as_gone(world, switchyard, aws, proxy):
    """DescribeAutoScalingGroups may not list a group just created for a moment (eventual consistency)."""
    hidden = {"left": 3}

    def not_yet(body):
        if hidden["left"] > 0 and proxy.counts.get("CreateAutoScalingGroup") and b"switchyard-" in body:
            hidden["left"] -= 1
            return re.sub(rb"<AutoScalingGroups>.*</AutoScalingGroups>", b"<AutoScalingGroups/>", body, flags=re.S)
        return body
    proxy.rewrite("DescribeAutoScalingGroups", not_yet)
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"AWS_ENDPOINT_URL": proxy.url})
    assert code == 0, err
    assert hidden["left"] == 0, "the group was never hidden"
    assert f"switchyard-{world['service']}-{started(err)}" in aws.groups()


@pytest.mark.world(bake="30s", interval="200ms")
def test_a_listener_gone_before_resume_is_a_runtime_failure_not_bad_usage(world, switchyard, aws):
    import signal

    from test_rollback import start as start_background
    run = start_background(switchyard, world, env={"SWITCHYARD_TEST_CRASH": "before:setSplit"})
    assert run.finish()[0] == -signal.SIGKILL
    aws.elb.delete_listener(ListenerArn=world["listener_arn"])
    code, _, err = switchyard("resume", run.id)
    assert code == 1, err
    assert "could not read what deployment" in err and "does not exist" in err, err


@pytest.mark.world(bake="30s", interval="200ms")
def test_green_is_never_deleted_while_the_listener_sends_it_traffic(world, switchyard, aws, proxy):
    """After the rollback's write, someone sends traffic to green again (as the listener reads from then on):
    removing green is refused, the deployment ends failed and green still stands."""
    from test_rollback import Running, shifted, wait_until
    blue_tg, green_tg = world["target_group_arns"]

    def green_again(body):
        if proxy.counts.get("ModifyListener", 0) < 2:
            return body
        text = body.decode()
        for arn, weight in ((blue_tg, 0), (green_tg, 100)):
            text = re.sub(rf"(<TargetGroupArn>{re.escape(arn)}</TargetGroupArn>\s*<Weight>)\d+(</Weight>)", rf"\g<1>{weight}\g<2>", text)
        return text.encode()
    env = {"AWS_ENDPOINT_URL": proxy.url}
    run = Running(switchyard("start", world["file"], "--ami", world["new_ami"], background=True, env=env))
    wait_until(shifted(aws, world, 10), what="the first step")
    proxy.rewrite("DescribeListeners", green_again)
    code, _, err = switchyard("rollback", run.id, env=env)
    assert code == 1, err
    code, _, err = run.finish()
    assert code == 1, err
    assert f"switchyard-{world['service']}-{run.id}" in aws.groups(), "green was deleted while it carried traffic"
    assert "which carries traffic; it was left alone" in err, err
