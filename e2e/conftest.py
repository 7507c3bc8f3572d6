"""End-to-end fixtures: one moto server per test run, one seeded world per test, the real switchyard binary."""
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy import QuietHandler, serve  # noqa: E402
BIN = os.environ.get("SWITCHYARD_BIN", os.path.join(REPO, ".build", "debug", "switchyard"))
SEED = os.path.join(REPO, "scripts", "seed-world.py")
# moto with its Classic Load Balancer registrations as AWS makes them (the one place for that workaround).
MOTO_SERVER = os.path.join(REPO, "scripts", "moto-server.py")
_names = itertools.count(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"moto did not answer at {url} within {timeout}s")


@pytest.fixture(scope="session")
def moto_url():
    url = os.environ.get("SWITCHYARD_MOTO_URL")
    if url:
        wait_for(url)
        yield url
        return
    yield from serve_moto([MOTO_SERVER])


def serve_moto(command):
    """Runs a moto server (`python3 <command…> -H 127.0.0.1 -p PORT`) on a free loopback port, yields its URL and stops
    it: the one way the suite starts moto (the launcher with its workaround; test_moto_clb.py's plain moto too)."""
    port = free_port()
    server = subprocess.Popen([sys.executable, *command, "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # it joins every keep-alive connection's thread first: slow on a busy machine
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="session")
def binary():
    if not os.path.exists(BIN):
        if os.environ.get("SWITCHYARD_REQUIRE_BIN"):
            pytest.fail(f"switchyard binary missing at {BIN}")
        pytest.skip(f"switchyard binary missing at {BIN}: run `swift build` first")
    return BIN


class AWS:
    """boto3 clients against the emulator: the independent view of what switchyard did."""

    def __init__(self, url):
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.ec2 = boto3.client("ec2", **kw)
        self.asg = boto3.client("autoscaling", **kw)
        self.elb = boto3.client("elbv2", **kw)
        self.clb = boto3.client("elb", **kw)  # Classic Load Balancers (traffic.shared.load_balancer_name)
        self.cw = boto3.client("cloudwatch", **kw)

    def weights(self, listener_arn):
        action = self.elb.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]["DefaultActions"][0]
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
        return {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups}

    def groups(self, world=None):
        """Every group in the region, or only the world's (its service's own and the greens Switchyard made for it):
        tests run side by side on one moto, so a before/after comparison looks at its own world only."""
        pages = self.asg.get_paginator("describe_auto_scaling_groups").paginate()
        found = {g["AutoScalingGroupName"]: g for page in pages for g in page["AutoScalingGroups"]}
        if world is None:
            return found
        service = world["service"]
        return {name: g for name, g in found.items() if name.startswith((f"{service}-", f"switchyard-{service}-"))}

    def instance_images(self, group):
        ids = [i["InstanceId"] for i in group["Instances"]]
        if not ids:
            return set()
        reservations = self.ec2.describe_instances(InstanceIds=ids)["Reservations"]
        return {i["ImageId"] for r in reservations for i in r["Instances"]}

    def snapshot(self, world):
        """Everything a release could change, for before/after comparisons."""
        groups = {name: (g["DesiredCapacity"], g["MinSize"], g["MaxSize"], tuple(sorted(g["TargetGroupARNs"])),
                         g.get("LaunchTemplate", {}).get("Version"))
                  for name, g in self.groups(world).items()}
        versions = self.ec2.describe_launch_template_versions(LaunchTemplateId=world["launch_template_id"])["LaunchTemplateVersions"]
        listener = self.elb.describe_listeners(ListenerArns=[world["listener_arn"]])["Listeners"][0]["DefaultActions"]
        return {"groups": groups, "versions": sorted(v["VersionNumber"] for v in versions), "listener": listener}


@pytest.fixture(scope="session")
def aws(moto_url):
    return AWS(moto_url)


