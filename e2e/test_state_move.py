"""`state copy` of an active deployment (issue 21): a plain copy left it active in both stores, and two runners then
resumed it side by side. It is refused, naming --move; with --move the source records where it went, and `resume`,
`rollback` and `promote` there refuse it, naming the destination, while it goes on from the destination."""
import json
import os
import subprocess

import pytest

from conftest import on_every_backend


def run(binary, state, *args):
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, env=state.environment())
    return proc.returncode, proc.stdout, proc.stderr


@on_every_backend
@pytest.mark.world(steps="10,pause,100", bake="0s", interval="100ms")
def test_an_active_deployment_is_moved_not_forked(world, switchyard, binary, state, state_backend, tmp_path):
    """On either store: the move's fenced save and its event are the store's own writes (a DynamoDB transaction)."""
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--detach-at-pause", "--json")
    assert code == 5, err
    deployment = err.split("deployment ", 1)[1].split(" ", 1)[0]
    if state_backend == "sqlite":
        source, target = f"sqlite://{world['db']}", f"sqlite://{tmp_path / 'team.db'}"
    else:
        # A team's table to another region's, say: two tables (state.url creates each with `state init`).
        source, target = state.url(), state.url(str(tmp_path / "team.db"))

    code, out, err = run(binary, state, "state", "copy", source, target)
    assert code == 2 and out == "", err
    assert err.strip() == (f"error: the source holds an active deployment ({deployment}): a copy would leave it active in both "
                           "stores, where two runners could resume it side by side. Copy with --move (the source then records "
                           "where each went, and refuses to resume it), or let it finish first"), err
    if state_backend == "sqlite":
        assert not os.path.exists(tmp_path / "team.db"), "a refused copy creates nothing"
    else:
        code, out, err = run(binary, state, "history", "--json", "--state", target)
        assert code == 0 and json.loads(out) == [], (out, err)

    code, out, err = run(binary, state, "state", "copy", "--move", source, target)
    assert code == 0, err
    assert out.startswith("copied 1 deployment (") and f"moved 1 active deployment ({deployment}): {source} records it as moved" in out, out

    for command in ("resume", "rollback", "promote"):
        code, _, err = switchyard(command, deployment)
        assert code == 2, (command, err)
        assert err.startswith(f"error: deployment {deployment} was moved to {target} by `switchyard state copy --move` at "), err
        assert err.rstrip().endswith(f"this store no longer runs it: `switchyard {command} {deployment} --state {target}`"), err
    code, out, _ = switchyard("status")
    assert f"moved to {target} by `switchyard state copy --move`: it goes on there, not here" in out, out
    code, out, _ = switchyard("show", deployment, "--json")
    moved = json.loads(out)
    assert moved["moved_to"] == target and moved["moved_at"]
    assert moved["state"] == "paused" and moved["events"][-1]["message"].startswith(f"moved to {target} by `switchyard state copy --move`")

    # A new release of the service started from the source while the moved one is still active in the destination:
    # refused (exit 4) as another active release would be, naming the store where it goes on, not this one.
    code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], timeout=60)
    assert code == 4 and out == "", err
    assert f"deployment {deployment} of this service is still active (paused, started " in err, err
    assert f"in {target}, where `switchyard state copy --move` moved it at " in err, err
    assert f"`switchyard resume {deployment} --state {target}` / `switchyard rollback {deployment} --state {target}`" in err, err
    code, out, _ = switchyard("history", "--json")
    assert [d["id"] for d in json.loads(out)] == [deployment], out

    # Run again, the copy finds nothing new and no conflict; the destination carries the release on.
    code, out, err = run(binary, state, "state", "copy", "--move", source, target)
    assert code == 0 and out.startswith("copied 0 deployments"), (out, err)
    code, _, err = run(binary, state, "promote", deployment, "--state", target)
    assert code == 0, err
    code, out, _ = run(binary, state, "show", deployment, "--json", "--state", target)
    assert json.loads(out)["state"] == "completed" and json.loads(out)["moved_to"] is None
