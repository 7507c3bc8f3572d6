"""Issue 11, "the first hour with Switchyard": each friction a newcomer met, as the same command now answers it."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import REPO


def started_id(err):
    return re.search(r"deployment (\S+) started", err).group(1)


def release(switchyard, world, *extra, env=None):
    code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], *extra, env=env)
    assert code == 0, err
    return started_id(err), out, err


# 4. State-file mistakes


def test_a_read_command_on_a_state_file_that_does_not_exist_says_so(world, switchyard, tmp_path):
    missing = str(tmp_path / "no-such-dir" / "s.db")
    for command in (["history"], ["history", "--json"], ["status"], ["show", "20261124-000000-0001"], ["export"]):
        code, out, err = switchyard(*command, db=missing)
        assert code == 2, (command, err)
        assert out == "", command
        assert f"no state file at {missing}" in err, err
    # Nothing was created by looking.
    assert not os.path.exists(os.path.dirname(missing))


@pytest.mark.world(bake="0s", interval="100ms")
def test_start_says_when_it_creates_a_new_state_file_away_from_the_default(world, switchyard):
    first, _, err = release(switchyard, world)
    # Second, after the line scripts read the id from.
    assert err.splitlines()[1] == f"note: created a new state file at {world['db']}: it holds no earlier deployments", err
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention")
    assert code == 0, err
    assert "new state file" not in err


def as_nobody():
    """The binary run as an unprivileged user: root ignores file modes, so permission tests drop to `nobody`."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: file modes cannot be tested")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_read_only_location_says_permission_denied_and_a_read_only_state_file_can_still_be_read(world, switchyard, binary):
    first, _, _ = release(switchyard, world)
    shared = tempfile.mkdtemp(prefix="switchyard-ro-", dir="/tmp")
    try:
        os.chmod(shared, 0o755)
        state = os.path.join(shared, "state.db")
        shutil.copy(world["db"], state)
        os.chmod(state, 0o444)
        spec = shutil.copy(world["file"], os.path.join(shared, "web.yaml"))
        os.chmod(spec, 0o644)
        env = {"PATH": os.environ["PATH"], "HOME": shared, "NO_COLOR": "1"}
        run = lambda *args: subprocess.run(as_nobody() + [binary, *args], capture_output=True, text=True, env=env, timeout=60)
        for command in (["history"], ["history", "--json"], ["status"], ["show", first], ["export"], ["state", "check"]):
            proc = run(*command, "--db", state)
            assert proc.returncode == 0, (command, proc.stderr)
            assert first in proc.stdout or command == ["status"] or command == ["state", "check"], (command, proc.stdout)
        assert json.loads(run("history", "--json", "--db", state).stdout)[0]["id"] == first
        # Writing where it may not: the path and the reason, never Foundation's NSCocoaErrorDomain.
        proc = run("start", spec, "--ami", world["new_ami"], "--db", os.path.join(shared, "sub", "s.db"))
        assert proc.returncode != 0
        assert f"permission denied: {shared}/sub" in proc.stderr, proc.stderr
        assert "NSCocoaErrorDomain" not in proc.stderr
        proc = run("rollback", first, "--db", state)
        assert f"permission denied: {state}" in proc.stderr, proc.stderr
        assert "NSCocoaErrorDomain" not in proc.stderr and "SQLite error" not in proc.stderr
    finally:
        shutil.rmtree(shared, ignore_errors=True)


# 5. A damaged state file


