"""Hooks end to end: the deployment file's commands run by the real binary at their points, against moto. A failing
smoke test rolls back before any weight moves, a hanging hook dies at its timeout, each after_step hook sees its step's
weight, and a crash during a hook then `resume` runs again only the hook that had not finished."""
import json
import os
import signal
import time
import urllib.parse

import pytest

from test_rollback import assert_back_on_blue, rollback_event, shown, start, wait_until


def add_hooks(world, hooks):
    """Appends a `hooks:` section; each hook is (point, argv, extra keys)."""
    lines = ["hooks:"]
    for point in dict.fromkeys(p for p, _, _ in hooks):
        lines.append(f"  {point}:")
        for p, argv, extra in hooks:
            if p != point:
                continue
            lines.append(f"    - run: {json.dumps(argv)}")
            lines += [f"      {key}: {value}" for key, value in extra.items()]
    with open(world["file"], "a") as f:
        f.write("\n".join(lines) + "\n")


def sh(script):
    return ["sh", "-c", script]


def green_weights_written(proxy, green_tg):
    """Every green weight the binary sent in a ModifyListener/ModifyRule, in order."""
    weights = []
    for r in proxy.requests:
        if r.action not in ("ModifyListener", "ModifyRule"):
            continue
        form = urllib.parse.parse_qs(r.body.decode())
        for key, values in form.items():
            if key.endswith(".TargetGroupArn") and values[0] == green_tg:
                weights.append(int(form.get(key[: -len("TargetGroupArn")] + "Weight", ["1"])[0]))
    return weights


@pytest.mark.world(bake="0s", interval="200ms")
def test_a_failing_before_traffic_hook_rolls_back_before_any_traffic_moves(world, switchyard, aws, proxy, poller, tmp_path):
    after = tmp_path / "after_rollback.env"
    add_hooks(world, [
        ("before_traffic", sh("echo probing green; echo 'smoke failed: GET /healthz 503' >&2; exit 1"), {"timeout": "10s"}),
        ("after_rollback", sh(f"env > {after}"), {}),
    ])
    blue_tg, green_tg = world["target_group_arns"]
    with poller(world, blue_tg, green_tg) as watch:
        run = start(switchyard, world, env={"AWS_ENDPOINT_URL": proxy.url})
        code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    assert proxy.counts.get("CreateAutoScalingGroup") == 1, "green was created and proven healthy first"
    # No write ever gave green a share (the rollback's own write, if any, is 0), and the listener never showed one.
    assert all(w == 0 for w in green_weights_written(proxy, green_tg)), green_weights_written(proxy, green_tg)
    assert watch.seen == [(100, 0)], watch.seen
    event = rollback_event(shown(switchyard, run.id))
    details = event["details"]
    assert details["check"] == "hook:before_traffic" and details["exit_code"] == "1", details
    assert details["output"] == "probing green\nsmoke failed: GET /healthz 503\n", details
    assert "the before_traffic hook 1 (sh -c" in event["message"] and "exited 1: probing green | smoke failed: GET /healthz 503" in event["message"]
    env = dict(line.split("=", 1) for line in after.read_text().splitlines() if "=" in line)
    assert env["SWITCHYARD_HOOK"] == "after_rollback" and env["SWITCHYARD_GREEN_WEIGHT"] == "0"


