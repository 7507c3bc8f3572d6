"""Shared by the `switchyard serve` tests: a serve process in the background, and releases in a world's state."""
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request


class Serving:
    """`switchyard serve` in the background on a free port: its URL from the line it prints, every stderr line kept."""

    def __init__(self, switchyard, *args, env=None):
        self.proc = switchyard("serve", "--listen", "127.0.0.1:0", "--poll", "200ms", *args, background=True, env=env)
        self.lines = []
        self.url = None
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                match = re.search(r"serving (http://127\.0\.0\.1:\d+)/", line)
                if match:
                    self.url = match.group(1)
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=drain, daemon=True)
        self.reader.start()
        ready.wait(30)
        assert self.url, "serve did not say where it listens:\n" + "\n".join(self.lines)

    def get(self, path, headers=None, timeout=10):
        """(status, headers, body text) of a GET."""
        return self.request("GET", path, headers=headers, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=10):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def json(self, path):
        status, _, body = self.get(path)
        assert status == 200, (status, body)
        return json.loads(body)

    def stop(self, sig=None):
        """Stops it (SIGTERM by default) and returns its exit code."""
        import signal
        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=5)
        self.reader.join(timeout=5)
        return code


def variant(world, name, steps):
    """A copy of the world's deployment file with other steps (`10:30s,100`, `10,pause,100`)."""
    with open(world["file"]) as f:
        text = f.read()
    lines = []
    for step in steps.split(","):
        if step == "pause":
            lines.append("  - pause")
        else:
            weight, _, bake = step.partition(":")
            lines.append(f"  - weight: {weight}\n    bake: {bake or '0s'}")
    replaced = re.sub(r"(?m)^steps:\n(?:  .*\n)+", "steps:\n" + "\n".join(lines) + "\n", text)
    assert replaced != text, "the world's file has no steps: section to replace"
    path = os.path.join(os.path.dirname(world["file"]), name)
    with open(path, "w") as f:
        f.write(replaced)
    return path


def wait_until(condition, timeout=30, what="condition", period=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(period)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def started_id(proc):
    first = proc.stderr.readline().strip()
    match = re.fullmatch(r"deployment (\S+) started", first)
    assert match, f"first stderr line was {first!r}"
    return match.group(1)


def paused_release(switchyard, world, ami=None):
    """A release of the world's new AMI (or `ami`) waiting at a `- pause` gate with nobody running it (started with
    --detach-at-pause): the id."""
    path = variant(world, "gated.yaml", "10,pause,100")
    code, out, err = switchyard("start", path, "--ami", ami or world["new_ami"], "--detach-at-pause", "--end-retention", "--json")
    assert code == 5, err
    view = json.loads(out)
    assert view["state"] == "paused", view["state"]
    return view["id"]