class ProbeTarget:
    """A local HTTP server standing in for green's health endpoint; the test sets the status it answers."""

    def __init__(self):
        self.status = 200
        self.hits = 0
        self.failing_since = None
        target = self

        class Handler(QuietHandler):
            def do_GET(self):
                target.hits += 1
                body = b"ok" if target.status == 200 else b"failing"
                self.send_response(target.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server, base = serve(Handler)
        self.url = base + "/healthz"

    def fail(self, status=503):
        self.failing_since = time.time()
        self.status = status

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """A local webhook receiver: records every POST body in order; `mode` is ok, 500 or hang."""

    def __init__(self):
        self.mode = "ok"
        self.bodies = []
        self.attempts = 0
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.attempts += 1
                if receiver.mode == "hang":
                    time.sleep(30)
                    return
                status = 500 if receiver.mode == "500" else 200
                if status == 200:
                    receiver.bodies.append((self.path, json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server, self.base = serve(Handler)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def probe():
    target = ProbeTarget()
    yield target
    target.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def show_last_requests(request, title, lines):
    """When the test failed, its report shows the last requests a test server saw (one line each)."""
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed and lines:
        request.node.add_report_section("teardown", f"{title} (last {len(lines)} requests)", "\n".join(lines))


def checked_proxy(moto_url, request):
    """A proxy in front of moto that verifies the e2e keys' signatures and checks every request against the service
    model; the test fails at teardown when real AWS would have refused or misread a request. When the test failed,
    its report shows the last requests the proxy saw."""
    from proxy import Proxy
    p = Proxy(moto_url)
    p.trust("testing", "testing")
    yield p
    p.close()
    show_last_requests(request, f"proxy {p.url}", [
        f"{r.n:>4} conn {r.connection:<3} {r.service or '-':<20} {r.action:<32} {r.outcome:<28} "
        f"status {r.status} body {r.body_length}/{r.content_length} sig {r.signature}" for r in p.requests[-40:]])
    if p.violations:
        shown = "\n  ".join(dict.fromkeys(p.violations))
        pytest.fail(f"{len(p.violations)} request(s) that AWS would refuse or misread went through the proxy:\n  {shown}",
                    pytrace=False)


@pytest.fixture
def proxy(moto_url, request):
    """The test's own proxy (faults, rewrites, counts); point the binary at it with env AWS_ENDPOINT_URL=proxy.url."""
    yield from checked_proxy(moto_url, request)


@pytest.fixture
def validator(moto_url, request):
    """The proxy every `switchyard` run goes through unless the test gives its own AWS_ENDPOINT_URL."""
    yield from checked_proxy(moto_url, request)


_seeder = []


def seeder():
    """scripts/seed-world.py as a module, loaded once per worker."""
    if not _seeder:
        import importlib.util
        spec = importlib.util.spec_from_file_location("seed_world", SEED)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _seeder.append(module)
    return _seeder[0]


@pytest.fixture
def world(moto_url, tmp_path, request):
    """A fresh world for a new service name, with its deployment file. Options via @pytest.mark.world(...);
    probe_url="probe" points checks.http at the test's `probe` server."""
    marker = request.node.get_closest_marker("world")
    options = dict(marker.kwargs) if marker else {}
    lb_port = None
    if options.get("probe_url") == "probe":
        options["probe_url"] = request.getfixturevalue("probe").url
    elif options.get("probe_url") == "dataplane":
        # The data plane's load balancer (see the `dataplane` fixture) will listen here: probes go through it.
        lb_port = free_port()
        options["probe_url"] = f"http://127.0.0.1:{lb_port}/healthz"
    for key in ("webhook", "slack_webhook"):
        if key in options:
            options[key] = request.getfixturevalue("receiver").base + options[key]
    service = f"e2e{next(_names)}-{os.getpid() % 10000}"
    args = ["--endpoint", moto_url, "--service", service, "--out", str(tmp_path / f"{service}.yaml")]
    for key, value in options.items():
        if value is True:
            args.append(f"--{key.replace('_', '-')}")
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            args += [f"--{key.replace('_', '-')}", str(v)]
    # In this process, not as `python3 scripts/seed-world.py`: a process of its own spent 0.6 s of CPU importing boto3
    # and making its clients, for each of some 330 worlds a run (a sixth of the suite's CPU on a 2-core CI machine).
    # A round trip through JSON, so a test gets what the command prints and nothing it could share with another.
    data = json.loads(json.dumps(seeder().seed_world(args)))
    data["db"] = str(tmp_path / "state.db")
    data["lb_port"] = lb_port
    return data


@pytest.fixture
def dataplane(moto_url, world, validator, request):
    """The e2e data plane (e2e/dataplane.py) of the test's world, serving, its target health answered to every run of
    the binary through the checking proxy. Options via @pytest.mark.dataplane(...) (DataPlane's keywords); in `amis`,
    the keys "green" and "blue" stand for the world's new and blue AMIs."""
    from dataplane import DataPlane
    marker = request.node.get_closest_marker("dataplane")
    options = dict(marker.kwargs) if marker else {}
    aliases = {"green": world["new_ami"], "blue": world["blue_ami"]}
    options["amis"] = {aliases.get(k, k): v for k, v in options.get("amis", {}).items()}
    if options.get("alarm"):
        options["alarm"] = {**options["alarm"], "name": options["alarm"]["name"].format(service=world["service"])}
    dp = DataPlane(moto_url, world, lb_port=world.get("lb_port"), **options)
    try:
        dp.attach(validator)
        dp.wait_serving()
        yield dp
    finally:
        dp.close()
    if dp.errors:
        pytest.fail("the data plane missed the binary's requests:\n  " + "\n  ".join(dp.errors), pytrace=False)


def e2e_backends():
    """The state backends the tests marked `@on_every_backend` run against, from SWITCHYARD_E2E_BACKENDS: a
    comma-separated list of `sqlite` and `dynamodb`; `sqlite` alone when unset. `dynamodb` needs a switchyard built
    with the DynamoDB store (it runs `switchyard state init` for each test's table) and moto serving DynamoDB (moto's
    server serves every service): SWITCHYARD_E2E_BACKENDS=sqlite,dynamodb python3 -m pytest e2e/ ..."""
    names = [n.strip() for n in os.environ.get("SWITCHYARD_E2E_BACKENDS", "sqlite").split(",") if n.strip()]
    unknown = sorted(set(names) - {"sqlite", "dynamodb"})
    if unknown or not names:
        raise pytest.UsageError(f"SWITCHYARD_E2E_BACKENDS={os.environ.get('SWITCHYARD_E2E_BACKENDS')!r}: "
                                f"the backends are sqlite and dynamodb (unknown: {', '.join(unknown) or 'none given'})")
    return names


# The same test, once per backend: `@on_every_backend` above a test that uses the `switchyard` fixture.
on_every_backend = pytest.mark.parametrize("state_backend", e2e_backends(), indirect=True)


@pytest.fixture
def state_backend(request):
    """The backend of this test's state: its parameter under `@on_every_backend`, else sqlite."""
    return getattr(request, "param", "sqlite")


def base_environment(validator, world, env=None):
    """The environment of every switchyard run: the e2e keys, the checking proxy, the test's own HOME."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update({"AWS_ENDPOINT_URL": validator.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "NO_COLOR": "1", "SWITCHYARD_ACTOR": "e2e@test", "HOME": os.path.dirname(world["db"]),
                     # moto's tags read back at once: the listener claim need not wait the 2 s it waits for AWS's
                     # (test_stale_tags.py runs the default against tags that read stale).
                     "SWITCHYARD_TAG_SETTLE": "250ms",
                     # Nor do its listener reads lag a write: a removal need not wait the 5 s read-consistency window
                     # (test_stale_reads.py runs the default against reads that answer stale).
                     "SWITCHYARD_READ_SETTLE": "250ms"})
    full_env.update(env or {})
    return {k: v for k, v in full_env.items() if v is not None}


class StateStores:
    """Where a test's state lives, per backend. A test names a state store by a file path (world["db"] by default,
    or its own, e.g. two state files); on sqlite that is the file (given with --db, as users always have), on
    dynamodb it is a table of its own, named after the test's service and the file's name, created on first use
    with `switchyard state init`. DynamoDB requests go through the checking proxy, like every AWS call."""

    def __init__(self, backend, binary, validator, world):
        self.backend, self.binary, self.validator, self.world = backend, binary, validator, world
        self.created = set()

    def url(self, db=None):
        """The --state URL of a state store."""
        db = db or self.world["db"]
        if self.backend == "sqlite":
            return f"sqlite://{db}"
        stem = os.path.splitext(os.path.basename(db))[0]
        table = f"switchyard-{self.world['service']}-{stem}"
        url = f"dynamodb://{table}?region={self.world.get('region', 'us-east-1')}"
        if url not in self.created:
            proc = subprocess.run([self.binary, "state", "init", url], capture_output=True, text=True, timeout=60,
                                  env=self.environment())
            assert proc.returncode == 0, f"switchyard state init {url}: {proc.stderr}"
            self.created.add(url)
        return url

    def args(self, db=None):
        """The flags that point a switchyard run at a state store."""
        if self.backend == "sqlite":
            return ["--db", db or self.world["db"]]
        return ["--state", self.url(db)]

    def environment(self, env=None):
        extra = {} if self.backend == "sqlite" else {"AWS_ENDPOINT_URL_DYNAMODB": self.validator.url}
        return base_environment(self.validator, self.world, {**extra, **(env or {})})


@pytest.fixture
def state(binary, validator, world, state_backend):
    """The test's state stores on its backend (see StateStores)."""
    return StateStores(state_backend, binary, validator, world)


@pytest.fixture
def switchyard(binary, state):
    """Runs the binary against the emulator, through the checking proxy, with the test's own state store (on the
    test's backend: see `on_every_backend`); returns (code, stdout, stderr). `db` names another state store."""

    def run(*args, timeout=120, env=None, db=None, background=False):
        command = [binary, *args, *state.args(db)]
        if background:
            return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=state.environment(env))
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=state.environment(env))
        return proc.returncode, proc.stdout, proc.stderr

    return run