@pytest.mark.world(bake="0s", interval="200ms")
def test_a_hanging_hook_is_killed_at_its_timeout(world, switchyard, aws, tmp_path):
    pid = tmp_path / "hook.pid"
    add_hooks(world, [("before_traffic", sh(f"echo $$ > {pid}; exec sleep 60"), {"timeout": "1s"})])
    began = time.time()
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 3, err
    assert time.time() - began < 30
    assert_back_on_blue(aws, world, run.id)
    details = rollback_event(shown(switchyard, run.id))["details"]
    assert details["outcome"] == "was killed at its timeout 1s", details
    hook = int(pid.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(hook, 0)


@pytest.mark.world(bake="0s", interval="200ms")
def test_each_after_step_hook_sees_its_steps_weight_and_no_credentials_of_switchyards_own(world, switchyard, proxy, tmp_path):
    seen = tmp_path / "steps"
    record = f'echo "$SWITCHYARD_HOOK $SWITCHYARD_STEP/$SWITCHYARD_STEPS $SWITCHYARD_GREEN_WEIGHT $SWITCHYARD_DEPLOYMENT_ID ' \
             f'$SWITCHYARD_GREEN_ASG ${{AWS_ACCESS_KEY_ID:-no-key}} ${{AWS_SECRET_ACCESS_KEY:-no-secret}}" >> {seen}'
    add_hooks(world, [("before_traffic", sh(record), {}), ("after_step", sh(record), {}), ("before_promotion", sh(record), {}),
                      ("after_promotion", sh(record), {})])
    # Switchyard reads its credentials from a profile: the hooks get the user's environment, which has none.
    credentials = tmp_path / "credentials"
    credentials.write_text("[hooks]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = {"AWS_ENDPOINT_URL": proxy.url, "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": "hooks", "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
           "AWS_CONFIG_FILE": str(tmp_path / "no-config")}
    run = start(switchyard, world, env=env)
    code, _, err = run.finish()
    assert code == 0, err
    green = f"switchyard-{world['service']}-{run.id}"
    assert green_weights_written(proxy, world["target_group_arns"][1]) == [10, 50, 100]
    assert seen.read_text().splitlines() == [
        f"before_traffic 0/3 0 {run.id} {green} no-key no-secret",
        f"after_step 1/3 10 {run.id} {green} no-key no-secret",
        f"after_step 2/3 50 {run.id} {green} no-key no-secret",
        f"after_step 3/3 100 {run.id} {green} no-key no-secret",
        f"before_promotion 3/3 100 {run.id} {green} no-key no-secret",
        f"after_promotion 3/3 100 {run.id} {green} no-key no-secret",
    ]


@pytest.mark.world(bake="0s", interval="200ms")
def test_a_crash_during_a_hook_then_resume_runs_again_only_the_hook_that_had_not_finished(world, switchyard, tmp_path):
    runs, once, pid = tmp_path / "runs", tmp_path / "once", tmp_path / "hook.pid"
    add_hooks(world, [
        ("before_traffic", sh(f"echo before >> {runs}"), {}),
        ("after_step", sh(f'echo "step $SWITCHYARD_STEP" >> {runs}; '
                          f'if [ "$SWITCHYARD_STEP" = 2 ] && [ ! -e {once} ]; then touch {once}; echo $$ > {pid}; exec sleep 60; fi'), {"timeout": "2m"}),
    ])
    run = start(switchyard, world)
    wait_until(lambda: pid.exists() and pid.read_text().strip(), what="the second step's hook to start")
    # The machine goes away with Switchyard and the hook.
    run.proc.kill()
    assert run.proc.wait(timeout=10) == -signal.SIGKILL
    os.kill(int(pid.read_text()), signal.SIGKILL)
    assert shown(switchyard, run.id)["running_hook"] == "after_step[1]@1"
    code, _, err = switchyard("resume", run.id)
    assert code == 0, err
    assert "hook after_step[1]@1 had not finished; running it again" in err, err
    assert runs.read_text().splitlines() == ["before", "step 1", "step 2", "step 2", "step 3"]
    view = shown(switchyard, run.id)
    assert view["state"] == "completed" and view["running_hook"] is None
    assert view["finished_hooks"] == ["before_traffic[1]", "after_step[1]@0", "after_step[1]@1", "after_step[1]@2"]


@pytest.mark.world(bake="0s", interval="200ms")
def test_a_crash_right_after_a_hook_finished_never_runs_it_again(world, switchyard, tmp_path):
    runs = tmp_path / "runs"
    add_hooks(world, [("before_traffic", sh(f"echo before >> {runs}"), {}), ("after_step", sh(f'echo "step $SWITCHYARD_STEP" >> {runs}'), {})])
    crashed = start(switchyard, world, env={"SWITCHYARD_TEST_CRASH": "after-save:runHook:1"})
    assert crashed.finish()[0] == -signal.SIGKILL
    code, _, err = switchyard("resume", crashed.id)
    assert code == 0, err
    assert "had not finished" not in err
    assert runs.read_text().splitlines() == ["before", "step 1", "step 2", "step 3"]


def test_plan_lists_the_hooks_and_the_metric_queries(world, switchyard):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n  metrics:\n    - alb_5xx_rate\n")
    open(world["file"], "w").write(text)
    add_hooks(world, [("before_traffic", ["./smoke.sh", "--fast"], {"timeout": "30s"}), ("after_step", ["load test"], {"on_failure": "pause"}),
                      ("after_rollback", ["page"], {})])
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    assert "  hooks     before_traffic: ./smoke.sh --fast (timeout 30s, on failure rollback)" in out, out
    assert "            after_step: 'load test' (timeout 5m, on failure pause), at each of the 3 steps" in out, out
    assert "            after_rollback: page (timeout 5m, on failure ignore)" in out, out
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["hooks"]["before_traffic"] == [{"run": ["./smoke.sh", "--fast"], "timeout_ms": 30000, "on_failure": "rollback"}]
    assert plan["hooks"]["after_step"][0]["on_failure"] == "pause" and plan["hooks"]["before_promotion"] == []
    blue_tg, green_tg = world["target_group_arns"]
    metric = plan["metrics"][0]
    assert metric["name"] == "alb_5xx_rate"
    green_queries = json.dumps(metric["green"])
    assert "targetgroup/" + green_tg.split(":targetgroup/")[1] in green_queries
    assert "targetgroup/" + blue_tg.split(":targetgroup/")[1] in json.dumps(metric["blue"])


@pytest.mark.world(bake="0s", interval="200ms")
def test_sigterm_during_a_hook_stops_it_and_resume_runs_it_again(world, switchyard, tmp_path):
    runs, pid = tmp_path / "runs", tmp_path / "hook.pid"
    add_hooks(world, [("before_traffic", sh(f'echo before >> {runs}; [ -e {pid} ] || {{ echo $$ > {pid}; exec sleep 60; }}'), {"timeout": "2m"})])
    run = start(switchyard, world)
    wait_until(lambda: pid.exists() and pid.read_text().strip(), what="the hook to start")
    began = time.time()
    run.proc.send_signal(signal.SIGTERM)
    code, _, err = run.finish(timeout=30)
    assert code == 5, err
    assert time.time() - began < 10, "the hook was stopped, not waited for"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid.read_text()), 0)
    assert "the before_traffic hook 1 was stopped before it ended" in err, err
    code, _, err = switchyard("resume", run.id)
    assert code == 0, err
    assert "hook before_traffic[1] had not finished; running it again" in err, err
    assert runs.read_text().splitlines() == ["before", "before"]


@pytest.mark.world(bake="0s", interval="200ms")
def test_a_failed_hook_with_on_failure_pause_waits_and_promote_goes_on_from_the_same_step(world, switchyard, aws, tmp_path):
    runs = tmp_path / "runs"
    add_hooks(world, [("after_step", sh(f'echo "step $SWITCHYARD_STEP" >> {runs}; [ "$SWITCHYARD_STEP" != 1 ]'), {"on_failure": "pause"})])
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--detach-at-pause")
    assert code == 5, err
    assert "waits at a failed hook (on_failure: pause) at blue 90% / green 10%" in err, err
    deployment = shown_id(err)
    view = shown(switchyard, deployment)
    assert view["state"] == "paused"
    paused = [e for e in view["events"] if e["to"] == "paused"][0]
    assert paused["details"]["check"] == "hook:after_step" and paused["details"]["exit_code"] == "1"
    code, _, err = switchyard("promote", deployment)
    assert code == 0, err
    assert shown(switchyard, deployment)["state"] == "completed"
    # Promote went on from the step where the hook failed (no step skipped), and did not run that hook again.
    assert runs.read_text().splitlines() == ["step 1", "step 2", "step 3"]


def shown_id(err):
    return err.splitlines()[0].split()[1]
