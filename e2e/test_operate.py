"""Operating a release: the manual gate and `promote`, detaching at the gate for CI."""
import json
import re

import pytest

from conftest import on_every_backend
from test_rollback import shifted, start, wait_until


def state_of(switchyard, deployment):
    code, out, _ = switchyard("show", deployment, "--json")
    return json.loads(out) if code == 0 else None


def paused(switchyard, deployment):
    return lambda: (state_of(switchyard, deployment) or {}).get("state") == "paused"


@on_every_backend
@pytest.mark.world(steps="10,pause,100", bake="200ms", interval="100ms")
def test_a_gate_waits_until_promote_from_a_second_terminal(world, switchyard, aws):
    run = start(switchyard, world)
    wait_until(paused(switchyard, run.id), what="the gate")
    assert shifted(aws, world, 10)(), "the gate comes after the 10% step baked"
    code, out, _ = switchyard("status")
    assert f"waiting at a manual gate: `switchyard promote {run.id}`" in out and "run by pid" in out
    code, _, err = switchyard("promote", run.id, env={"SWITCHYARD_ACTOR": "release-manager@desk"})
    assert code == 0, err
    # promote follows the release until its runner has handled the request: it says where the release went on to,
    # or, when the 200 ms bakes ran to the end before promote's next read (on DynamoDB they can), how it ended.
    assert "goes on" in err or f"{run.id} completed" in err, err
    code, _, err = run.finish()
    assert code == 0, err
    assert shifted(aws, world, 100)()
    events = state_of(switchyard, run.id)["events"]
    requested = [e for e in events if e["message"] == "promotion past the manual gate requested"]
    assert len(requested) == 1 and requested[0]["actor"] == "release-manager@desk"
    # A deployment that is not at a gate cannot be promoted.
    code, _, err = switchyard("promote", run.id)
    assert code == 2 and "not waiting at a manual gate" in err


@pytest.mark.world(steps="10,pause,100", bake="200ms", interval="100ms", alarm="{service}-5xx")
def test_a_failing_alarm_while_paused_rolls_back(world, switchyard, aws):
    run = start(switchyard, world)
    wait_until(paused(switchyard, run.id), what="the gate")
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="errors while paused")
    code, _, err = run.finish()
    assert code == 3, err
    assert shifted(aws, world, 0)()
    events = state_of(switchyard, run.id)["events"]
    rollback = next(e for e in events if e["to"] == "rolling_back")
    assert rollback["from"] == "paused" and "errors while paused" in rollback["details"]["evidence"]


@pytest.mark.world(steps="10,pause,100", bake="200ms", interval="100ms")
def test_detach_at_pause_exits_5_and_promote_finishes_the_release(world, switchyard, aws):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--detach-at-pause")
    assert code == 5, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    assert f"switchyard promote {deployment}" in err
    assert state_of(switchyard, deployment)["state"] == "paused"
    assert shifted(aws, world, 10)()
    code, _, err = switchyard("promote", deployment)
    assert code == 0, err
    assert state_of(switchyard, deployment)["state"] == "completed"
    assert shifted(aws, world, 100)()


@on_every_backend
@pytest.mark.world(bake="0s", interval="100ms")
def test_history_filters_pages_and_export_streams_the_log(world, switchyard):
    ids = []
    for ami in (world["new_ami"], world["blue_ami"]):
        code, _, err = switchyard("start", world["file"], "--ami", ami, "--end-retention")
        assert code == 0, err
        ids.append(re.match(r"deployment (\S+) started", err).group(1))
    code, out, err = switchyard("history", "--limit", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "SERVICE", "AMI", "STARTED", "DURATION", "RESULT", "ACTOR"]
    assert lines[1].split()[0] == ids[1] and "completed" in lines[1] and "e2e@test" in lines[1]
    assert "--page 2 for older ones" in err
    code, out, _ = switchyard("history", "--limit", "1", "--page", "2")
    assert out.splitlines()[1].split()[0] == ids[0]
    code, out, _ = switchyard("history", "--ami", world["blue_ami"], "--json")
    assert [d["id"] for d in json.loads(out)] == [ids[1]]
    code, out, _ = switchyard("history", "--service", world["service"], "--state", "rolled_back", "--since", "1h")
    assert out.strip() == "no deployments match"
    code, _, err = switchyard("history", "--since", "yesterday")
    assert code == 2 and "--since yesterday" in err
    code, out, err = switchyard("export", "--since", "1h", "--format", "jsonl")
    assert code == 0, err
    exported = [json.loads(line) for line in out.splitlines()]
    shown = sum(len(json.loads(switchyard("show", i, "--json")[1])["events"]) for i in ids)
    assert len(exported) == shown
    assert [e["at"] for e in exported] == sorted(e["at"] for e in exported), "oldest first"
    assert {e["deployment_id"] for e in exported} == set(ids)
    assert set(exported[0]) == {"id", "at", "deployment_id", "service", "ami", "from", "to", "message", "actor", "details"}
    assert exported[-1]["to"] == "completed" and exported[-1]["ami"] == world["blue_ami"]
    code, out, _ = switchyard("export", "--service", "nobody")
    assert code == 0 and out == ""


