"""What the benchmarks share: the release binary, a private moto server, a seeded world."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(REPO, "scripts", "seed-world.py")
MOTO_SERVER = os.path.join(REPO, "scripts", "moto-server.py")  # moto, its Classic Load Balancer registrations as AWS's
sys.path.insert(0, os.path.join(REPO, "e2e"))


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def add_binary_option(parser):
    parser.add_argument("--binary", help="the switchyard binary to measure (default: build the release binary of this checkout)")


def chosen_binary(args):
    """The --binary given, else the release binary built now."""
    if args.binary:
        if not os.access(args.binary, os.X_OK):
            raise SystemExit(f"benchmark: --binary {args.binary} is not an executable file")
        return os.path.abspath(args.binary)
    return release_binary()


def query_protocol_models(work):
    """A botocore data directory (for AWS_DATA_PATH) whose CloudWatch model speaks the query protocol, as Switchyard
    does: botocore's own now speaks CBOR, which the checking proxy cannot read. Same requests, same count; the
    baselines' CloudWatch calls are then checked against the model like every other request."""
    import botocore.session
    data = botocore.session.get_session().get_service_data("cloudwatch")
    data["metadata"]["protocol"], data["metadata"]["protocols"] = "query", ["query"]
    folder = os.path.join(work, "botocore-data", "cloudwatch", data["metadata"]["apiVersion"])
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "service-2.json"), "w") as f:
        json.dump(data, f)
    return os.path.join(work, "botocore-data")


def release_binary():
    """Builds (incrementally) and returns the release binary, so a benchmark never measures a stale one."""
    print("building the release binary…", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--product", "switchyard"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(sh("swift", "build", "-c", "release", "--show-bin-path", cwd=REPO).strip(), "switchyard")


def start_moto():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except Exception:
            time.sleep(0.05)
    raise SystemExit("moto did not start")


def seed(moto_url, service, out, *options):
    """Seeds a world for `service` (scripts/seed-world.py options) and returns its description."""
    return json.loads(sh(sys.executable, SEED, "--endpoint", moto_url, "--service", service, "--out", out, *options))
