"""Input that should not surprise (issue 21): a repeated single-value option, a directory given as a file, a
misspelled command or state, counts in words, `history --status`, a state table of another schema, `plan --json`'s
null fields, and a `blue_retention: 0s` blue that the next start may retire at once."""
import datetime
import json
import os
import re
import subprocess
import time

import boto3
import pytest

from conftest import REPO, base_environment

PLAIN_MAX = """  metrics:
    - name: errors
      namespace: AWS/ApplicationELB
      metric: HTTPCode_Target_5XX_Count
      dimensions:
        TargetGroup: "{green_target_group}"
      stat: Sum
      max: 5
"""


def test_an_option_that_takes_one_value_given_twice_is_refused_naming_it(world, switchyard):
    code, out, err = switchyard("plan", world["file"], "--ami", world["blue_ami"], "--ami", world["new_ami"])
    assert code == 2 and out == "", (code, out, err)
    assert err.strip() == (f"error: --ami is given more than once ({world['blue_ami']}, then {world['new_ami']}); "
                           "it takes one value: give it once"), err
    code, _, err = switchyard("history", "--limit=3", "--limit", "4")
    assert code == 2 and "error: --limit is given more than once (3, then 4)" in err, err
    # A repeatable option and a flag may be given twice.
    code, _, err = switchyard("history", "--status", "failed", "--status", "rolled_back", "--json", "--json")
    assert code in (0, 2) and "more than once" not in err, err


