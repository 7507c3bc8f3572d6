"""Releases on Azure through the real binary, against the ARM stand-in (e2e/azure_standin.py): green is a scale set
cloned from blue with only the image changed, traffic moves between two Traffic Manager weighted endpoints step by
step with each bake starting after the profile's TTL, a failing probe rolls back in one write, and a scale set that
lost its traffic is deleted only once resolvers can no longer reach its stack (the TTL) — judged by the stand-in's
DNS view (az.world.traffic, reachable_until), not by what the API answered. Every request body the stand-in takes
is checked against Azure's SDK models (the `azure` fixture fails the test on a violation)."""
import contextlib
import json
import os
import re
import subprocess
import time
import uuid

import pytest
from azure_seed import seed_world

TTL = 1


def deployment_file(tmp_path, world, steps, http=None, interval="200ms", settle="0s", retention="0s"):
    """The file of a release in the seeded world. `settle: 0s` waits the TTL alone: the stand-in's name servers
    answer a change at once (propagation_seconds 0) unless a test says otherwise."""
    rg = world["resource_group"].rsplit("/", 1)[-1]
    text = f"""service: web
provider: azure
azure:
  subscription_id: {world["subscription"]}
  resource_group: {rg}
fleet:
  scale_set: {world["blue_name"]}
  capacity_timeout: 2m
traffic:
  traffic_manager:
    profile: web-tm
    endpoints: [{world["stacks"]["a"]["endpoint"]}, {world["stacks"]["b"]["endpoint"]}]
  settle: {settle}
steps:
{steps}
checks:
  interval: {interval}
  healthy_timeout: 1m
"""
    if http:
        text += f"""  http:
    url: {http}
    timeout: 150ms
    failure_threshold: 1
"""
    text += f"promotion:\n  blue_retention: {retention}\n"
    path = os.path.join(str(tmp_path), "web-azure.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.fixture
def release(azure, binary, tmp_path):
    """Runs the binary against the stand-in with the world's client secret and nothing else of any cloud."""
    world = seed_world(azure, ttl=TTL)
    db = os.path.join(str(tmp_path), "state.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_", "REQUESTS_CA"))}
    env.update(azure.environment(world["tenant"], world["client_id"], world["secret"]))
    env.update({"REQUESTS_CA_BUNDLE": azure.certificate, "HOME": str(tmp_path), "NO_COLOR": "1", "SWITCHYARD_ACTOR": "e2e@test",
                "SWITCHYARD_TAG_SETTLE": "250ms", "SWITCHYARD_READ_SETTLE": "250ms"})

    def run(*args, background=False, timeout=180):
        command = [binary, *args, "--db", db]
        if background:
            return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        return proc.returncode, proc.stdout, proc.stderr

    run.world, run.env = world, env
    run.binary_args = lambda *args: [binary, *args]
    return run


def shares(azure, world):
    """Each distinct change of the profile's DNS shares, in order: (time, blue %, green %)."""
    out = []
    a, b = world["stacks"]["a"]["endpoint"], world["stacks"]["b"]["endpoint"]
    for at, entry in azure.world.traffic.get(world["profile"].lower(), []):
        pair = (round(100 * entry.get(a, 0)), round(100 * entry.get(b, 0)))
        if not out or out[-1][1:] != pair:
            out.append((at, *pair))
    return out


def assert_the_role_covers(azure):
    """Every RBAC action the requests needed is in the custom role docs/iam.md gives."""
    from conftest import REPO
    text = open(os.path.join(REPO, "docs", "iam.md")).read()
    role = json.loads(text.split('<a id="azure"></a>', 1)[1].split("```json", 1)[1].split("```", 1)[0])
    granted = {a.lower() for a in role["Actions"]}
    used = azure.actions()
    missing = [a for a in used if a.lower() not in granted]
    assert len(used) >= 8 and not missing, (used, missing)