class WeightPoller:
    """Watches the listener from another thread and records every distinct (blue, green) weight pair in order."""

    def __init__(self, aws, listener_arn, blue_tg, green_tg, period=0.01):
        self.aws, self.listener, self.blue, self.green, self.period = aws, listener_arn, blue_tg, green_tg, period
        self.seen = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def read(self):
        """The (blue, green) pair as it stands now; a poller of another traffic backend overrides it."""
        w = self.aws.weights(self.listener)
        return w.get(self.blue, 0), w.get(self.green, 0)

    def _run(self):
        while not self._stop.is_set():
            pair = self.read()
            if not self.seen or self.seen[-1] != pair:
                self.seen.append(pair)
            time.sleep(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def poller(aws):
    return lambda world, blue, green: WeightPoller(aws, world["listener_arn"], blue, green)


@pytest.fixture(scope="session")
def azure_certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made for this test run (never committed): (cert path, key path)."""
    from azure_auth import make_certificate
    return make_certificate(str(tmp_path_factory.mktemp("azure-tls")))


@pytest.fixture
def azure(azure_certificate, request):
    """The test's own Azure stand-in (ARM, Entra ID's token endpoint, IMDS) on 127.0.0.1, over http and https (see
    e2e/azure_standin.py); `azure.certificate` is the CA file a client must trust for https. The test fails at
    teardown when a request broke Azure's models (azure.violations) or the stand-in answered outside them
    (azure.self_violations); when the test failed, its report shows the last requests the stand-in saw."""
    from azure_standin import AzureStandIn
    standin = AzureStandIn(tls=azure_certificate)
    standin.certificate = azure_certificate[0]
    yield standin
    standin.close()
    show_last_requests(request, "azure stand-in", [
        f"{c.n:>4} {c.method:<6} {c.operation:<48} {c.status} {c.outcome:<9} {c.path}?api-version={c.api_version}"
        for c in standin.requests[-40:]])
    failures = standin.failures()
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def pytest_collection_modifyitems(items):
    """The longest tests first (`@pytest.mark.slow(seconds)`, longest first, the rest in file order): with
    scripts/test's --maxschedchunk 1 each worker takes the next test when it is free, so no 30 s test starts last and
    holds the run while the other workers idle."""
    def seconds(item):
        mark = item.get_closest_marker("slow")
        return mark.args[0] if mark and mark.args else 0
    items.sort(key=lambda item: -seconds(item))


def pytest_configure(config):
    config.addinivalue_line("markers", "world(**options): options for scripts/seed-world.py")
    config.addinivalue_line("markers", "slow(seconds): a test that takes about that long; the longest run first")
    config.addinivalue_line("markers", "dataplane(**options): options for the e2e data plane (dataplane.DataPlane)")
