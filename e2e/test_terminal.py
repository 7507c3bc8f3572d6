"""The live panel on a real terminal: the binary runs on a pseudo-terminal of a given size, and its bytes are replayed
through a terminal emulator (pyte), which shows what a person would see. A panel line longer than the terminal wraps
and the redraw (cursor up one line per panel line) can no longer erase it: headers pile up and fragments stay."""
import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import termios
import threading
import time

import pyte
import wcwidth
import pytest

ROWS = 50


class Terminal:
    """A pseudo-terminal of `columns` x ROWS on the binary's stderr, everything it writes kept in order."""

    def __init__(self, columns):
        self.columns = columns
        self.master, self.slave = pty.openpty()
        self.resize(columns)
        self.data = bytearray()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)

    def resize(self, columns):
        self.columns = columns
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, columns, 0, 0))

    def _read(self):
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    def mark(self):
        with self.lock:
            return len(self.data)

    def screen(self, since=0):
        """The screen as the emulator shows it now (of what was written from byte `since` on, at today's width):
        one string per row, trailing blanks dropped."""
        screen = pyte.Screen(self.columns, ROWS)
        with self.lock:
            pyte.ByteStream(screen).feed(bytes(self.data[since:]))
        return [row.rstrip() for row in screen.display]


def run_on_terminal(switchyard_env, binary, args, terminal):
    env = {**switchyard_env, "TERM": "xterm-256color", "COLUMNS": "", "NO_COLOR": "1"}
    proc = subprocess.Popen([binary, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal.slave,
                            text=True, env=env)
    terminal.reader.start()
    return proc


def state_of(switchyard, deployment):
    code, out, _ = switchyard("show", deployment, "--json")
    return json.loads(out) if code == 0 else {}


def wait_for(predicate, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def panel_rows(rows, service):
    """The rows from the panel's first header on (what the redraws own)."""
    for i, row in enumerate(rows):
        if row.startswith("switchyard") and service in row:
            return rows[i:]
    return []


def panel_problems(rows, service, columns):
    headers = [r for r in rows if r.startswith("switchyard") and service in r]
    problems = []
    if len(headers) != 1:
        problems.append(f"{len(headers)} panel headers on screen, not 1")
    # The redraw only erases what it drew: a wrapped line leaves its tail on the next row, so a line that starts
    # with a fragment of another (no known label) is a sign of it.
    labels = ("switchyard", "state ", "traffic ", "green ", "clients ", "checks ", "events ", "         ", "deployment ",
              "warning:", "note:", "completed", "rolled back", "promoted")
    panel = False
    for row in rows:
        if row.startswith("switchyard") and service in row:
            panel = True
        elif panel and row and not row.startswith(labels):
            problems.append(f"a row that is no panel line: {row!r}")
    return problems


def cut(line, columns):
    """A panel line as the panel shows it in a terminal `columns` wide: cut to the columns less one, by display
    width, with "…"."""
    if wcwidth.wcswidth(line) <= columns - 1:
        return line
    out = ""
    while wcwidth.wcswidth(out + line[len(out)]) <= columns - 2:
        out += line[len(out)]
    return out + "…"


def expected_panel_head(world, view, columns):
    """The panel's first four lines at a manual gate after the first of two weight steps, as the panel writes them."""
    bar_width = max(5, min(30, columns - 1 - 30))
    green_cells = round(view["green_weight"] / 100 * bar_width)
    bar = "░" * (bar_width - green_cells) + "█" * green_cells
    lines = [f"switchyard  {world['service']}  {view['id']}  {view['ami']}",
             f"state    paused  step 1/2, waiting for `switchyard promote {view['id']}`  (steps 10% → 100%)",
             f"traffic  blue {view['blue_weight']:3}% {bar} {view['green_weight']:3}% green",
             f"green    {view['green']['auto_scaling_group']}  2/2 InService"]
    return [cut(line, columns) for line in lines]


# A hook whose name the events show: CJK and emoji take two columns each, and a tab moves the cursor to a tab stop;
# counted as one column a character, the line wrapped.
WIDE_HOOK = ["true", "デプロイ確認🚀\tステージ環境の負荷試験を実行します🔥🔥"]


@pytest.mark.parametrize("columns", [60, 80, 200])
@pytest.mark.world(steps="10,pause,100", bake="200ms", interval="100ms")
def test_the_panel_fits_the_terminal_and_redraws_cleanly(world, switchyard, state, binary, columns):
    with open(world["file"], "a") as f:
        f.write(f"hooks:\n  after_step:\n    - run: {json.dumps(WIDE_HOOK, ensure_ascii=False)}\n")
    terminal = Terminal(columns)
    proc = run_on_terminal(state.environment(), binary, ["start", world["file"], "--ami", world["new_ami"], *state.args()], terminal)
    try:
        def started():
            match = re.search(rb"deployment (\S+) started", bytes(terminal.data))
            return match.group(1).decode() if match else None
        wait_for(started, "the deployment to start")
        deployment = started()
        wait_for(lambda: state_of(switchyard, deployment).get("state") == "paused", "the manual gate")
        time.sleep(1.0)  # four redraws of the countdown ticker at the gate
        rows = terminal.screen()
        assert not panel_problems(rows, world["service"], columns), "\n".join(panel_problems(rows, world["service"], columns) + rows)
        assert all(wcwidth.wcswidth(r) < columns for r in panel_rows(rows, world["service"])), rows
        # The screen is the expected text, each line cut to the width.
        assert panel_rows(rows, world["service"])[:4] == expected_panel_head(world, state_of(switchyard, deployment), columns), rows
        # The hook's wide name is on screen, cut by columns where it does not fit.
        hook_rows = [r for r in panel_rows(rows, world["service"]) if "after_step hook 1" in r]
        assert hook_rows and all("\t" not in r for r in hook_rows), rows
        if columns >= 200:
            assert any("デプロイ確認🚀 ステージ環境" in r for r in hook_rows), hook_rows
        else:
            assert all(r.endswith("…") for r in hook_rows), hook_rows
        text = "\n".join(rows)
        assert "state    paused" in text, text
        if columns >= 200:
            # Wide enough: nothing is cut.
            assert f"waiting for `switchyard promote {deployment}`" in text, text
            assert "…" not in text.split("events")[0], text
        # A narrower window at the gate: the panel follows it (SIGWINCH) and stays whole. The emulator replays what
        # was written after the resize, at the new width.
        narrower = max(40, columns // 2)
        terminal.resize(narrower)
        proc.send_signal(signal.SIGWINCH)
        # A redraw already under way at the old width may land after the resize, as on a real terminal; the replay
        # starts after the panel has had time to follow.
        time.sleep(0.5)
        since = terminal.mark()
        time.sleep(1.0)
        rows = terminal.screen(since)
        assert not panel_problems(rows, world["service"], narrower), "\n".join(panel_problems(rows, world["service"], narrower) + rows)
        assert all(wcwidth.wcswidth(r) < narrower for r in panel_rows(rows, world["service"])), rows
        assert panel_rows(rows, world["service"])[:4] == expected_panel_head(world, state_of(switchyard, deployment), narrower), rows
        code, _, err = switchyard("promote", deployment)
        assert code == 0, err
        assert proc.wait(timeout=60) == 0
        time.sleep(0.2)
        rows = terminal.screen(since)
        assert "state    completed" in "\n".join(rows), rows
        assert sum(1 for r in rows if r.startswith("switchyard") and world["service"] in r) == 1, rows
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(terminal.slave)
        os.close(terminal.master)


@pytest.mark.world(bake="0s", interval="100ms")
def test_log_lines_read_like_every_other_line_of_stderr(world, switchyard):
    """swift-log's records come out as `info: message (key=value, …)`, as docs/environment.md says, never in
    swift-log's own `2026-12-02T03:44:49+0000 info switchyard: …` format."""
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], env={"SWITCHYARD_LOG_LEVEL": "debug"})
    assert code == 0, err
    lines = err.splitlines()
    assert not [l for l in lines if re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", l)], err
    logged = [l for l in lines if re.match(r"^(trace|debug|info|notice|warning|error): ", l)]
    assert any(l.startswith("debug: ") and "action=" in l for l in logged), err


def at_the_gate(switchyard, timeout=60):
    """The id of the newest release once it waits at its manual gate (`paused`), read from the store as another
    terminal would."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        code, out, _ = switchyard("history", "--json", "--limit", "1")
        items = json.loads(out) if code == 0 and out.strip() else []
        if items and items[0]["state"] == "paused":
            return items[0]["id"]
        time.sleep(0.1)
    raise AssertionError("the release never reached its gate")


@pytest.mark.world(steps="10,pause,100", bake="0s", interval="100ms")
def test_a_second_terminal_prints_each_event_with_its_own_state_and_weights(world, switchyard):
    """`rollback` from another terminal follows the release from the store's events until it ends: each line
    carries the state and weights at that event, not those of the record when the line is printed (a rollback's
    events come several between two reads of the store)."""
    run = switchyard("start", world["file"], "--ami", world["new_ami"], background=True)
    try:
        deployment = at_the_gate(switchyard)
        code, _, err = switchyard("rollback", deployment, "--reason", "second terminal")
        assert code == 0, err
        lines = [l for l in err.splitlines() if re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  ", l)]

        def columns(line):
            state, blue, green = re.match(r"^\S+ \S+  (\S+) +step \S+  blue +(\d+)% green +(\d+)%  ", line).groups()
            return state, int(blue), int(green)
        restored = [l for l in lines if "read back at 100% blue" in l]
        assert restored and all(columns(l) == ("rolling_back", 100, 0) for l in restored), err
        before = lines[:lines.index(restored[0])]
        assert before and all(columns(l)[1:] == (90, 10) for l in before), err
        ended = [l for l in lines if "rolled back:" in l]
        assert ended and columns(ended[-1])[0] == "rolled_back", err
        assert all(columns(l)[0] != "rolled_back" for l in lines if l not in ended), err
    finally:
        run.wait(timeout=60)


def event_columns(line):
    """(state, blue, green) of a progress line."""
    state, blue, green = re.match(r"^\S+ \S+  (\S+) +step \S+  blue +(\d+)% green +(\d+)%  ", line).groups()
    return state, int(blue), int(green)


@pytest.mark.world(steps="10,pause,100", bake="300ms", interval="100ms")
def test_promote_from_a_second_terminal_prints_each_event_with_its_own_state_and_weights(world, switchyard):
    """`promote` from another terminal follows the release from the store's events until the runner has taken the
    promotion on: each line carries the state and weights at that event (the request at the gate `paused` at 90/10,
    the promotion `shifting` at 90/10, the last step's weights 0/100), not those of the record when the line is
    printed, as `rollback` does."""
    run = switchyard("start", world["file"], "--ami", world["new_ami"], background=True)
    try:
        deployment = at_the_gate(switchyard)
        code, _, err = switchyard("promote", deployment)
        assert code == 0, err
        lines = [l for l in err.splitlines() if re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  ", l)]
        # The request was stored while the release waited at the gate: its line says `paused`, though the record
        # was `shifting` when the line was printed (promote prints once the runner has taken the promotion on).
        requested = [l for l in lines if "promotion past the manual gate requested" in l]
        assert requested and all(event_columns(l) == ("paused", 90, 10) for l in requested), err
        taken = [l for l in lines if l.endswith("promoted past the manual gate")]
        assert taken and all(event_columns(l) == ("shifting", 90, 10) for l in taken), err
        # The last step's weights, when promote saw them before it ended, at their own 0/100.
        shifted = [l for l in lines if "weights blue 0% / green 100%" in l]
        assert all(event_columns(l) == ("shifting", 0, 100) for l in shifted), err
        assert lines.index(requested[0]) < lines.index(taken[0]), err
    finally:
        run.wait(timeout=60)


def started_id(err):
    return re.search(r"deployment (\S+) started", err).group(1)


@pytest.mark.world(steps="10,pause,100", bake="0s", interval="100ms")
def test_status_gives_the_age_of_what_it_last_saw(world, switchyard):
    """A release detached at a gate runs no checks: `status` shows its last observation and checks with their age,
    not as if they were current."""
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"], "--detach-at-pause")
    assert code == 5, err
    time.sleep(2.1)
    code, out, err = switchyard("status")
    assert code == 0, err
    assert re.search(r"\(2/2 targets healthy, [2-9] s ago\)", out), out
    assert re.search(r"last checks: ok target-health, [2-9] s ago", out), out
    # The weights too are the record's, as old as their confirmation.
    assert re.search(r"step 1/2  blue 90% / green 10% \(confirmed [2-9] s ago\)", out), out


@pytest.mark.world(bake="0s", interval="100ms")
def test_show_reads_a_retained_blue_from_aws_and_says_when_it_is_gone(world, switchyard, aws):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    deployment = started_id(err)
    code, out, err = switchyard("show", deployment)
    assert code == 0, err
    assert re.search(r"blue kept until .* for instant rollback \(2/2 InService, read from AWS now\)", out), out
    code, out, err = switchyard("show", deployment, "--json")
    assert code == 0, err
    read = json.loads(out)["blue_read"]
    assert (read["state"], read["in_service"], read["desired_capacity"]) == ("kept", 2, 2) and read["at"], read
    code, out, err = switchyard("history", "--json")
    assert code == 0, err
    # history reads no AWS: the field is there, null.
    assert [d["blue_read"] for d in json.loads(out) if d["id"] == deployment] == [None], out
    # Another state file's gc, or a person, removes blue: this record does not know it.
    blue = world["blue_asg"]
    aws.asg.delete_auto_scaling_group(AutoScalingGroupName=blue, ForceDelete=True)
    code, out, err = switchyard("show", deployment)
    assert code == 0, err
    assert f"blue {blue} is gone (read from AWS now): `switchyard rollback {deployment}` cannot undo this release" in out, out
    assert "for instant rollback" not in out, out
    code, out, err = switchyard("status", deployment)
    assert code == 0, err
    assert f"blue {blue} is gone (read from AWS now)" in out and "instant rollback" not in out, out
    # The JSON says so too: retention_deadline alone reads as if blue were still there.
    for command in ("show", "status"):
        code, out, err = switchyard(command, deployment, "--json")
        assert code == 0, err
        view = json.loads(out)
        assert view["retention_deadline"] and view["blue_read"]["state"] == "gone", view.get("blue_read")
        assert view["blue_read"]["in_service"] is None and view["blue_read"]["at"] >= view["finished_at"], view["blue_read"]