@contextlib.contextmanager
def running(release, *args):
    """The binary in the background for the block's length, killed at its end if it still runs."""
    proc = release(*args, background=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def wait_until(proc, ready, timeout=60):
    """Waits until `ready()`, or the process ends, or `timeout`; fails the test unless `ready()` then holds."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.02)
    assert ready(), ("the moment waited for never came", proc.poll() is not None and proc.communicate())


def at_split(azure, world, pair):
    """Whether the profile's DNS shares have stood at (blue %, green %)."""
    return lambda: pair in [m[1:] for m in shares(azure, world)]


def kill_when(proc, ready, timeout=60):
    """Waits until `ready()`, kills the process with SIGKILL and returns its deployment id."""
    try:
        wait_until(proc, ready, timeout)
        proc.kill()
        _, started = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return re.search(r"deployment (\S+) started", started).group(1)


def scale_set(azure, world, name):
    return azure.world.get(f"{world['resource_group']}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}")


@pytest.mark.slow(25)
def test_a_release_moves_the_weighted_endpoints_step_by_step_each_bake_after_the_ttl(azure, release, tmp_path):
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 1s\n  - weight: 50\n    bake: 1s\n  - weight: 100\n")
    image = world["images"]["1.1.0"]
    code, out, err = release("plan", path, "--image", image)
    assert code == 0, err
    assert "Traffic Manager profile web-tm: web-stack-a (blue, web-blue) → web-stack-b (green" in out, out
    arm = [c for c in azure.calls() if c.operation != "Token"]
    assert arm and all(c.method == "GET" for c in arm), [(c.method, c.path) for c in arm]
    code, out, err = release("start", path, "--image", image, timeout=240)
    assert code == 0, err
    moves = shares(azure, world)
    # Green's share only ever grows, and between two writes of a step it lies between the two steps' splits.
    greens = [m[2] for m in moves]
    assert greens == sorted(greens), moves
    # The splits that stood (more than a moment) are the steps', in order.
    stood = [m for m, nxt in zip(moves, moves[1:] + [(time.time() + 10, 0, 0)]) if nxt[0] - m[0] > 0.5]
    assert [m[1:] for m in stood] == [(100, 0), (90, 10), (50, 50), (0, 100)], moves
    # Each step's bake starts once resolvers have the change (the TTL), then bakes 1 s: no step sooner.
    for before, after in zip(stood[1:], stood[2:]):
        assert after[0] - before[0] >= TTL + 1 - 0.05, moves
    # Green: a clone of blue with the new image, in stack b's pool, tagged as this service's.
    greens = [r for r in azure.world.of_kind("Microsoft.Compute/virtualMachineScaleSets") if r.name.startswith("web-2")]
    assert len(greens) == 1, [r.name for r in greens]
    green = greens[0].body
    profile = green["properties"]["virtualMachineProfile"]
    assert profile["storageProfile"]["imageReference"]["id"] == image
    pools = profile["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["ipConfigurations"][0]["properties"]["loadBalancerBackendAddressPools"]
    assert [p["id"] for p in pools] == [world["stacks"]["b"]["pool"]]
    assert green["sku"] == {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": 2} and green["zones"] == ["1", "2"]
    assert green["tags"]["switchyard:service"] == "web"
    # Blue: kept for rollback until its retention ends (0s here), then retired by `gc`: deleted only after resolvers
    # could no longer reach stack a, with its autoscale setting.
    assert scale_set(azure, world, world["blue_name"]) is not None
    code, out, err = release("gc")
    assert code == 0, err
    blue_id = world["blue"].lower()
    gone = azure.world.deleted.get(blue_id)
    until = azure.world.reachable_until(world["profile"], world["stacks"]["a"]["endpoint"])
    assert gone is not None and until is not None and gone >= until, (gone, until)
    assert world["autoscale"].lower() in azure.world.deleted
    # Green's autoscale copy is on after promotion; the profile carries no fence mark any more.
    settings = [r for r in azure.world.of_kind("Microsoft.Insights/autoscaleSettings") if r.name.endswith("-autoscale") and r.name.startswith("web-2")]
    assert len(settings) == 1 and settings[0].body["properties"]["enabled"] is True, [s.body for s in settings]
    tags = azure.world.get(world["profile"]).body.get("tags") or {}
    assert not any(k.startswith("switchyard:deployment") for k in tags), tags
    assert_the_role_covers(azure)
    # No token, secret or signed URL in what the binary printed.
    assert world["secret"] not in out + err and "Bearer" not in out + err


@pytest.mark.slow(20)
def test_a_failing_probe_rolls_back_in_one_write_and_green_goes_only_after_the_ttl(azure, release, probe, tmp_path):
    world = release.world
    # ARM's long-running operations take their time (green's creation, its deletion), and answers come late.
    azure.world.lro_seconds = 2
    azure.slow("Profiles_Get", 0.3, times=4)
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 30s\n  - weight: 100\n", http=probe.url)
    with running(release, "start", path, "--image", world["images"]["1.1.0"]) as proc:
        wait_until(proc, at_split(azure, world, (90, 10)), timeout=90)
        probe.fail()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    moves = [m[1:] for m in shares(azure, world)]
    # Up to 10 % (green's endpoint enabled first, then blue's weight lowered), then back in one change.
    assert moves[0] == (100, 0) and moves[-2:] == [(90, 10), (100, 0)] and max(g for _, g in moves) == 10, moves
    # Clients saw one change, 90/10 to 100/0: blue's endpoint is made sure of first (enabled, its weight left, which
    # moves nothing), then green's is disabled.
    writes = [c for c in azure.calls("Endpoints_Update") if c.status == 200 and c.at >= probe.failing_since]
    assert [(c.path.rsplit("/", 1)[-1], c.body["properties"]) for c in writes] == [
        (world["stacks"]["a"]["endpoint"], {"endpointStatus": "Enabled"}),
        (world["stacks"]["b"]["endpoint"], {"endpointStatus": "Disabled"})], [(c.path, c.body) for c in writes]
    greens = [k for k in azure.world.deleted if "/virtualmachinescalesets/web-2" in k]
    assert len(greens) == 1, azure.world.deleted
    until = azure.world.reachable_until(world["profile"], world["stacks"]["b"]["endpoint"])
    assert azure.world.deleted[greens[0]] >= until, (azure.world.deleted[greens[0]], until)
    # The deletion was followed to its end (its operation polled) before the command said rolled back.
    assert scale_set(azure, world, greens[0].rsplit("/", 1)[-1]) is None and azure.calls("OperationStatus")
    assert scale_set(azure, world, world["blue_name"]) is not None
    # Blue's autoscale setting has its own minimum back.
    setting = azure.world.get(world["autoscale"]).body
    assert setting["properties"]["profiles"][0]["capacity"]["minimum"] == "2" and setting["properties"]["enabled"] is True


@pytest.mark.slow(25)
def test_kill_9_while_green_launches_and_resume_adopts_green_and_finishes(azure, release, tmp_path):
    """The process dies after green's PUT, while ARM is still creating it; `resume` finds green by its tag (no second
    scale set), waits for it and completes; the stand-in's slow operations and 429s are waited out on the way."""
    world = release.world
    azure.world.boot_seconds = 3
    azure.throttle("VirtualMachineScaleSetVMs_List", times=2, retry_after=1)
    azure.throttle("Endpoints_Update", times=1, retry_after=1)
    path = deployment_file(tmp_path, world, "  - weight: 50\n    bake: 0s\n  - weight: 100\n")
    proc = release("start", path, "--image", world["images"]["1.1.0"], background=True)
    deployment = kill_when(proc, lambda: azure.calls("VirtualMachineScaleSets_CreateOrUpdate"))
    code, out, err = release("resume", deployment, timeout=240)
    assert code == 0, err
    creates = [c for c in azure.calls("VirtualMachineScaleSets_CreateOrUpdate") if c.status in (200, 201)]
    assert len(creates) == 1, [(c.path, c.status) for c in creates]
    assert [m[1:] for m in shares(azure, world)][-1] == (0, 100)
    assert any(c.outcome == "throttled" for c in azure.calls("VirtualMachineScaleSetVMs_List"))
    assert any(c.outcome == "throttled" for c in azure.calls("Endpoints_Update"))


@pytest.mark.slow(10)
def test_a_second_release_from_another_state_file_is_fenced_off_by_the_profile_tag(azure, release, tmp_path):
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 30s\n  - weight: 100\n")
    with running(release, "start", path, "--image", world["images"]["1.1.0"]) as first:
        wait_until(first, at_split(azure, world, (90, 10)))
        other = os.path.join(str(tmp_path), "other.db")
        proc = subprocess.run([*release.binary_args("start", path, "--image", world["images"]["1.1.0"]), "--db", other],
                              capture_output=True, text=True, timeout=60, env=release.env)
        assert proc.returncode == 4, proc.stderr
        assert "is tagged switchyard:deployment:" in proc.stderr and "--force-unlock" in proc.stderr, proc.stderr
        # The refused start made nothing: still one green, the split untouched.
        greens = [r.name for r in azure.world.of_kind("Microsoft.Compute/virtualMachineScaleSets") if r.name.startswith("web-2")]
        assert len(greens) == 1 and [m[1:] for m in shares(azure, world)][-1] == (90, 10), (greens, shares(azure, world))


@pytest.mark.slow(15)
def test_green_that_traffic_managers_probes_find_degraded_is_rolled_back(azure, release, tmp_path):
    """Green's instances report healthy to the Application Health extension, but Traffic Manager's probes of green's
    stack fail: at 10 % it gets no DNS answers while blue is enabled, and would get all of them (fail-open) once blue
    is disabled. The endpoint-health check rolls back before any larger share."""
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 5s\n  - weight: 100\n")
    green_endpoint = world["stacks"]["b"]["endpoint"]
    with running(release, "start", path, "--image", world["images"]["1.1.0"]) as proc:
        wait_until(proc, lambda: any(c.status == 200 and c.path.endswith(green_endpoint) for c in azure.calls("Endpoints_Update")))
        azure.world.endpoint_status[green_endpoint] = "Degraded"
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "endpoint-health" in err and f"Traffic Manager reports endpoint {green_endpoint} Degraded" in err, err
    moves = [m[1:] for m in shares(azure, world)]
    assert (0, 100) not in moves and moves[-1] == (100, 0), moves


@pytest.mark.slow(30)
@pytest.mark.parametrize("phase", ["shifting", "rolling_back"])
def test_kill_9_mid_release_and_resume_ends_where_the_record_says(azure, release, probe, tmp_path, phase):
    """Killed during a step's bake, `resume` finishes the release; killed right after a rollback moved traffic back,
    `resume` removes green (after the TTL) and ends rolled back. Either way one green was made, and the split ends
    where the record's state says."""
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 3s\n  - weight: 100\n", http=probe.url)
    green_endpoint = world["stacks"]["b"]["endpoint"]
    proc = release("start", path, "--image", world["images"]["1.1.0"], background=True)

    def ready():
        if not at_split(azure, world, (90, 10))():
            return False
        if phase == "shifting":
            return True
        if probe.failing_since is None:
            probe.fail()
        # Killed right after the rollback's write disabled green's endpoint.
        return any(c.status == 200 and c.path.endswith(green_endpoint) and c.at >= probe.failing_since for c in azure.calls("Endpoints_Update"))

    deployment = kill_when(proc, ready)
    code, out, err = release("resume", deployment, timeout=240)
    creates = [c for c in azure.calls("VirtualMachineScaleSets_CreateOrUpdate") if c.status in (200, 201)]
    assert len(creates) == 1, [(c.path, c.status) for c in creates]
    moves = [m[1:] for m in shares(azure, world)]
    if phase == "shifting":
        assert code == 0, err
        assert moves[-1] == (0, 100), moves
    else:
        assert code == 3, err
        assert moves[-1] == (100, 0) and (0, 100) not in moves, moves
        greens = [k for k in azure.world.deleted if "/virtualmachinescalesets/web-2" in k]
        assert len(greens) == 1 and azure.world.deleted[greens[0]] >= azure.world.reachable_until(world["profile"], green_endpoint)


@pytest.mark.parametrize("source", ["workload identity", "managed identity"])
def test_each_credential_source_alone_plans_a_release(azure, release, tmp_path, source):
    """With no other credentials present: a federated token file (GitHub Actions, AKS), or IMDS on the VM."""
    world = release.world
    env = release.env
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"):
        env.pop(name, None)
    if source == "workload identity":
        client_id, issuer, subject = str(uuid.uuid4()), "https://token.actions.githubusercontent.com", "repo:acme/web:ref:refs/heads/main"
        azure.directory.add_app(world["tenant"], client_id, federated=[(issuer, subject)])
        token_file = os.path.join(str(tmp_path), "federated-token")
        with open(token_file, "w") as f:
            f.write(azure.directory.federated_token(issuer, subject))
        env.update({"AZURE_TENANT_ID": world["tenant"], "AZURE_CLIENT_ID": client_id, "AZURE_FEDERATED_TOKEN_FILE": token_file})
        expected = "Token"
    else:
        azure.directory.add_identity(world["tenant"])
        expected = "IMDS"
    path = deployment_file(tmp_path, world, "  - weight: 100\n")
    code, out, err = release("plan", path, "--image", world["images"]["1.1.0"])
    assert code == 0, err
    tokens = [c for c in azure.calls() if c.operation in ("Token", "IMDS") and c.status == 200]
    assert [c.operation for c in tokens] == [expected], [(c.operation, c.status) for c in azure.calls()]
    arm = [c for c in azure.calls() if c.operation not in ("Token", "IMDS")]
    assert arm and all(c.status == 200 for c in arm), [(c.operation, c.status) for c in arm]


@pytest.mark.slow(30)
def test_a_second_release_goes_into_the_stack_the_first_left_and_retires_its_old_blue_first(azure, release, tmp_path):
    """After a release, blue is the first release's green (stack b); the next green goes into stack a, where the
    first release's blue still stands (its retention over): the plan retires it first, once its endpoint has been
    disabled for the TTL, and never a scale set that is not the service's."""
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 50\n    bake: 0s\n  - weight: 100\n")
    code, out, err = release("start", path, "--image", world["images"]["1.1.0"])
    assert code == 0, err
    first_green = [r.name for r in azure.world.of_kind("Microsoft.Compute/virtualMachineScaleSets") if r.name.startswith("web-2")]
    assert len(first_green) == 1
    code, out, err = release("plan", path, "--image", world["images"]["1.0.0"])
    assert code == 0, err
    assert f"web-stack-b (blue, {first_green[0]}) → web-stack-a (green" in out, out
    code, out, err = release("start", path, "--image", world["images"]["1.0.0"])
    assert code == 0, err
    assert world["blue"].lower() in azure.world.deleted
    names = sorted(r.name for r in azure.world.of_kind("Microsoft.Compute/virtualMachineScaleSets"))
    assert len(names) == 2 and first_green[0] in names and world["blue_name"] not in names, names
    moves = [m[1:] for m in shares(azure, world)]
    assert moves[-1] == (100, 0), moves   # all of it on stack a again, now the second green's


def test_a_foreign_scale_set_in_greens_stack_is_left_alone_and_the_plan_says_so(azure, release, tmp_path):
    from azure_seed import scale_set as scale_set_body
    world = release.world
    other = f"{world['resource_group']}/providers/Microsoft.Compute/virtualMachineScaleSets/batch-workers"
    azure.seed("PUT", other, scale_set_body(world["location"], 1, ("1",), world["images"]["1.0.0"], world["subnet"],
                                            world["stacks"]["b"]["pool"]))
    path = deployment_file(tmp_path, world, "  - weight: 100\n")
    code, out, err = release("start", path, "--image", world["images"]["1.1.0"])
    assert code == 2, err
    assert "scale set batch-workers stands in endpoint web-stack-b's stack, where green goes, and is not this service's: it was left alone" in err, err
    assert not [c for c in azure.calls() if c.method != "GET" and c.operation not in ("Token",)], [(c.method, c.path) for c in azure.calls()]


@pytest.mark.slow(15)
def test_an_azure_release_on_the_dynamodb_store_leaves_the_same_audit_trail(azure, release, validator, binary, tmp_path):
    """The team's store: the record (with its Azure plan) and the audit trail in DynamoDB (moto, through the checking
    proxy); `show` reads it back from there."""
    world = release.world
    env = dict(release.env)
    env.update({"AWS_ENDPOINT_URL_DYNAMODB": validator.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    url = f"dynamodb://switchyard-azure-{uuid.uuid4().hex[:8]}?region=us-east-1"
    proc = subprocess.run([binary, "state", "init", url], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    path = deployment_file(tmp_path, world, "  - weight: 50\n    bake: 0s\n  - weight: 100\n")
    proc = subprocess.run([binary, "start", path, "--image", world["images"]["1.1.0"], "--state", url], capture_output=True, text=True,
                          timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr
    deployment = re.search(r"deployment (\S+) started", proc.stderr).group(1)
    proc = subprocess.run([binary, "show", deployment, "--json", "--state", url], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["state"] == "completed", shown
    text = json.dumps(shown)
    assert "web-stack-b" in text and world["images"]["1.1.0"] in text
    assert [m[1:] for m in shares(azure, world)][-1] == (0, 100)
    assert any("dynamodb" in str(r.action).lower() or "PutItem" in str(r.action) or "TransactWriteItems" in str(r.action) for r in validator.requests), \
        [r.action for r in validator.requests][:20]


@pytest.mark.slow(10)
def test_a_release_straight_to_100_never_leaves_the_profile_without_an_enabled_endpoint(azure, release, tmp_path):
    """0 → 100 % in one step: green's endpoint is enabled before blue's is disabled (the other order answers no
    endpoint at all for an instant: clients get no address)."""
    world = release.world
    text = deployment_file(tmp_path, world, "  - weight: 100\n")
    env_file = os.path.join(str(tmp_path), "hook.env")
    with open(text, "a") as f:
        f.write(f"hooks:\n  before_traffic:\n    - run: [sh, -c, 'env > {env_file}']\n")
    release.env["SWITCHYARD_LOG_LEVEL"] = "info"
    code, out, err = release("start", text, "--image", world["images"]["1.1.0"])
    assert code == 0, err
    moves = [m[1:] for m in shares(azure, world)]
    assert (0, 0) not in moves and moves[-1] == (0, 100), moves
    # The hook sees Azure's names for the release's things.
    with open(env_file) as f:
        hook = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
    assert hook["SWITCHYARD_BLUE_SCALE_SET"] == world["blue_name"] and hook["SWITCHYARD_GREEN_SCALE_SET"].startswith("web-2"), hook
    assert hook["SWITCHYARD_GREEN_ENDPOINT"] == world["stacks"]["b"]["endpoint"] and hook["SWITCHYARD_RESOURCE_GROUP_ID"] == world["resource_group"]
    assert hook["SWITCHYARD_IMAGE"] == world["images"]["1.1.0"], hook
    # Every ARM write's request id is in the log, and no token is.
    writes = [c for c in azure.calls() if c.method in ("PUT", "PATCH", "DELETE") and c.operation not in ("Token", "IMDS")]
    assert writes and all(c.request_id in err for c in writes), [c.request_id for c in writes if c.request_id not in err]
    assert "Bearer" not in err and world["secret"] not in err


@pytest.mark.slow(20)
@pytest.mark.parametrize("read_settle, completes", [("3s", True), ("0s", False)])
def test_profile_reads_that_lag_our_writes_are_read_again_not_taken_for_the_truth(azure, release, tmp_path, read_settle, completes):
    """ARM's reads are eventually consistent: here every read of the profile answers it as it stood 1.5 s ago, and
    the profile's TTL is 0, so each look comes right after the write before it. With the read window (3 s) a look
    that disagrees with the record is read again until it shows the write, and the release completes with no hand
    change taken for one. With no window (0 s) the same run takes a stale read for the truth and stops: the
    stand-in's staleness is what the window is for."""
    world = release.world
    azure.seed("PATCH", world["profile"], {"properties": {"dnsConfig": {"ttl": 0}}})
    azure.stale("Profiles_Get", 1.5)
    release.env["SWITCHYARD_READ_SETTLE"] = read_settle
    release.env["SWITCHYARD_TAG_SETTLE"] = "3s"
    path = deployment_file(tmp_path, world, "  - weight: 50\n    bake: 0s\n  - weight: 100\n")
    code, out, err = release("start", path, "--image", world["images"]["1.1.0"], "--detach-at-pause", timeout=60)
    moves = [m[1:] for m in shares(azure, world)]
    if completes:
        assert code == 0, err
        assert moves[-1] == (0, 100) and "by hand" not in err, (moves, err)
    else:
        # Paused on a "hand change" that is only its own step read stale (exit 5 with --detach-at-pause).
        assert code == 5 and "by hand" in err, (code, err)


def test_plan_reads_the_image_from_a_packer_manifests_azure_arm_build(azure, release, tmp_path):
    world = release.world
    image = world["images"]["1.1.0"]
    manifest = os.path.join(str(tmp_path), "packer-manifest.json")
    with open(manifest, "w") as f:
        json.dump({"builds": [{"name": "web", "builder_type": "azure-arm", "artifact_id": image, "packer_run_uuid": "r"},
                              {"name": "web-aws", "builder_type": "amazon-ebs", "artifact_id": "us-east-1:ami-0123456789abcdef0",
                               "packer_run_uuid": "r"}], "last_run_uuid": "r"}, f)
    path = deployment_file(tmp_path, world, "  - weight: 100\n")
    code, out, err = release("plan", path, "--packer-manifest", manifest, "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert image in json.dumps(plan) and plan["traffic_manager"]["green_endpoint"] == world["stacks"]["b"]["endpoint"], plan


@pytest.mark.slow(15)
@pytest.mark.parametrize("settle, after_clients", [("3s", True), ("0s", False)])
def test_name_servers_that_lag_the_api_are_waited_for_by_the_settle(azure, release, probe, tmp_path, settle, after_clients):
    """Traffic Manager's name servers answer a change 2 s after ARM confirms it (propagation), then resolvers keep it
    for the TTL (1 s): clients reach green's stack up to 3 s after its endpoint is disabled. With `traffic.settle: 3s`
    green is deleted after that; with `0s` (the TTL alone) it is deleted while clients may still reach it, which is
    what the stand-in's data plane catches."""
    world = release.world
    azure.world.propagation_seconds = 2
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 30s\n  - weight: 100\n", http=probe.url, settle=settle)
    with running(release, "start", path, "--image", world["images"]["1.1.0"]) as proc:
        wait_until(proc, at_split(azure, world, (90, 10)))
        probe.fail()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    greens = [k for k in azure.world.deleted if "/virtualmachinescalesets/web-2" in k]
    until = azure.world.reachable_until(world["profile"], world["stacks"]["b"]["endpoint"])
    assert len(greens) == 1 and (azure.world.deleted[greens[0]] >= until) == after_clients, (azure.world.deleted, until)


@pytest.mark.slow(15)
def test_a_rollback_whose_first_write_is_answered_late_is_sent_again_and_ends_on_blue(azure, release, probe, tmp_path):
    """ARM applies the rollback's first PATCH but answers it 30 s later; the request's timeout (1 s) gives up on it,
    the PATCH (idempotent) is sent again, and the rollback ends with all traffic on blue, nothing waiting 30 s."""
    world = release.world
    release.env["SWITCHYARD_AWS_TIMEOUT"] = "1s"
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 30s\n  - weight: 100\n", http=probe.url)
    with running(release, "start", path, "--image", world["images"]["1.1.0"]) as proc:
        wait_until(proc, at_split(azure, world, (90, 10)))
        azure.slow("Endpoints_Update", 30, times=1)
        probe.fail()
        started = time.time()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert time.time() - started < 25, "the rollback waited for the late answer"
    assert [m[1:] for m in shares(azure, world)][-1] == (100, 0)
    late = [c for c in azure.calls("Endpoints_Update") if c.at >= probe.failing_since]
    assert len(late) >= 3, [(c.path, c.status) for c in late]


@pytest.mark.slow(10)
def test_a_blue_kept_for_rollback_is_not_retired_by_a_release_from_another_state_file(azure, release, tmp_path):
    """Blue carries its retention deadline as a tag (switchyard:retain-until): a release planned from another state
    file, which has no record of it, sees it and refuses to retire it, until --end-retention."""
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 100\n", retention="1h")
    code, out, err = release("start", path, "--image", world["images"]["1.1.0"])
    assert code == 0, err
    tags = scale_set(azure, world, world["blue_name"]).body.get("tags") or {}
    assert "switchyard:retain-until" in tags, tags
    other = os.path.join(str(tmp_path), "other.db")
    proc = subprocess.run([*release.binary_args("plan", path, "--image", world["images"]["1.0.0"]), "--db", other],
                          capture_output=True, text=True, timeout=60, env=release.env)
    assert proc.returncode == 2, proc.stderr
    assert f"scale set {world['blue_name']} in endpoint web-stack-a's stack is kept for rollback until {tags['switchyard:retain-until']}" in proc.stderr, proc.stderr
    proc = subprocess.run([*release.binary_args("plan", path, "--image", world["images"]["1.0.0"], "--end-retention"), "--db", other],
                          capture_output=True, text=True, timeout=60, env=release.env)
    assert proc.returncode == 0 and f"retire    {world['blue_name']}" in proc.stdout, proc.stderr + proc.stdout


@pytest.mark.slow(10)
def test_external_endpoints_are_followed_to_their_stack_by_host(azure, release, tmp_path):
    """A profile whose endpoints name their stacks by host (externalEndpoints with the load balancer's public DNS
    name, or its address): the plan follows each host to its public IP and load balancer, and the release runs."""
    world = release.world
    profile = world["profile"]
    for stack, target, weight, status in (("a", "fqdn", 1000, "Enabled"), ("b", "address", 1, "Disabled")):
        ip = azure.seed("PATCH", world["stacks"][stack]["ip"], {"tags": {"stack": stack}})
        host = ip["properties"]["dnsSettings"]["fqdn"] + "." if target == "fqdn" else ip["properties"]["ipAddress"]
        name = world["stacks"][stack]["endpoint"]
        azure.seed("DELETE", f"{profile}/azureEndpoints/{name}")
        azure.seed("PUT", f"{profile}/externalEndpoints/{name}", {"properties": {"target": host, "weight": weight, "endpointStatus": status}})
    path = deployment_file(tmp_path, world, "  - weight: 50\n    bake: 0s\n  - weight: 100\n")
    code, out, err = release("start", path, "--image", world["images"]["1.1.0"])
    assert code == 0, err
    assert [m[1:] for m in shares(azure, world)][-1] == (0, 100)
    greens = [r for r in azure.world.of_kind("Microsoft.Compute/virtualMachineScaleSets") if r.name.startswith("web-2")]
    pools = greens[0].body["properties"]["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["ipConfigurations"][0]["properties"]["loadBalancerBackendAddressPools"]
    assert [p["id"] for p in pools] == [world["stacks"]["b"]["pool"]]
    assert any(c.operation == "PublicIPAddresses_List" for c in azure.calls()), sorted({c.operation for c in azure.calls()})
    assert_the_role_covers(azure)


@pytest.mark.slow(10)
def test_a_weight_changed_by_hand_pauses_the_release_and_is_left_as_the_person_set_it(azure, release, tmp_path):
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 2s\n  - weight: 50\n    bake: 0s\n  - weight: 100\n")
    with running(release, "start", path, "--image", world["images"]["1.1.0"], "--detach-at-pause") as proc:
        wait_until(proc, at_split(azure, world, (90, 10)))
        green_endpoint = world["stacks"]["b"]["endpoint"]
        azure.seed("PATCH", f"{world['profile']}/azureEndpoints/{green_endpoint}", {"properties": {"weight": 300}})
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 5, err
    assert "by hand" in err and "Traffic Manager profile web-tm" in err, err
    assert [m[1:] for m in shares(azure, world)][-1] == (75, 25)


@pytest.mark.slow(8)
def test_a_manual_gate_waits_for_promote_and_status_and_show_read_the_azure_release(azure, release, tmp_path):
    world = release.world
    path = deployment_file(tmp_path, world, "  - weight: 10\n    bake: 0s\n  - pause\n  - weight: 100\n")
    code, out, err = release("start", path, "--image", world["images"]["1.1.0"], "--detach-at-pause")
    assert code == 5, err
    # The audit trail speaks of a scale set's model, which has no versions (AWS's says launch template N version M).
    assert f"green's scale set model is {world['blue_name']}'s with image {world['images']['1.1.0']}" in err and "version 1 uses" not in err, err
    deployment = re.search(r"deployment (\S+) started", err).group(1)
    assert [m[1:] for m in shares(azure, world)][-1] == (90, 10)
    code, out, err = release("status")
    assert code == 0 and deployment in out and "paused" in out, out + err
    code, out, err = release("show", deployment)
    assert code == 0 and "web-stack-b" in out, out + err
    code, out, err = release("promote", deployment)
    assert code == 0, err
    assert [m[1:] for m in shares(azure, world)][-1] == (0, 100)
    code, out, err = release("show", deployment, "--json")
    assert code == 0 and json.loads(out)["state"] == "completed", out