@pytest.mark.world(bake="0s", interval="100ms")
def test_the_ami_can_come_from_a_packer_manifest(world, switchyard, aws, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"builds": [
        {"name": "web", "builder_type": "amazon-ebs", "artifact_id": f"us-east-1:{world['blue_ami']}", "packer_run_uuid": "r1"},
        {"name": "web", "builder_type": "amazon-ebs", "artifact_id": f"eu-west-1:ami-0fedcba9876543210,us-east-1:{world['new_ami']}",
         "packer_run_uuid": "r2"},
        {"name": "other", "builder_type": "amazon-ebs", "artifact_id": "eu-west-1:ami-0fedcba9876543210", "packer_run_uuid": "r1"},
    ], "last_run_uuid": "r2"}))
    before = aws.snapshot(world)
    code, _, err = switchyard("start", world["file"], "--packer-manifest", str(manifest), "--packer-build", "other")
    assert code == 2, err
    assert "build `other` has no AMI for us-east-1" in err
    code, _, err = switchyard("start", world["file"], "--packer-manifest", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err
    code, _, err = switchyard("start", world["file"], "--packer-manifest", str(manifest), "--ami", world["new_ami"])
    assert code == 2 and "not both" in err
    assert aws.snapshot(world) == before, "a bad manifest changes nothing"
    code, _, err = switchyard("start", world["file"], "--packer-manifest", str(manifest))
    assert code == 0, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    shown = state_of(switchyard, deployment)
    assert shown["ami"] == world["new_ami"]
    assert f"AMI from Packer manifest {manifest}, build `web`, region us-east-1" in shown["events"][0]["message"]


def test_a_packer_manifest_is_read_by_region_and_several_candidates_are_refused_by_name(world, switchyard, tmp_path):
    """The last build in the file is of another region (or architecture): the build of the last run that has an AMI
    for the file's region is taken; two such builds are refused, named, until --packer-build picks one."""
    manifest = tmp_path / "manifest.json"
    builds = [{"name": "web", "builder_type": "amazon-ebs", "artifact_id": f"us-east-1:{world['new_ami']}", "packer_run_uuid": "r"},
              {"name": "web-eu", "builder_type": "amazon-ebs", "artifact_id": "eu-west-1:ami-0fedcba9876543210", "packer_run_uuid": "r"}]
    manifest.write_text(json.dumps({"builds": builds, "last_run_uuid": "r"}))
    code, out, err = switchyard("plan", world["file"], "--packer-manifest", str(manifest), "--json")
    assert code == 0, err
    assert json.loads(out)["ami"] == world["new_ami"]
    builds.append({"name": "web-arm64", "builder_type": "amazon-ebs", "artifact_id": f"us-east-1:{world['arm_ami']}", "packer_run_uuid": "r"})
    manifest.write_text(json.dumps({"builds": builds, "last_run_uuid": "r"}))
    code, out, err = switchyard("plan", world["file"], "--packer-manifest", str(manifest))
    assert code == 2 and out == "", err
    assert err.strip() == (f"error: {manifest}: 2 builds of the last run have an AMI for us-east-1, the deployment file's region: "
                           f"`web` ({world['new_ami']}), `web-arm64` ({world['arm_ami']}); choose one with --packer-build NAME"), err
    code, out, err = switchyard("plan", world["file"], "--packer-manifest", str(manifest), "--packer-build", "web", "--json")
    assert code == 0 and json.loads(out)["ami"] == world["new_ami"], err


@pytest.mark.world(bake="400ms", interval="100ms")
def test_the_live_view_on_a_terminal_shows_the_step_and_the_weights_bar(world, validator):
    import os
    import pty
    import select
    import subprocess
    from conftest import BIN
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "NO_COLOR"}
    env.update(AWS_ENDPOINT_URL=validator.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               SWITCHYARD_ACTOR="e2e@test", TERM="xterm-256color")
    proc = subprocess.Popen([BIN, "start", world["file"], "--ami", world["new_ami"], "--db", world["db"]],
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    assert proc.wait(timeout=30) == 0
    text = screen.decode("utf-8", "replace")
    # Up to the panel's first row, then everything below it erased, then the panel again.
    assert "\x1b[" in text and "\x1b[J" in text and "F\x1b[J" in text, "the panel is redrawn in place"
    assert "\x1b[32m" in text, "in colour on a terminal"
    assert "traffic  blue" in text and "░" in text and "█" in text
    assert "step 1/3 → 10%" in text and "bake " in text and "left" in text
    assert world["service"] in text and re.search(r"checks   (\x1b\[32m)?ok  (\x1b\[0m)? target-health", text)


@pytest.mark.world(bake="0s", interval="100ms")
def test_without_a_terminal_it_is_one_plain_line_per_event(world, switchyard):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"NO_COLOR": None, "TERM": "xterm-256color"})
    assert code == 0, err
    assert "\x1b" not in err
    lines = err.splitlines()
    assert lines[0].startswith("deployment ") and lines[-1].startswith("deployment ")
    # (A `note:` says the test's fresh state file was created away from the default location.)
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  \S+", line) for line in lines[1:-1] if not line.startswith("note: ")), lines


def test_version_names_the_git_revision_and_completions_exist(binary):
    import subprocess
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+ \(git ([0-9a-f]{12}(-dirty)?|unknown)\)", out), out
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    if head:
        assert head in out
    for shell, marker in (("bash", "_switchyard()"), ("zsh", "#compdef switchyard"), ("fish", "complete -c 'switchyard'")):
        script = subprocess.run([binary, "--generate-completion-script", shell], capture_output=True, text=True, check=True).stdout
        assert marker in script, shell
        for command in ("start", "resume", "rollback", "promote", "history", "export", "gc"):
            assert command in script, (shell, command)
