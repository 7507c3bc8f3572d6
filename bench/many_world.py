"""bench/many's pieces: seeding many worlds in one moto account quickly, and one release as a process whose progress
is read from its stderr while it runs and from its stored events afterwards."""
import concurrent.futures
import datetime
import importlib.util
import json
import math
import os
import subprocess
import threading
import time

import boto3

from common import SEED

STEP1 = "step 1/3: weights"          # the event when green first takes traffic
DECISION = "rolling back:"           # the event when the release decides to roll back
RESTORED = "listener read back at 100% blue"


def _seed_module():
    spec = importlib.util.spec_from_file_location("seed_world", SEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_worlds(moto_url, count, interval, work):
    """`count` worlds (service many1..manyN) with one alarm each and a deployment file (steps 10/50/100, a 30 m bake,
    checks every `interval` s), seeded in-process four at a time: a boto3 process per world would cost more than the
    world. Returns (worlds, a CloudWatch client straight to moto, requests made)."""
    module, counter, lock = _seed_module(), [0], threading.Lock()
    session, clients = boto3.session.Session(), {}

    def tally(**_):
        with lock:
            counter[0] += 1

    def counted(kind, endpoint, region):
        """One client per service for every thread (clients are thread-safe; loading EC2's model takes a second)."""
        with lock:
            if kind not in clients:
                clients[kind] = session.client(kind, endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                                               aws_secret_access_key="testing")
                clients[kind].meta.events.register("before-send", tally)
            return clients[kind]

    module.client = counted

    def one(n):
        service = f"many{n}"
        world = module.seed(service, moto_url, "us-east-1", 2)
        alarm = f"{service}-5xx"
        counted("cloudwatch", moto_url, "us-east-1").put_metric_alarm(
            AlarmName=alarm, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB", Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold")
        text = module.deployment_yaml(service, "us-east-1", world["listener_arn"], world["target_group_arns"], "30m",
                                      f"{interval:g}s", f"  alarms: [{alarm}]\n", healthy_timeout="2m")
        world["file"] = os.path.join(work, f"{service}.yaml")
        with open(world["file"], "w") as f:
            f.write(text)
        world.update(alarm=alarm, key=f"AKIDMANY{n:08d}")
        return world

    worlds = [one(1)]  # alone first: moto builds each backend on its first call (seconds), and parallel calls wait
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        worlds += list(pool.map(one, range(2, count + 1)))
    return worlds, counted("cloudwatch", moto_url, "us-east-1"), counter[0]


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Release:
    """One `switchyard start` of one world, signed with the world's own key."""

    def __init__(self, world):
        self.world, self.key = world, world["key"]
        self.proc = self.thread = None
        self.started = self.at_step1 = self.fault_at = self.seen_at = None
        self.exit_code, self.why, self.lines, self.events = None, "", [], []

    def start(self, binary, endpoint, work):
        env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "NO_COLOR": "1", "AWS_ENDPOINT_URL": endpoint,
               "AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": "testing", "SWITCHYARD_ACTOR": "bench@many"}
        self.db = os.path.join(work, f"{self.world['service']}.db")
        self.started = time.time()
        self.proc = subprocess.Popen([binary, "start", self.world["file"], "--ami", self.world["new_ami"], "--db", self.db],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if self.at_step1 is None and STEP1 in line:
                self.at_step1 = time.time()
        self.exit_code = self.proc.wait()
        self.why = next((l for l in reversed(self.lines) if l.startswith("deployment ")), self.lines[-1] if self.lines else "")

    def fault(self, cw):
        """The alarm to ALARM, straight to moto. The fault counts from moto's answer: a busy moto may apply the change
        late in the call, and a check that reads the alarm before then rightly sees OK."""
        cw.set_alarm_state(AlarmName=self.world["alarm"], StateValue="ALARM", StateReason="bench/many: the fault")
        self.fault_at = time.time()

    def wait(self, timeout):
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.proc.kill()
            self.thread.join(10)
            self.why = f"killed after {timeout:.0f} s: " + self.why

    def read_events(self, binary):
        found = next((l.split()[1] for l in self.lines if l.startswith("deployment ") and len(l.split()) > 1), None)
        if not found:
            return
        shown = subprocess.run([binary, "show", found, "--json", "--db", self.db], capture_output=True, text=True)
        if shown.returncode == 0:
            self.events = json.loads(shown.stdout)["events"]

    def event_at(self, prefix):
        return next((stamp(e["at"]) for e in self.events if e["message"].startswith(prefix)), None)

    @property
    def setup(self):
        at = self.event_at(STEP1)
        return at - self.started if at else None

    @property
    def reaction(self):
        restored = self.event_at(RESTORED)
        return restored - self.fault_at if restored and self.fault_at else None

    @property
    def wait_for_tick(self):
        """Fault → the answer of the first alarm read after it (the check's phase, plus any throttled retries)."""
        return self.seen_at - self.fault_at if self.seen_at and self.fault_at else None

    @property
    def after_seen(self):
        """That answer → the listener read back at 100 % blue: the rollback's own work."""
        restored = self.event_at(RESTORED)
        return restored - self.seen_at if restored and self.seen_at else None

    @property
    def completed(self):
        """Rolled back (exit 3), and decided so only after its fault."""
        decided = self.event_at(DECISION)
        return self.exit_code == 3 and self.fault_at is not None and decided is not None and decided >= self.fault_at


def percentile(values, p):
    """Nearest-rank percentile; NaN when there are none."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def cpu_seconds(pid):
    """User and system CPU seconds a live process has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