def test_a_mistyped_command_is_answered_with_the_nearest_one(binary):
    for args, expected in [(["statsu"], "error: switchyard has no command statsu: did you mean status?"),
                           (["rolback", "x"], "error: switchyard has no command rolback: did you mean rollback?"),
                           (["state", "inti"], "error: switchyard state has no command inti: did you mean init?")]:
        proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith(expected + " (commands: "), proc.stderr
    proc = subprocess.run([binary, "xyzzy"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "did you mean" not in proc.stderr and "has no command xyzzy" in proc.stderr


def test_a_directory_given_as_the_deployment_file_is_called_a_directory(switchyard, world, tmp_path):
    code, _, err = switchyard("plan", str(tmp_path), "--ami", world["new_ami"])
    assert code == 2, err
    assert err.strip() == f"error: cannot read the deployment file {tmp_path}: is a directory; give a file", err
    code, _, err = switchyard("plan", world["file"], "--packer-manifest", str(tmp_path))
    assert code == 2 and f"cannot read the Packer manifest {tmp_path}: is a directory" in err, err


def test_history_filters_with_status_and_the_old_spelling_still_works_with_a_note(world, switchyard):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    code, out, err = switchyard("history", "--status", "completed", "--json")
    assert code == 0 and err == "", err
    assert [d["state"] for d in json.loads(out)] == ["completed"]
    code, out, err = switchyard("history", "--status", "rolled_back", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, err = switchyard("history", "--state", "completed", "--json")
    assert code == 0 and [d["state"] for d in json.loads(out)] == ["completed"]
    assert err.strip() == ("note: `history --state completed` is deprecated: filter with `--status completed` "
                           "(--state names where the state lives)"), err
    code, _, err = switchyard("history", "--status", "complted")
    assert code == 2 and "error: --status complted is not a state; did you mean completed? One of pending," in err, err


def test_a_copy_of_one_deployment_says_one_deployment(world, switchyard, binary, tmp_path):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    target = tmp_path / "copy.db"
    proc = subprocess.run([binary, "state", "copy", f"sqlite://{world['db']}", f"sqlite://{target}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("copied 1 deployment ("), proc.stdout
    assert "1 deployments" not in proc.stdout and " 1 events" not in proc.stdout and "1 pending requests" not in proc.stdout
    assert "0 pending requests)" in proc.stdout
    again = subprocess.run([binary, "state", "copy", f"sqlite://{world['db']}", f"sqlite://{target}"],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "copied 0 deployments" in again.stdout
    assert "; 1 was there already, identical, and was left alone" in again.stdout, again.stdout


def test_state_init_on_a_table_of_another_schema_is_exit_1_and_names_what_it_has(world, binary, validator):
    table = f"other-{world['service']}"
    dynamo = boto3.client("dynamodb", endpoint_url=validator.url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    dynamo.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    env = base_environment(validator, world, {"AWS_ENDPOINT_URL_DYNAMODB": validator.url})
    proc = subprocess.run([binary, "state", "init", f"dynamodb://{table}?region=us-east-1"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 1, proc.stderr
    assert (f"error: DynamoDB table {table} in us-east-1 is not a Switchyard state table (key schema id HASH, no indexes); "
            f"see {REPO}/docs/state-dynamodb.md") in proc.stderr, proc.stderr
    assert "indexes )" not in proc.stderr


def test_plan_json_gives_every_documented_null_of_a_metric_check(world, switchyard):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + PLAIN_MAX)
    open(world["file"], "w").write(text)
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    [check] = json.loads(out)["metrics"]
    assert set(check) == {"name", "rule", "period_ms", "min_samples", "on_no_data", "green", "blue"}, check
    assert check["blue"] is None
    assert check["green"]["expression"] is None and set(check["green"]) == {"expression", "metrics"}
    [stat] = check["green"]["metrics"]
    assert stat["id"] is None and set(stat) == {"id", "namespace", "metric", "stat", "dimensions"}, stat


def whole_second_after(text):
    at = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    return at, float(int(at) + 1) if at != int(at) else at


@pytest.mark.world(bake="0s", interval="100ms", retention="0s")
def test_the_next_release_right_after_a_promotion_with_zero_retention_may_retire_the_blue(world, switchyard, aws):
    """The blue's deadline is the promotion's instant, and its retain-until tag says that instant (it was once rounded
    up to the second). A plan made in the rest of that second must treat the blue as due, not as kept: tried until
    one plan falls in that window."""
    amis = [world["new_ami"], world["third_ami"], world["blue_ami"]] * 3
    for ami, next_ami in zip(amis, amis[1:]):
        code, out, err = switchyard("start", world["file"], "--ami", ami, "--json")
        assert code == 0, err
        deadline, tag_second = whole_second_after(json.loads(out)["retention_deadline"])
        code, out, err = switchyard("plan", world["file"], "--ami", next_ami)
        planned_by = time.time()
        assert code == 0, err
        if planned_by < tag_second:
            return
    pytest.fail("no plan came within the second after its promotion; the test proves nothing")


@pytest.mark.world(bake="0s", interval="100ms")
def test_orchestrator_warnings_have_the_documented_prefix_and_no_timestamp(world, switchyard):
    """A webhook that cannot be reached is a warning of the orchestrator's logger: it reads `warning: …` as every
    warning does, not swift-log's `2026-12-02T03:44:49+0000 warning switchyard: …`."""
    text = open(world["file"]).read().replace("promotion:\n", "notify:\n  webhooks:\n    - url: http://127.0.0.1:9/hook\n"
                                              "  timeout: 1s\n  retries: 0\npromotion:\n")
    open(world["file"], "w").write(text)
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    failed = [line for line in err.splitlines() if "webhook attempt failed" in line]
    assert failed, err
    assert all(line.startswith("warning: webhook attempt failed (attempt=1, outcome=") for line in failed), failed
    assert all(line.endswith(", webhook=http://127.0.0.1:9/…)") for line in failed), failed
    assert not [line for line in err.splitlines() if " warning switchyard" in line or "+0000 " in line], err


def bash_completions(binary, words, cwd, env=None):
    """What bash offers for the last of `words` (after `switchyard`), from the binary's own completion script."""
    script = subprocess.run([binary, "--generate-completion-script", "bash"], capture_output=True, text=True, check=True).stdout
    (cwd / "switchyard.bash").write_text(script)
    quoted = " ".join(f"'{w}'" for w in ["switchyard", *words])
    line = " ".join(["switchyard", *words])
    index = len(words)
    program = (f'source switchyard.bash; COMP_WORDS=({quoted}); COMP_CWORD={index}; COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; '
               f'_switchyard switchyard "${{COMP_WORDS[{index}]}}" "${{COMP_WORDS[{index - 1}]}}"; printf "%s\\n" "${{COMPREPLY[@]}}"')
    environment = {**os.environ, **(env or {}), "PATH": os.path.dirname(binary) + ":" + os.environ["PATH"]}
    proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, cwd=cwd, env=environment, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.split("\n") if w]


@pytest.mark.world(bake="0s", interval="100ms")
def test_the_shells_complete_files_and_deployment_ids_from_the_state(world, switchyard, binary, tmp_path):
    code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--json")
    assert code == 0, err
    deployment = json.loads(out)["id"]
    work = tmp_path / "work"
    work.mkdir()
    for name in ("web.yaml", "notes.txt", "packer.json"):
        (work / name).write_text("")
    assert bash_completions(binary, ["start", ""], work) == ["web.yaml"]
    assert bash_completions(binary, ["plan", "web.yaml", "--packer-manifest", ""], work) == ["packer.json"]
    assert set(bash_completions(binary, ["status", "--db", ""], work)) >= {"web.yaml", "notes.txt", "packer.json"}
    for command in ("resume", "rollback", "promote", "show", "status"):
        assert bash_completions(binary, [command, "--db", world["db"], ""], work) == [deployment], command
    assert bash_completions(binary, ["show", f"--db={world['db']}", deployment[:9]], work) == [deployment]
    assert bash_completions(binary, ["show", "--db", world["db"], "x"], work) == []
    assert bash_completions(binary, ["show", ""], work, env={"SWITCHYARD_DB": world["db"]}) == [deployment]


def test_help_and_hints_name_the_docs_where_they_are_on_this_machine(binary, tmp_path):
    """Installed as the Debian package lays it out (BIN/../share/doc/switchyard/docs), the binary names those files;
    run from a checkout, the checkout's docs/. Never a `docs/` that exists only in a repository."""
    import shutil
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    installed_docs = root / "usr" / "share" / "doc" / "switchyard" / "docs"
    shutil.copytree(os.path.join(REPO, "docs"), installed_docs)
    installed = root / "usr" / "bin" / "switchyard"
    shutil.copy(binary, installed)
    missing = tmp_path / "none.db"
    for program, docs in ((str(installed), f"{installed_docs}/"), (binary, f"{REPO}/docs/")):
        help_text = " ".join(subprocess.run([program, "--help"], capture_output=True, text=True, check=True).stdout.split())
        assert f"The reference is in {docs}: deployment-file.md (every key)" in help_text, help_text
        proc = subprocess.run([program, "status", "--db", str(missing)], capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)})
        assert proc.returncode == 2 and f"({docs}environment.md#switchyard_db)" in proc.stderr, proc.stderr
        assert os.path.exists(f"{docs}environment.md")


def sub_commands(program, path=()):
    """Every command path of the binary (`()`, `("plan",)`, `("state", "copy")`, …), from the SUBCOMMANDS of each
    --help."""
    found = [path]
    text = subprocess.run([program, *path, "--help"], capture_output=True, text=True, check=True).stdout
    if "SUBCOMMANDS:" in text:
        listing = text.split("SUBCOMMANDS:", 1)[1].split("\n\n", 1)[0]
        for name in re.findall(r"^  (\w[\w-]*)", listing, re.M):
            if name != "help":
                found += sub_commands(program, path + (name,))
    return found


def docs_references(text):
    """Each path or URL to the docs a text names: `/usr/share/doc/switchyard/docs/states.md#x`, `https://…/commands.md`,
    a bare `docs/…`; trailing punctuation left off."""
    return [ref.rstrip(".:;,") for ref in re.findall(r"[^\s()`'\"]*docs/[^\s()`'\",;]*", text)]


def test_every_help_and_hint_names_docs_that_exist_here_or_an_https_link_to_them(binary, tmp_path):
    """Every sub-command's --help, and a file's validation hints, for the three layouts a binary runs in: installed by
    the package (the docs in BIN/../share/doc/switchyard/docs), a bare binary with no docs anywhere near it (README's
    /usr/local/bin install: the published docs of that version, https), and the checkout's build. Each reference to
    the docs is a file that exists on this machine or an https URL; none is a repository's `docs/…`, none has `//`."""
    import shutil
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    installed_docs = root / "usr" / "share" / "doc" / "switchyard" / "docs"
    shutil.copytree(os.path.join(REPO, "docs"), installed_docs)
    shutil.copy(binary, root / "usr" / "bin" / "switchyard")
    (tmp_path / "bare" / "bin").mkdir(parents=True)
    shutil.copy(binary, tmp_path / "bare" / "bin" / "switchyard")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.split()[0]
    online = f"https://example.com/switchyard/docs/{version}/"
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text("service: web\ncolour: blue\nchecks:\n  url: http://x/\n")
    layouts = {"installed": (str(root / "usr" / "bin" / "switchyard"), f"{installed_docs}/"),
               "bare": (str(tmp_path / "bare" / "bin" / "switchyard"), online),
               "checkout": (binary, f"{REPO}/docs/")}
    problems, seen = [], {}
    for layout, (program, docs) in layouts.items():
        commands = sub_commands(program)
        assert len(commands) >= 15 and ("state", "copy") in commands and ("serve",) in commands, commands
        texts = {" ".join(("switchyard",) + c) + " --help":
                 subprocess.run([program, *c, "--help"], capture_output=True, text=True, check=True).stdout for c in commands}
        hint = subprocess.run([program, "plan", str(bad_file), "--ami", "ami-0abc1234def567890"], capture_output=True, text=True,
                              env={**os.environ, "HOME": str(tmp_path), "NO_COLOR": "1"})
        assert hint.returncode == 2, hint.stderr
        texts["plan bad.yaml"] = hint.stderr
        seen[layout] = 0
        for where, text in texts.items():
            for ref in docs_references(text):
                seen[layout] += 1
                target, _, _ = ref.partition("#")
                if not ref.startswith(docs):
                    problems.append(f"{layout}: {where}: {ref} is not under {docs}")
                elif "//" in ref.split("://", 1)[-1]:
                    problems.append(f"{layout}: {where}: {ref} has //")
                elif ref.startswith("https://"):
                    # The URL names a file of this version's docs (or their folder).
                    if not os.path.exists(os.path.join(REPO, "docs", target[len(online):])):
                        problems.append(f"{layout}: {where}: {ref} names no file of docs/")
                elif not (os.path.isdir(target) if target.endswith("/") else os.path.isfile(target)):
                    problems.append(f"{layout}: {where}: {ref} does not exist")
    assert not problems, "\n".join(problems)
    # The main help, serve's, state check's and init's each name the docs, and the file's hints do.
    assert all(n >= 5 for n in seen.values()), seen


def test_state_urls_complete_their_scheme_then_the_files_of_a_sqlite_path(world, binary, tmp_path):
    work = tmp_path / "urls"
    (work / "states").mkdir(parents=True)
    (work / "states" / "prod.db").write_text("")
    (work / "team.db").write_text("")
    assert bash_completions(binary, ["status", "--state", ""], work) == ["sqlite://", "dynamodb://"]
    assert bash_completions(binary, ["show", "--state", "sq"], work) == ["sqlite://"]
    assert set(bash_completions(binary, ["status", "--state", "sqlite://"], work)) >= {"sqlite://states/", "sqlite://team.db"}
    assert bash_completions(binary, ["history", "--state", "sqlite://states/p"], work) == ["sqlite://states/prod.db"]
    absolute = f"sqlite://{work}/states/"
    assert bash_completions(binary, ["status", "--state", absolute], work) == [absolute + "prod.db"]


PLURAL_NOUNS = r"\b1 (steps|samples|instances|deployments|services|probes|characters|events)\b"

GREEN_ONLY_CHECK = """  metrics:
    - name: errors
      namespace: AWS/ApplicationELB
      metric: HTTPCode_Target_5XX_Count
      dimensions:
        LoadBalancer: "{load_balancer}"
        TargetGroup: "{green_target_group}"
      stat: Sum
      period: 1m
      max: 5
      min_samples: 3
      on_no_data: rollback
"""


@pytest.mark.world(steps="100", bake="4s", interval="200ms", settle="1s")
def test_one_step_and_one_data_point_are_counted_in_the_singular(world, switchyard, aws):
    """A release of one step whose metric check, a rule on green alone, has one data point: plan's lines about the
    steps and the verdict show prints never say `1 steps` or `1 samples`."""
    from test_hooks import add_hooks
    from test_metrics import put
    from test_rollback import shown, start, wait_until
    # A 1 s period, so that the step's own window (from its live time) holds the one point within the bake.
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + GREEN_ONLY_CHECK.replace("period: 1m", "period: 1s"))
    open(world["file"], "w").write(text)
    add_hooks(world, [("after_step", ["true"], {})])
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    assert "after_step: true (timeout" in out and ", at the one step" in out, out
    assert "over 1 step)" in out, out
    assert not re.search(PLURAL_NOUNS, out + err), re.findall(r".{40}" + PLURAL_NOUNS, out + err)
    run = start(switchyard, world)
    # The step judges only its own traffic (docs/states.md): the one point is green's, a second after the step is live.
    live = []
    def step_live():
        for e in shown(switchyard, run.id)["events"]:
            if (e.get("details") or {}).get("live_at"):
                live.append(datetime.datetime.fromisoformat(e["details"]["live_at"].replace("Z", "+00:00")))
                return True
        return False
    wait_until(step_live, what="step 1 confirmed")
    at = live[0].replace(microsecond=0) + datetime.timedelta(seconds=2)
    put(aws, world, world["target_group_arns"][1], [(at, 1)])
    code, _, err = run.finish()
    assert code == 3, err
    code, out, err = switchyard("show", run.id)
    assert code == 0, err
    assert "errors: not enough data (1 sample; min_samples 3)" in out, out
    view = shown(switchyard, run.id)
    evidence = [e["details"].get("evidence", "") for e in view["events"]]
    assert "errors: not enough data (1 sample; min_samples 3)" in evidence, evidence
    assert not re.search(PLURAL_NOUNS, out + err + json.dumps(view)), re.findall(r".{40}" + PLURAL_NOUNS, out + json.dumps(view))
