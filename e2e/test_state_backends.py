"""The state backend chosen by URL: --state, SWITCHYARD_STATE, the config file, --db; `state copy` into a backend;
history at volume on every backend (SWITCHYARD_E2E_BACKENDS, see conftest.e2e_backends)."""
import datetime
import json
import os
import random
import re
import sqlite3
import subprocess

import pytest

from conftest import on_every_backend


def stamp(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def clone_history(path, count, now):
    """Turns the one real release in a state file into `count` releases of 6 services and 3 AMIs, one an hour back
    from `now`, each with the real release's audit trail; returns [(id, service, ami, state, created)] newest first."""
    con = sqlite3.connect(path, isolation_level=None)
    row = con.execute("SELECT * FROM deployments").fetchone()
    columns = [c[1] for c in con.execute("PRAGMA table_info(deployments)")]
    original = dict(zip(columns, row))
    trail = con.execute("SELECT from_state, to_state, message, actor, details FROM events ORDER BY id").fetchall()
    record = json.loads(original["record"])
    rng = random.Random(13)
    made = []
    con.execute("BEGIN")
    for n in range(count):
        created = now - (n + 1) * 3600
        ident = datetime.datetime.fromtimestamp(created, datetime.timezone.utc).strftime("%Y%m%d-%H%M%S") + f"-{n:04x}"
        service, ami = f"vol{n % 6}", f"ami-{n % 3:08x}"
        state = rng.choice(["completed", "completed", "rolled_back", "failed"])
        record.update(id=ident, state=state, createdAt=stamp(created), updatedAt=stamp(created + 600),
                      blueRetiredAt=stamp(created + 900))
        record["plan"]["ami"] = ami
        record["plan"]["spec"]["service"] = service
        values = dict(original, id=ident, service=service, ami=ami, state=state, created_at=stamp(created),
                      updated_at=stamp(created + 600), finished_at=stamp(created + 600), record=json.dumps(record))
        con.execute(f"INSERT INTO deployments ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [values[c] for c in columns])
        con.executemany("INSERT INTO events (deployment_id, at, from_state, to_state, message, actor, details) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(ident, stamp(created + i), *e) for i, e in enumerate(trail)])
        made.append((ident, service, ami, state, created))
    con.execute("COMMIT")
    con.close()
    return made, len(trail)


@pytest.mark.slow(15)
@on_every_backend
def test_history_at_volume_after_a_state_copy(world, switchyard, state, binary, tmp_path):
    # One real release into a state file, cloned into a few hundred, then moved to the test's backend with `state copy`.
    seed = str(tmp_path / "seed.db")
    proc = subprocess.run([binary, "start", world["file"], "--ami", world["new_ami"], "--db", seed], capture_output=True,
                          text=True, timeout=120, env=state.environment())
    assert proc.returncode == 0, proc.stderr
    real = re.match(r"deployment (\S+) started", proc.stderr).group(1)
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    # 300 clones in a state file; 60 in DynamoDB, where moto copies its whole table in every transaction, so a copy's
    # time grows with the square of the count (2 min for 300, 35 s for 100). Enough for three pages and a window of
    # the filters below either way; bench/history measures DynamoDB at 10,000.
    clones = 300 if state.backend == "sqlite" else 60
    page = clones // 10 + 10            # 40 or 16 a page; page 3 is still whole
    first, last = clones // 10, clones // 2   # the --since/--until window: the 30th to 150th, or 6th to 30th, clone
    made, trail = clone_history(seed, clones, now)
    target = state.url()
    proc = subprocess.run([binary, "state", "copy", f"sqlite://{seed}", target], capture_output=True, text=True, timeout=300,
                          env=state.environment())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"copied {clones + 1} deployments ({(clones + 1) * trail} events, 0 pending requests) from sqlite://{seed} to {target}")
    # Run again, nothing is copied twice.
    proc = subprocess.run([binary, "state", "copy", f"sqlite://{seed}", target], capture_output=True, text=True, timeout=300,
                          env=state.environment())
    assert proc.returncode == 0, proc.stderr
    assert "copied 0 deployments" in proc.stdout and f"{clones + 1} were there already" in proc.stdout

    ids = [real] + [m[0] for m in made]
    code, out, err = switchyard("history", "--limit", str(page), "--page", "3", "--json")
    assert code == 0, err
    assert [d["id"] for d in json.loads(out)] == ids[2 * page:3 * page]
    code, out, err = switchyard("history", "--limit", "1000", "--service", "vol2", "--state", "rolled_back", "--state", "failed")
    assert code == 0, err
    expected = [m[0] for m in made if m[1] == "vol2" and m[3] in ("rolled_back", "failed")]
    assert [line.split()[0] for line in out.splitlines()[1:]] == expected
    # Whole seconds: `--since` takes 2026-11-01T12:00:00Z (a date with a time, no fraction).
    since, until = (stamp(now - hours * 3600)[:19] + "Z" for hours in (last + 0.5, first + 0.5))
    code, out, err = switchyard("history", "--ami", "ami-00000001", "--since", since, "--until", until, "--json", "--limit", "100")
    assert code == 0, err
    window = [m[0] for m in made if m[2] == "ami-00000001" and first + 1 <= made.index(m) + 1 <= last]
    assert len(window) >= 5 and [d["id"] for d in json.loads(out)] == window
    past = (clones + 100) // 100 + 1   # the page after the last of clones + 1 deployments, 100 a page
    code, out, err = switchyard("history", "--limit", "100", "--page", str(past))
    assert code == 0 and out.strip() == f"page {past} is past the last page", (out, err)
    code, out, err = switchyard("export", "--service", "vol4", "--format", "jsonl")
    assert code == 0, err
    exported = [json.loads(line) for line in out.splitlines()]
    assert len(exported) == trail * sum(1 for m in made if m[1] == "vol4")
    assert [e["at"] for e in exported] == sorted(e["at"] for e in exported)
    code, out, err = switchyard("show", made[7][0], "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == made[7][3] and len(json.loads(out)["events"]) == trail
    code, out, _ = switchyard("status")
    assert code == 0 and out.strip() == "no active deployments"


def run(binary, *args, env=None, cwd=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHYARD_"))}
    full.update(env or {})
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, env=full, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_bad_or_conflicting_state_url_is_bad_usage_naming_where_it_came_from(binary, tmp_path):
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    code, out, err = run(binary, "status", "--state", "/var/lib/state.db", env=home)
    assert code == 2 and out == "" and "--state `/var/lib/state.db`: it is not a state URL" in err
    code, _, err = run(binary, "history", "--state", "dynamodb://ab", env=home)
    assert code == 2 and "the table name `ab` has 2 characters" in err
    code, _, err = run(binary, "status", "--state", "sqlite:///a.db", "--db", "/b.db", env=home)
    assert code == 2 and "--db /b.db is given too" in err
    code, _, err = run(binary, "status", env={**home, "SWITCHYARD_STATE": "sqlite:///a.db", "SWITCHYARD_DB": "/b.db"})
    assert code == 2 and "SWITCHYARD_STATE `sqlite:///a.db`: SWITCHYARD_DB=/b.db is set too" in err
    code, _, err = run(binary, "status", env={**home, "SWITCHYARD_STATE": "dynamodb://team?region=eu-west-1&x=1"})
    assert code == 2 and "SWITCHYARD_STATE" in err and "unknown parameter `x`" in err
    (tmp_path / "config" / "switchyard").mkdir(parents=True)
    (tmp_path / "config" / "switchyard" / "config.yaml").write_text("# team state\nstat: sqlite:///x.db\n")
    code, _, err = run(binary, "status", env=home)
    assert code == 2 and f"{tmp_path}/config/switchyard/config.yaml:2: unknown key `stat`" in err
    code, _, err = run(binary, "state", "copy", "sqlite:///same.db", "sqlite:///same.db", env=home)
    assert code == 2 and "FROM and TO are the same store" in err


@on_every_backend
def test_every_way_of_naming_the_state_reaches_the_same_store(world, switchyard, state, binary, tmp_path):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    url = state.url()
    config = tmp_path / "xdg"
    (config / "switchyard").mkdir(parents=True)
    (config / "switchyard" / "config.yaml").write_text(f"state: {url}\n")
    env = state.environment()
    ways = [(["--state", url], {}), ([], {"SWITCHYARD_STATE": url}), ([], {"XDG_CONFIG_HOME": str(config)})]
    if state.backend == "sqlite":
        ways += [(["--db", world["db"]], {}), ([], {"SWITCHYARD_DB": world["db"]}),
                 (["--state", "sqlite://state.db"], {"cwd": os.path.dirname(world["db"])})]
    for flags, extra in ways:
        cwd = extra.pop("cwd", None)
        proc = subprocess.run([binary, "history", "--json", *flags], capture_output=True, text=True, timeout=60,
                              env={**env, **extra}, cwd=cwd)
        assert proc.returncode == 0, (flags, extra, proc.stderr)
        assert [d["id"] for d in json.loads(proc.stdout)] == [deployment], (flags, extra)


@on_every_backend
@pytest.mark.world(bake="30s", interval="200ms")
def test_two_machines_share_one_state(world, state, binary, aws, tmp_path):
    """Two "machines" (their own working directory, HOME and actor) on one state URL: the second cannot start the
    service the first is releasing (exit 4, naming the first runner), sees it in `status` with its runner, and rolls
    it back from where it is."""
    from test_rollback import Running, shifted, wait_until

    def machine(name):
        home = tmp_path / name
        (home / "home").mkdir(parents=True)
        env = state.environment({"HOME": str(home / "home"), "SWITCHYARD_ACTOR": f"{name}@machine-{name}"})
        return lambda *args, background=False: (
            subprocess.Popen([binary, *args, *state.args()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, cwd=home) if background else
            subprocess.run([binary, *args, *state.args()], capture_output=True, text=True, timeout=120, env=env, cwd=home))

    ana, bob = machine("ana"), machine("bob")
    first = Running(ana("start", world["file"], "--ami", world["new_ami"], background=True))
    try:
        wait_until(shifted(aws, world, 10), what="the first step")
        second = bob("start", world["file"], "--ami", world["blue_ami"])
        assert second.returncode == 4, second.stderr
        assert f"deployment {first.id} of {world['service']} is run by another live process: pid {first.proc.pid} on " in second.stderr
        assert "(ana@machine-ana)" in second.stderr
        status = bob("status")
        assert status.returncode == 0, status.stderr
        assert first.id in status.stdout and f"run by pid {first.proc.pid} on " in status.stdout
        assert "(ana@machine-ana)" in status.stdout and "; live (lease renewed until " in status.stdout
        rollback = bob("rollback", first.id, "--reason", "bob saw errors")
        assert rollback.returncode == 0, rollback.stderr
        code, _, err = first.finish()
        assert code == 3, err
    finally:
        first.proc.kill()
        first.proc.communicate(timeout=10)
    shown = bob("show", first.id, "--json")
    events = json.loads(shown.stdout)["events"]
    assert any(e["actor"] == "bob@machine-bob" and "bob saw errors" in e["message"] for e in events), events
    assert json.loads(shown.stdout)["state"] == "rolled_back"


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_record_a_newer_switchyard_wrote_is_refused_and_left_as_it_is(world, switchyard, aws):
    """A record in a newer record format (as a newer switchyard sharing the store would write it) is neither read nor
    changed: `status` and `rollback` exit 1 naming the deployment and both formats, the traffic stays where it is, and
    the row is as it was. The same record without the newer format rolls back."""
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = re.match(r"deployment (\S+) started", err).group(1)
    green_tg = world["target_group_arns"][1]
    assert aws.weights(world["listener_arn"]).get(green_tg) == 100
    con = sqlite3.connect(world["db"], isolation_level=None)
    con.execute("UPDATE deployments SET record = json_set(record, '$.recordFormat', 4) WHERE id = ?", (deployment,))
    before = con.execute("SELECT * FROM deployments WHERE id = ?", (deployment,)).fetchone()
    events = con.execute("SELECT count(*) FROM events WHERE deployment_id = ?", (deployment,)).fetchone()
    for command in (["status", deployment], ["rollback", deployment, "--reason", "undo"]):
        code, out, err = switchyard(*command)
        assert code == 1, (command, code, out, err)
        assert (f"error: the stored record of deployment {deployment} is in record format 4, written by a newer switchyard; "
                "this one knows formats up to 3") in err, err
    assert aws.weights(world["listener_arn"]).get(green_tg) == 100
    assert con.execute("SELECT * FROM deployments WHERE id = ?", (deployment,)).fetchone() == before
    assert con.execute("SELECT count(*) FROM events WHERE deployment_id = ?", (deployment,)).fetchone() == events
    con.execute("UPDATE deployments SET record = json_remove(record, '$.recordFormat') WHERE id = ?", (deployment,))
    con.close()
    code, _, err = switchyard("rollback", deployment, "--reason", "undo")
    assert code == 0, err
    assert aws.weights(world["listener_arn"]).get(green_tg, 0) == 0
