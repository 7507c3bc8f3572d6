# Shared by scripts/demo, scripts/test and bench/: installs what Switchyard needs and runs a local moto server.
# Source it; it defines functions only.

# Installs the Debian and Python packages Switchyard's build, demo and tests need, only when they are missing.
ensure_dependencies() {
  local missing=()
  dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)
  dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || missing+=(libcurl4-openssl-dev)
  command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip python3-venv)
  # The browser e2e/test_serve.py loads the dashboard in (headless, driven over its DevTools protocol).
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} (apt-get)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! python3 -c 'import moto.server, boto3, pytest, xdist' >/dev/null 2>&1; then
    echo "installing moto[server], boto3, pytest, pytest-xdist (pip)" >&2
    python3 -m pip install -q 'moto[server]==5.2.1' boto3 pytest 'pytest-xdist==3.6.1'
  fi
  # The dashboard's tests (e2e/test_serve.py): Prometheus's own text parser reads /metrics, and a DevTools-protocol
  # client over a websocket drives Debian's headless Chromium.
  if ! python3 -c 'import prometheus_client, websocket' >/dev/null 2>&1; then
    echo "installing prometheus_client, websocket-client (pip)" >&2
    python3 -m pip install -q 'prometheus_client==0.21.1' 'websocket-client==1.8.0'
  fi
  # A terminal emulator: e2e/test_terminal.py replays the live panel's bytes through it at several widths.
  if ! python3 -c 'import pyte' >/dev/null 2>&1; then
    echo "installing pyte (pip)" >&2
    python3 -m pip install -q 'pyte==0.8.2'
  fi
  # Azure's own models and SDK, for the e2e suite's Azure stand-in (e2e/azure_standin.py): it checks every request
  # body against these models and answers in the api-versions these versions send, so they are pinned together.
  local azure=('azure-mgmt-compute==39.0.0' 'azure-mgmt-network==33.1.0' 'azure-mgmt-trafficmanager==2.0.0'
               'azure-mgmt-monitor==7.0.0' 'azure-mgmt-resource==26.0.0' 'azure-identity==1.27.0')
  if ! python3 - "${azure[@]}" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != pinned for name, pinned in (a.split("==") for a in sys.argv[1:])))
PY
  then
    echo "installing ${azure[*]} (pip)" >&2
    python3 -m pip install -q "${azure[@]}"
  fi
}

# What scripts/package and its checks (e2e/test_package.py) use beyond the build: binutils (readelf, objdump, strip)
# and the shells whose syntax checks the completion scripts must pass. Installed only when missing.
ensure_packaging_tools() {
  local missing=()
  command -v readelf >/dev/null 2>&1 && command -v strip >/dev/null 2>&1 || missing+=(binutils)
  command -v zsh >/dev/null 2>&1 || missing+=(zsh)
  command -v fish >/dev/null 2>&1 || missing+=(fish)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} (apt-get)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Debian's package checker, which e2e/test_package.py runs on the built .deb. Installed only when missing; scripts/test
# calls it in the background job that builds the package, so its download never holds up the tests.
ensure_lintian() {
  command -v lintian >/dev/null 2>&1 && return 0
  echo "installing lintian (apt-get)" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends lintian >/dev/null
}

# Starts moto on a free loopback port; sets MOTO_URL and MOTO_PID. Call stop_moto (or trap it) to stop it. Through
# scripts/moto-server.py: moto's server with its Classic Load Balancer registrations as AWS makes them.
start_moto() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  MOTO_LOG=$(mktemp -t moto.XXXXXX.log)
  python3 "$(dirname "${BASH_SOURCE[0]}")/moto-server.py" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$MOTO_URL/moto-api/', timeout=1)" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "moto did not start; its log:" >&2
  cat "$MOTO_LOG" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
  [ -z "${MOTO_LOG:-}" ] || rm -f "$MOTO_LOG"
}
