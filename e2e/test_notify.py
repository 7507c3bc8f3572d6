"""Webhooks: every state change and step, in order, as documented JSON or Slack text; never holding a release up."""
import re
import time

import pytest


def started(err):
    return re.match(r"deployment (\S+) started", err).group(1)


@pytest.mark.world(bake="0s", interval="100ms", webhook="/hooks/T000/B000/secret-token", slack_webhook="/slack/secret")
def test_a_receiver_sees_every_event_in_order(world, switchyard, receiver):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = started(err)
    json_bodies = [b for path, b in receiver.bodies if path.startswith("/hooks/")]
    slack_bodies = [b for path, b in receiver.bodies if path.startswith("/slack/")]
    transitions = [(b["event"], b["from"], b["to"]) for b in json_bodies]
    assert transitions == [
        ("state_changed", "pending", "launching"),
        ("state_changed", "launching", "waiting_for_capacity"),
        ("state_changed", "waiting_for_capacity", "checking_health"),
        ("state_changed", "checking_health", "shifting"),
        ("step", "shifting", "shifting"),
        ("step", "shifting", "shifting"),
        ("step", "shifting", "shifting"),
        ("state_changed", "shifting", "promoting"),
        ("state_changed", "promoting", "completed"),
    ], transitions
    assert [b["green_weight"] for b in json_bodies if b["event"] == "step"] == [10, 50, 100]
    first = json_bodies[0]
    assert set(first) == {"event", "deployment_id", "service", "ami", "from", "to", "step", "green_weight", "blue_weight",
                          "message", "at", "details"}
    assert first["deployment_id"] == deployment and first["service"] == world["service"] and first["ami"] == world["new_ami"]
    assert len(slack_bodies) == len(json_bodies)
    assert slack_bodies[-1]["text"].startswith(f"switchyard: {world['service']} {deployment} promoting → completed")
    assert "secret" not in err


@pytest.mark.world(bake="30s", interval="100ms", alarm="{service}-5xx", webhook="/hooks/x")
def test_a_rollback_notification_carries_the_evidence(world, switchyard, aws, receiver):
    from test_rollback import shifted, start, wait_until
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="5xx above 2%")
    assert run.finish()[0] == 3
    rollback = next(b for _, b in receiver.bodies if b["to"] == "rolling_back")
    assert rollback["details"]["check"] == f"alarm:{world['alarms'][0]}"
    assert "5xx above 2%" in rollback["details"]["evidence"]
    assert receiver.bodies[-1][1]["to"] == "rolled_back"


@pytest.mark.parametrize("mode", ["hang", "500"])
@pytest.mark.world(bake="0s", interval="100ms", webhook="/hooks/x", notify_timeout="300ms", notify_retries=1)
def test_a_broken_receiver_never_holds_the_release_up(mode, world, switchyard, receiver):
    receiver.mode = mode
    begun = time.monotonic()
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    took = time.monotonic() - begun
    assert code == 0, err
    # Nine events, each with a 300ms timeout and one retry, would take 5 s if sent in line; the release does not
    # wait for them, and the exit waits at most one timeout for what is still queued.
    assert took < 3.0, f"the release took {took:.1f}s"
    if mode == "500":
        assert receiver.attempts >= 2, "a 5xx is retried"