def damaged_copy(db, out):
    """Seven releases in the history (one real, six cloned from it), then the pages of the deployments table and its
    time index overwritten in the middle of the file, as a bad disk or a half-copied file leaves them."""
    with sqlite3.connect(db) as c:
        columns = [d[0] for d in c.execute("SELECT * FROM deployments").description]
        row = c.execute("SELECT * FROM deployments").fetchone()
        for i in range(1, 7):
            r = list(row)
            r[0] = row[0][:-4] + "%04x" % i
            r[columns.index("created_at")] = "2026-11-2%dT00:00:00.000Z" % i
            r[columns.index("record")] = row[columns.index("record")].replace(row[0], r[0]) + " " * 3000
            c.execute("INSERT INTO deployments VALUES (%s)" % ",".join("?" * len(r)), r)
        c.commit()
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = [p for (p,) in c.execute("SELECT rootpage FROM sqlite_master WHERE name IN ('deployments', 'deployments_by_created')")]
        size = c.execute("PRAGMA page_size").fetchone()[0]
    shutil.copy(db, out)
    with open(out, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * size)
            f.write(b"\xff" * size)
    return row[0]


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_damaged_state_file_is_named_as_such_by_every_command_and_state_check_finds_it(world, switchyard, tmp_path):
    release(switchyard, world)
    good = str(tmp_path / "good.db")
    damaged = str(tmp_path / "damaged.db")
    first = damaged_copy(world["db"], damaged)
    shutil.copy(world["db"], good)
    # (`status` reads only the index of active deployments, which is intact here, and answers rightly.)
    for command in (["history"], ["history", "--json"], ["export"], ["show", first],
                    ["start", world["file"], "--ami", world["blue_ami"], "--end-retention"]):
        code, out, err = switchyard(*command, db=damaged)
        assert code == 1, (command, err)
        # Nothing on stdout: no partial table, no partial JSON.
        assert out == "", (command, out)
        assert f"the state file {damaged} is damaged" in err, (command, err)
        assert f"switchyard state check --db {damaged}" in err and "last good copy" in err
        assert "SQLite error 11 on" not in err
    code, out, err = switchyard("state", "check", db=damaged)
    assert code == 1 and f"the state file {damaged} is damaged; SQLite reports:" in err, err
    assert "docs/states.md#a-damaged-state-file" in err
    code, out, err = switchyard("state", "check", db=good)
    assert code == 0 and "is sound" in out, err
    code, out, err = switchyard("history", "--json", db=good)
    assert code == 0 and len(json.loads(out)) == 7 and first in out


# 6. The final deployment on stdout


@pytest.mark.world(bake="0s", interval="100ms")
def test_start_and_rollback_json_print_the_final_deployment_on_stdout(world, switchyard):
    code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["id"] == started_id(err) and d["state"] == "completed" and d["ami"] == world["new_ami"]
    assert d["events"][0]["to"] == "pending" and d["events"][-1]["to"] == "completed"
    code, shown, _ = switchyard("show", d["id"], "--json")
    # The same object, but for `blue_read`: show reads blue from AWS, start does not (null, docs/commands.md#json).
    shown = json.loads(shown)
    assert d.pop("blue_read") is None and shown.pop("blue_read")["state"] == "kept", shown
    assert shown == d
    code, out, err = switchyard("rollback", d["id"], "--reason", "ci said so", "--json")
    assert code == 0, err
    undone = json.loads(out)
    assert undone["state"] == "rolled_back" and undone["rollback_reason"].endswith("ci said so")
    code, out, err = switchyard("resume", d["id"], "--json")
    assert code == 0 and json.loads(out)["state"] == "rolled_back", err


# 7. Progress without a terminal


@pytest.mark.world(bake="2s", interval="200ms")
def test_without_a_terminal_a_bake_prints_a_line_with_time_left_and_checks_while_it_lasts(world, switchyard):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"SWITCHYARD_PROGRESS_EVERY": "500ms"})
    assert code == 0, err
    ticks = [line for line in err.splitlines() if "baking, " in line]
    assert len(ticks) >= 3, err
    assert all(re.search(r"baking, \d+(ms|s) of 2s left; checks: target-health ok", line) for line in ticks), ticks
    assert "\x1b" not in err


# 8. Error lists with a cap


