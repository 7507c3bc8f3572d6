"""A team's shared DynamoDB state: two "machines" (each its own HOME, working directory and actor) run switchyard
against one table on moto. The second start of a service is refused naming the first runner, `rollback ID` from one
machine rolls back the release the other runs, and a runner frozen past its lease cannot write once it wakes."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import base_environment
from test_rollback import Running, assert_back_on_blue, shifted, wait_until


class Machine:
    """One machine of the team: its own HOME and working directory, the same table and AWS endpoint as the others."""

    def __init__(self, name, actor, binary, validator, world, table, tmp_path):
        self.name, self.actor, self.binary = name, actor, binary
        self.home = tmp_path / f"{name}-home"
        self.cwd = tmp_path / f"{name}-work"
        self.home.mkdir()
        self.cwd.mkdir()
        self.url = f"dynamodb://{table}?region={world.get('region', 'us-east-1')}"
        self.env = base_environment(validator, world, {"HOME": str(self.home), "SWITCHYARD_ACTOR": actor,
                                                       "AWS_ENDPOINT_URL_DYNAMODB": validator.url})

    def run(self, *args, env=None, background=False, timeout=120):
        command = [self.binary, *args, "--state", self.url]
        full = {**self.env, **(env or {})}
        if background:
            return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full, cwd=self.cwd)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=full, cwd=self.cwd)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def team(binary, validator, world, tmp_path):
    """Two machines sharing a table created by the first with `switchyard state init`."""
    table = f"team-{world['service']}"
    ana = Machine("laptop", "ana@laptop", binary, validator, world, table, tmp_path)
    ci = Machine("runner", "ci@runner", binary, validator, world, table, tmp_path)
    proc = subprocess.run([binary, "state", "init", ana.url], capture_output=True, text=True, timeout=60, env=ana.env, cwd=ana.cwd)
    assert proc.returncode == 0, proc.stderr
    return ana, ci


def start(machine, world, env=None):
    return Running(machine.run("start", world["file"], "--ami", world["new_ami"], background=True, env=env))


@pytest.mark.world(bake="30s", interval="200ms")
def test_a_second_start_on_another_machine_is_refused_naming_the_first_runner(world, team, aws):
    ana, ci = team
    run = start(ana, world)
    try:
        wait_until(shifted(aws, world, 10), what="the first step")
        code, _, err = ci.run("start", world["file"], "--ami", world["new_ami"])
        assert code == 4, err
        assert f"deployment {run.id}" in err and f"pid {run.proc.pid}" in err and "ana@laptop" in err, err
        # The other machine sees the release and who runs it.
        code, out, err = ci.run("status")
        assert code == 0, err
        assert run.id in out and f"pid {run.proc.pid}" in out and "(ana@laptop)" in out and "live" in out, out
        assert not os.path.exists(ci.home / ".local" / "state" / "switchyard" / "state.db"), "a state file was made on the runner"
    finally:
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=10)


@pytest.mark.world(bake="30s", interval="200ms")
def test_rollback_from_another_machine_rolls_back_the_release_it_runs(world, team, aws):
    ana, ci = team
    run = start(ana, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    requested = time.time()
    code, _, err = ci.run("rollback", run.id, "--reason", "errors in the runner's canary")
    assert code == 0, err
    assert f"deployment {run.id} rolled back" in err, err
    assert time.time() - requested < 15
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    code, out, err = ana.run("show", run.id, "--json")
    assert code == 0, err
    view = json.loads(out)
    assert view["state"] == "rolled_back"
    rollback = [e for e in view["events"] if e["to"] == "rolling_back"][0]
    assert rollback["actor"] == "ci@runner", rollback
    assert "errors in the runner's canary" in rollback["message"], rollback


@pytest.mark.world(bake="30s", interval="200ms")
def test_a_runner_frozen_past_its_lease_cannot_write_after_it_wakes(world, team, aws):
    ana, ci = team
    env = {"SWITCHYARD_LEASE_TTL": "2s"}
    run = start(ana, world, env=env)
    wait_until(shifted(aws, world, 10), what="the first step")
    run.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(2.5)
        code, _, err = ci.run("rollback", run.id, "--reason", "laptop asleep", env=env)
        assert code == 0, err
        assert "taking over from" in err, err
        _, out, _ = ci.run("show", run.id, "--json")
        before = json.loads(out)
    finally:
        run.proc.send_signal(signal.SIGCONT)
    code, _, err = run.finish(timeout=30)
    assert code != 0, err
    assert "another process" in err, err
    _, out, _ = ana.run("show", run.id, "--json")
    after = json.loads(out)
    assert after["state"] == "rolled_back"
    assert after["events"] == before["events"], after["events"][len(before["events"]):]
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]).get(green_tg, 0) == 0


def test_a_missing_table_names_the_command_that_creates_it(world, binary, validator, tmp_path):
    machine = Machine("laptop", "ana@laptop", binary, validator, world, "no-such-table", tmp_path)
    code, _, err = machine.run("status")
    assert code == 2, err
    assert err.strip() == ("error: DynamoDB table no-such-table not found in us-east-1: create it with "
                           "`switchyard state init dynamodb://no-such-table?region=us-east-1`"), err


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_throttled_table_slows_a_release_down_but_does_not_fail_it(world, binary, proxy, tmp_path):
    """DynamoDB's throttling answer (JSON, HTTP 400) on the writes of a running release is retried with backoff."""
    machine = Machine("laptop", "ana@laptop", binary, proxy, world, f"throttled-{world['service']}", tmp_path)
    proc = subprocess.run([binary, "state", "init", machine.url], capture_output=True, text=True, timeout=60, env=machine.env)
    assert proc.returncode == 0, proc.stderr
    proxy.fail("TransactWriteItems", code="ProvisionedThroughputExceededException", status=400, times=3)
    code, _, err = machine.run("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    throttled = [r for r in proxy.requests if r.outcome == "injected:ProvisionedThroughputExceededException"]
    assert len(throttled) == 3 and all(r.status == 400 for r in throttled)
    assert proxy.forwarded_count("TransactWriteItems") >= 3