def test_a_file_of_many_unknown_keys_lists_fifty_problems_and_a_huge_file_is_refused_unread(binary, tmp_path):
    many = tmp_path / "many.yaml"
    many.write_text("".join(f"key{i}: 1\n" for i in range(80)))
    proc = subprocess.run([binary, "plan", str(many), "--ami", "ami-12345678"], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0].endswith("is not a valid deployment file (84 problems):"), lines[0]
    # Four required keys are missing too; every problem is on a line of its own.
    assert len([line for line in lines if line.startswith("  line ")]) == 50
    assert lines[-1] == "  and 34 more"
    huge = tmp_path / "huge.yaml"
    huge.write_text("".join(f"key{i}: 1\n" for i in range(400_000)))
    started = time.monotonic()
    proc = subprocess.run([binary, "plan", str(huge), "--ami", "ami-12345678"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 2, proc.stderr[:500]
    assert f"a deployment file is at most {1 << 20} bytes" in proc.stderr
    assert time.monotonic() - started < 10


# 9. Misleading lines


@pytest.mark.world(bake="0s", interval="100ms", retention="1h")
def test_a_new_release_shows_only_its_own_events(world, switchyard):
    release(switchyard, world)
    code, _, err = switchyard("start", world["file"], "--ami", world["blue_ami"], "--end-retention")
    assert code == 0, err
    lines = [line for line in err.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", line)]
    # The first release's own event ("blue … scaled to 0 and deleted: deployment … needs where it stands") is in its
    # trail, not in the second release's output; the second one says the retirement in its own line.
    assert not any("needs where it stands" in line for line in lines), err
    assert [line.split()[2] for line in lines][-1] == "completed"
    assert all(line.split()[2] != "completed" for line in lines[:-1]), err


@pytest.mark.world(bake="0s", interval="100ms")
def test_status_on_a_crashed_release_suggests_resume_as_well_as_rollback(world, switchyard):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"],
                              env={"SWITCHYARD_TEST_CRASH": "before:ensureGreenTemplate", "SWITCHYARD_LEASE_TTL": "1s"})
    assert code != 0
    crashed = started_id(err)
    time.sleep(1.2)
    code, out, err = switchyard("status")
    assert code == 0, err
    assert f"`switchyard resume {crashed}`" in out and f"`switchyard rollback {crashed}`" in out, out


def test_plan_warns_when_blue_already_runs_the_ami(world, switchyard):
    code, out, err = switchyard("plan", world["file"], "--ami", world["blue_ami"])
    assert code == 0, err
    assert f"warning: blue {world['blue_asg']} already runs {world['blue_ami']}" in err, err
    code, _, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert "already runs" not in err


def test_every_error_begins_the_same_way_and_a_bad_log_level_is_named(binary, tmp_path):
    usage = subprocess.run([binary, "plan"], capture_output=True, text=True)
    ours = subprocess.run([binary, "history", "--db", str(tmp_path / "none.db")], capture_output=True, text=True)
    for proc in (usage, ours):
        assert proc.returncode == 2
        assert proc.stderr.startswith("error: "), proc.stderr
        assert "Error:" not in proc.stderr
    proc = subprocess.run([binary, "history", "--db", str(tmp_path / "none.db")], capture_output=True, text=True,
                          env={**os.environ, "SWITCHYARD_LOG_LEVEL": "verbose"})
    assert ("warning: SWITCHYARD_LOG_LEVEL=verbose is not a level; using warning. "
            "The levels: trace, debug, info, notice, warning, error, critical") in proc.stderr, proc.stderr


def test_a_key_in_the_wrong_section_says_where_it_belongs_and_links_its_reference(binary, tmp_path):
    path = tmp_path / "first-guess.yaml"
    path.write_text("service: web\nregion: us-east-1\nlistener_arn: arn:aws:elasticloadbalancing:x\n"
                    "traffic:\n  target_groups: [a, b]\n  listener_arn: arn:aws:elasticloadbalancing:x\n"
                    "steps:\n  - weight: 100\nchecks:\n  alarms: [x]\n  url: http://127.0.0.1/\n")
    proc = subprocess.run([binary, "plan", str(path), "--ami", "ami-12345678"], capture_output=True, text=True)
    assert proc.returncode == 2
    # The docs named where they are (a development build: the checkout's docs/; see test_input.py for an installed one).
    assert ("line 3, listener_arn: unknown key: did you mean `traffic.listener_arn`? "
            f"(see {REPO}/docs/deployment-file.md#traffic-listener_arn)") in proc.stderr, proc.stderr
    assert f"checks.url: unknown key: did you mean `checks.http.url`? (see {REPO}/docs/deployment-file.md#checks-http-url)" in proc.stderr
    for anchor in re.findall(r"docs/deployment-file\.md#([\w-]+)", proc.stderr):
        assert f'id="{anchor}"' in open(os.path.join(REPO, "docs", "deployment-file.md")).read(), anchor


# 10. Quiet test output


def test_the_unit_tests_pass_quietly():
    if not os.path.isdir(os.path.join(REPO, ".build", "debug")) or not shutil.which("swift"):
        pytest.skip("no Swift build")
    script = open(os.path.join(REPO, "scripts", "test")).read()
    assert "--disable-xctest" in script
    if os.environ.get("SWITCHYARD_UNIT_LOG"):
        # scripts/test ran the suite just before (`swift test --skip-build --disable-xctest 2>&1`): its output is held
        # here instead of running the whole suite a second time.
        output = open(os.environ["SWITCHYARD_UNIT_LOG"]).read()
        assert os.environ.get("SWITCHYARD_UNIT_STATUS") == "0", output[-2000:]
        assert re.search(r"Test run with \d+ tests in \d+ suites passed", output), output[-2000:]
    else:
        proc = subprocess.run(["swift", "test", "--skip-build", "--disable-xctest"], cwd=REPO, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:]
        output = proc.stdout + proc.stderr
    assert "Executed 0 tests" not in output
    # A passing test that exercises a failure must not log it: a warning in green output reads like a problem.
    assert not re.search(r"^\d{4}-\d\d-\d\dT\S+ (warning|error|info|notice) ", output, re.M), \
        re.findall(r"^\d{4}-\d\d-\d\dT.*$", output, re.M)[:3]
