"""The Azure stand-in proven with Azure's own Python SDK (azure-mgmt-* and azure-identity from PyPI) pointed at it:
scale sets whose instances come up and follow the capacity, Traffic Manager weights shifting what DNS answers,
429s retried, long-running operations followed to success and to failure, each credential flow, tokens refused as
ARM refuses them; and the model check failing requests that Azure would refuse. Every test here fails at teardown
if the SDK sent anything the models reject or the stand-in answered anything they do not describe."""
import json
import time

import pytest
import requests

from azure_seed import scale_set, seed_world

ARM_SCOPE = "https://management.azure.com/.default"


class Sdk:
    """The SDK's clients for one subscription of the stand-in, over https, with a credential (client secret by
    default). Imports here, not at the top: the SDK takes seconds to import and every xdist worker collects this
    file."""

    def __init__(self, az, world, credential=None):
        from azure.identity import ClientSecretCredential
        from azure.mgmt.compute import ComputeManagementClient
        from azure.mgmt.monitor import MonitorManagementClient
        from azure.mgmt.network import NetworkManagementClient
        from azure.mgmt.trafficmanager import TrafficManagerManagementClient
        self.credential = credential or ClientSecretCredential(
            world["tenant"], world["client_id"], world["secret"], authority=az.login, disable_instance_discovery=True,
            connection_verify=az.certificate)
        options = dict(base_url=az.tls_url, credential_scopes=[ARM_SCOPE], connection_verify=az.certificate,
                       polling_interval=0.05, retry_backoff_factor=0.05)
        sub = world["subscription"]
        self.compute = ComputeManagementClient(self.credential, sub, **options)
        self.network = NetworkManagementClient(self.credential, sub, **options)
        self.traffic = TrafficManagerManagementClient(self.credential, sub, **options)
        self.monitor = MonitorManagementClient(self.credential, sub, **options)


@pytest.fixture
def world(azure):
    azure.retry_after = 0   # the SDK then polls at its polling_interval (0.05 s): one test checks Retry-After itself
    return seed_world(azure, name="web")


@pytest.fixture
def sdk(azure, world):
    return Sdk(azure, world)


def group(world):
    return world["resource_group"].rsplit("/", 1)[-1]


def token(az, world, scope=ARM_SCOPE):
    """A bearer token from the stand-in's Entra ID, by the client-secret flow, with plain requests."""
    answer = requests.post(f"{az.login}/{world['tenant']}/oauth2/v2.0/token", verify=az.certificate, timeout=5, data={
        "grant_type": "client_credentials", "client_id": world["client_id"], "client_secret": world["secret"],
        "scope": scope})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def arm(az, method, path, body=None, bearer=None, api=None, headers=None):
    """One ARM request as a hand-written client would send it."""
    api = api or ("2026-04-01" if "Microsoft.Compute" in path else "2026-09-01" if "trafficManager" in path
                  else "2026-03-01")
    sent = {"Content-Type": "application/json", **({"Authorization": f"Bearer {bearer}"} if bearer else {}),
            **(headers or {})}
    return requests.request(method, f"{az.tls_url}{path}", params={"api-version": api}, verify=az.certificate,
                            data=json.dumps(body) if body is not None else None, headers=sent, timeout=10)


def green_body(az, world, image="1.1.0"):
    return scale_set(world["location"], 2, ["1", "2"], world["images"][image], world["subnet"],
                     world["stacks"]["b"]["pool"])


# -- scale sets ---------------------------------------------------------------------------------------------------
def test_a_new_scale_sets_instances_come_up_and_join_its_pool(azure, world, sdk):
    # Long enough that the instances are still Creating when looked at, however slow the first SDK call of a run is.
    azure.world.boot_seconds, azure.world.health_seconds = 1.5, 0.3
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    poller = sdk.compute.virtual_machine_scale_sets.begin_create_or_update(
        group(world), "web-green", VirtualMachineScaleSet(green_body(azure, world)))
    early = list(sdk.compute.virtual_machine_scale_set_vms.list(group(world), "web-green"))
    assert sorted(vm.instance_id for vm in early) == ["0", "1"]
    assert {vm.properties.provisioning_state for vm in early} == {"Creating"}
    assert sorted(vm.zones[0] for vm in early) == ["1", "2"]
    assert sdk.compute.virtual_machine_scale_sets.get(group(world), "web-green").properties.provisioning_state \
        == "Creating"
    created = poller.result()
    assert created.properties.provisioning_state == "Succeeded"
    assert created.sku.capacity == 2 and created.zones == ["1", "2"]
    put = azure.calls("VirtualMachineScaleSets_CreateOrUpdate")[0]
    assert (put.status, put.api_version) == (201, "2026-04-01")
    assert azure.calls("OperationStatus"), "the SDK followed Azure-AsyncOperation"
    view = sdk.compute.virtual_machine_scale_set_vms.get_instance_view(group(world), "web-green", "0")
    assert view.vm_health.status.code in ("HealthState/initializing", "HealthState/healthy")
    time.sleep(0.35)
    view = sdk.compute.virtual_machine_scale_set_vms.get_instance_view(group(world), "web-green", "0")
    assert view.vm_health.status.code == "HealthState/healthy"
    assert [s.code for s in view.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    pool = sdk.network.load_balancer_backend_address_pools.get(group(world), "web-b-lb", "pool")
    members = sorted(c.id.split("/virtualMachines/")[1].split("/")[0] for c in pool.properties.backend_ip_configurations)
    assert members == ["0", "1"]
    nics = list(sdk.network.network_interfaces.list_virtual_machine_scale_set_network_interfaces(group(world),
                                                                                                "web-green"))
    assert len(nics) == 2 and all(n.properties.ip_configurations[0].properties.private_ip_address.startswith("10.1.0.")
                                  for n in nics)
    summary = sdk.compute.virtual_machine_scale_sets.get_instance_view(group(world), "web-green")
    assert [(s.code, s.count) for s in summary.virtual_machine.statuses_summary] == [("ProvisioningState/succeeded", 2)]


def test_capacity_changes_add_and_remove_instances_highest_id_first(azure, world, sdk):
    from azure.mgmt.compute.models import Sku, VirtualMachineScaleSetUpdate
    azure.world.boot_seconds = 0.2
    sets = sdk.compute.virtual_machine_scale_sets
    sets.begin_update(group(world), "web-blue", VirtualMachineScaleSetUpdate(sku=Sku(capacity=4))).result()
    assert sorted(vm.instance_id for vm in sdk.compute.virtual_machine_scale_set_vms.list(group(world), "web-blue")) \
        == ["0", "1", "2", "3"]
    sets.begin_update(group(world), "web-blue", VirtualMachineScaleSetUpdate(sku=Sku(capacity=2))).result()
    assert sorted(vm.instance_id for vm in sdk.compute.virtual_machine_scale_set_vms.list(group(world), "web-blue")) \
        == ["0", "1"]
    assert azure.calls("VirtualMachineScaleSets_Update")[0].status == 200


def test_a_model_change_reaches_instances_only_as_the_upgrade_policy_says(azure, world, sdk):
    from azure.mgmt.compute.models import ImageReference, VirtualMachineScaleSetUpdate
    sets, vms = sdk.compute.virtual_machine_scale_sets, sdk.compute.virtual_machine_scale_set_vms
    image = ImageReference(id=world["images"]["1.1.0"])
    new_image = {"virtualMachineProfile": {"storageProfile": {"imageReference": image}}}
    sets.begin_update(group(world), "web-blue", VirtualMachineScaleSetUpdate({"properties": new_image})).result()
    blue = list(vms.list(group(world), "web-blue"))
    assert {vm.properties.latest_model_applied for vm in blue} == {False}
    assert {vm.properties.storage_profile.image_reference.exact_version for vm in blue} == {"1.0.0"}
    sets.begin_update(group(world), "web-blue", VirtualMachineScaleSetUpdate(
        {"properties": {"upgradePolicy": {"mode": "Automatic"}, **new_image}})).result()
    blue = list(vms.list(group(world), "web-blue"))
    assert {vm.properties.storage_profile.image_reference.exact_version for vm in blue} == {"1.1.0"}


def test_a_scale_set_naming_a_missing_pool_or_image_is_refused_as_azure_refuses_it(azure, world, sdk):
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    body = green_body(azure, world)
    body["properties"]["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"][0]["properties"][
        "ipConfigurations"][0]["properties"]["loadBalancerBackendAddressPools"] = [{"id": world["stacks"]["b"]["lb"] +
                                                                                     "/backendAddressPools/nope"}]
    with pytest.raises(HttpResponseError) as refused:
        sdk.compute.virtual_machine_scale_sets.begin_create_or_update(group(world), "web-green",
                                                                      VirtualMachineScaleSet(body))
    assert refused.value.error.code == "InvalidResourceReference" and "backendAddressPools/nope" in str(refused.value)
    body = green_body(azure, world)
    body["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"] += "9"
    with pytest.raises(ResourceNotFoundError) as missing:
        sdk.compute.virtual_machine_scale_sets.begin_create_or_update(group(world), "web-green",
                                                                      VirtualMachineScaleSet(body))
    assert missing.value.error.code == "GalleryImageNotFound"


def test_a_deleted_scale_set_leaves_its_pool_after_the_operation(azure, world, sdk):
    azure.world.lro_seconds = 0.3
    poller = sdk.compute.virtual_machine_scale_sets.begin_delete(group(world), "web-blue")
    assert azure.calls("VirtualMachineScaleSets_Delete")[0].status == 202
    assert len(sdk.network.load_balancer_backend_address_pools.get(group(world), "web-a-lb", "pool")
               .properties.backend_ip_configurations) == 2, "instances are Deleting, still in the pool"
    poller.result()
    assert sdk.network.load_balancer_backend_address_pools.get(group(world), "web-a-lb", "pool") \
        .properties.backend_ip_configurations == []
    assert world["blue"].lower() in azure.world.deleted
    assert list(sdk.compute.virtual_machine_scale_sets.list(group(world))) == []


def test_a_load_balancer_in_use_by_a_scale_set_cannot_be_deleted(azure, world, sdk):
    from azure.core.exceptions import HttpResponseError
    with pytest.raises(HttpResponseError) as refused:
        sdk.network.load_balancers.begin_delete(group(world), "web-a-lb").result()
    assert refused.value.error.code == "LoadBalancerInUseByVirtualMachineScaleSet"


def test_vm_lists_page_by_next_link(azure, world, sdk):
    azure.page_size = 1
    assert sorted(vm.instance_id for vm in sdk.compute.virtual_machine_scale_set_vms.list(group(world), "web-blue",
                                                                                       expand="instanceView")) \
        == ["0", "1"]
    assert len(azure.calls("VirtualMachineScaleSetVMs_List")) == 2


# -- long-running operations and faults ---------------------------------------------------------------------------
def test_a_failed_operation_ends_the_poll_with_azures_error_and_leaves_the_scale_set_failed(azure, world, sdk):
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    azure.fail_operation("VirtualMachineScaleSets_CreateOrUpdate", code="AllocationFailed",
                         message="Allocation failed. We do not have sufficient capacity for the requested VM size.")
    poller = sdk.compute.virtual_machine_scale_sets.begin_create_or_update(
        group(world), "web-green", VirtualMachineScaleSet(green_body(azure, world)))
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert "AllocationFailed" in str(failed.value)
    assert sdk.compute.virtual_machine_scale_sets.get(group(world), "web-green").properties.provisioning_state \
        == "Failed"


def test_the_operation_status_says_retry_after_and_the_sdk_waits_for_it(azure, world, sdk):
    from azure.mgmt.compute.models import Sku, VirtualMachineScaleSetUpdate
    azure.retry_after, azure.world.operation_seconds["VirtualMachineScaleSets_Update"] = 1, 1.2
    start = time.time()
    sdk.compute.virtual_machine_scale_sets.begin_update(group(world), "web-blue",
                                                        VirtualMachineScaleSetUpdate(sku=Sku(capacity=3))).result()
    polls = azure.calls("OperationStatus")
    update = azure.calls("VirtualMachineScaleSets_Update")[0]
    gaps = [b.at - a.at for a, b in zip(polls, polls[1:])]   # (azure-core polls once at once, then as told)
    assert len(polls) >= 2 and min(gaps) >= 0.95 and polls[0].at - update.at < 0.5, gaps
    assert time.time() - start >= 1.2


def test_a_delete_is_followed_through_its_location(azure, world):
    bearer = token(azure, world)
    answer = arm(azure, "DELETE", world["blue"], bearer=bearer)
    assert answer.status_code == 202 and answer.headers["Retry-After"] == "0"
    location = answer.headers["Location"]
    assert "/operationResults/" in location and answer.headers["Azure-AsyncOperation"]
    polled = requests.get(location, headers={"Authorization": f"Bearer {bearer}"}, verify=azure.certificate)
    assert polled.status_code == 202
    time.sleep(azure.world.lro_seconds + 0.05)
    polled = requests.get(location, headers={"Authorization": f"Bearer {bearer}"}, verify=azure.certificate)
    assert polled.status_code == 204
    assert arm(azure, "GET", world["blue"], bearer=bearer).json()["error"]["code"] == "ResourceNotFound"


def test_429_with_retry_after_is_retried_by_the_sdk(azure, world, sdk):
    azure.throttle("VirtualMachineScaleSets_Get", times=2, retry_after=1)
    start = time.time()
    assert sdk.compute.virtual_machine_scale_sets.get(group(world), "web-blue").name == "web-blue"
    gets = azure.calls("VirtualMachineScaleSets_Get")
    assert [(c.status, c.outcome) for c in gets] == [(429, "throttled"), (429, "throttled"), (200, "answered")]
    assert time.time() - start >= 2


def test_5xx_and_slow_answers_are_switches(azure, world, sdk):
    from azure.core.exceptions import HttpResponseError
    azure.fail("Endpoints_Get", status=503, code="ServiceUnavailable", times=1, retry_after=0)
    assert sdk.traffic.endpoints.get(group(world), "web-tm", "AzureEndpoints", "web-stack-a").weight == 1000
    assert [c.status for c in azure.calls("Endpoints_Get")] == [503, 200]
    azure.fail("Profiles_Get", status=500, code="InternalServerError", times=None)
    with pytest.raises(HttpResponseError):
        sdk.traffic.profiles.get(group(world), "web-tm", retry_total=1)
    azure.clear()
    azure.slow("Profiles_Get", 0.5, times=1)
    start = time.time()
    sdk.traffic.profiles.get(group(world), "web-tm")
    assert time.time() - start >= 0.5


# -- Traffic Manager and the data plane -----------------------------------------------------------------------------
def test_shifting_endpoint_weights_changes_what_dns_answers(azure, world, sdk):
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    from azure.mgmt.trafficmanager.models import Endpoint
    azure.world.boot_seconds = 0.1
    sdk.compute.virtual_machine_scale_sets.begin_create_or_update(
        group(world), "web-green", VirtualMachineScaleSet(green_body(azure, world))).result()
    endpoints = sdk.traffic.endpoints
    endpoints.update(group(world), "web-tm", "AzureEndpoints", "web-stack-b",
                     Endpoint({"properties": {"endpointStatus": "Enabled", "weight": 100}}))
    endpoints.update(group(world), "web-tm", "AzureEndpoints", "web-stack-a", Endpoint({"properties": {"weight": 900}}))
    profile = azure.world.get(world["profile"])
    assert azure.world.shares(profile) == {"web-stack-a": 0.9, "web-stack-b": 0.1}
    for a, b in ((500, 500), (1, 1000)):
        endpoints.update(group(world), "web-tm", "AzureEndpoints", "web-stack-a", Endpoint({"properties": {"weight": a}}))
        endpoints.update(group(world), "web-tm", "AzureEndpoints", "web-stack-b", Endpoint({"properties": {"weight": b}}))
    endpoints.update(group(world), "web-tm", "AzureEndpoints", "web-stack-a",
                     Endpoint({"properties": {"endpointStatus": "Disabled"}}))
    read = sdk.traffic.profiles.get(group(world), "web-tm")
    assert read.dns_config.ttl == 5 and read.dns_config.fqdn.endswith(".trafficmanager.net")
    assert {e.name: (e.endpoint_status, e.weight, e.endpoint_monitor_status) for e in read.endpoints} == {
        "web-stack-a": ("Disabled", 1, "Disabled"), "web-stack-b": ("Enabled", 1000, "Online")}
    azure.world.tick()
    seen = [shares for _, shares in azure.world.traffic[world["profile"].lower()]]
    assert seen[0] == {"web-stack-a": 1.0} and seen[-1] == {"web-stack-b": 1.0}
    assert {"web-stack-a": 0.5, "web-stack-b": 0.5} in seen
    disabled_at = azure.calls("Endpoints_Update")[-1].at
    assert azure.world.reachable_until(world["profile"], "web-stack-a") == pytest.approx(disabled_at + 5, abs=0.1), \
        "clients may resolve stack a for the TTL (5 s) after it was disabled"
    assert azure.world.reachable_until(world["profile"], "web-stack-b") > time.time() + 4.5
    assert azure.world.answered(world["profile"]) == {"web-stack-b": 1.0}
    azure.world.propagation_seconds = 30
    assert azure.world.answered(world["profile"]) == {}, "30 s ago the profile had no endpoints yet"
    assert azure.world.reachable_until(world["profile"], "web-stack-a") == pytest.approx(disabled_at + 35, abs=0.1)
    assert [c.api_version for c in azure.calls("Endpoints_Update")] == ["2026-09-01"] * 7


def test_an_endpoint_whose_instances_are_unhealthy_is_degraded_and_gets_no_traffic(azure, world, sdk):
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    from azure.mgmt.trafficmanager.models import Endpoint
    azure.world.boot_seconds = 0.1
    azure.world.image_health[world["images"]["1.1.0"].lower()] = "unhealthy"
    sdk.compute.virtual_machine_scale_sets.begin_create_or_update(
        group(world), "web-green", VirtualMachineScaleSet(green_body(azure, world))).result()
    time.sleep(0.15)
    sdk.traffic.endpoints.update(group(world), "web-tm", "AzureEndpoints", "web-stack-b",
                                 Endpoint({"properties": {"endpointStatus": "Enabled", "weight": 500}}))
    b = sdk.traffic.endpoints.get(group(world), "web-tm", "AzureEndpoints", "web-stack-b")
    assert b.endpoint_monitor_status == "Degraded"
    view = sdk.compute.virtual_machine_scale_set_vms.get_instance_view(group(world), "web-green", "0")
    assert view.vm_health.status.code == "HealthState/unhealthy"
    assert azure.world.shares(azure.world.get(world["profile"])) == {"web-stack-a": 1.0}
    azure.world.instance_health[("web-blue", "0")] = azure.world.instance_health[("web-blue", "1")] = "unhealthy"
    assert azure.world.shares(azure.world.get(world["profile"])) == {"web-stack-a": 0.666667, "web-stack-b": 0.333333}, \
        "every endpoint degraded: Traffic Manager answers with all of them"


def test_a_weight_outside_1_to_1000_is_a_violation(azure, world):
    bearer = token(azure, world)
    path = world["profile"] + "/azureEndpoints/web-stack-b"
    for weight in (0, 1001):
        answer = arm(azure, "PATCH", path, {"properties": {"weight": weight}}, bearer=bearer)
        assert answer.status_code == 400 and "outside 1..1000" in answer.json()["error"]["message"]
    assert len(azure.violations) == 2 and all("properties.weight" in v for v in azure.violations)
    azure.violations.clear()
    assert arm(azure, "PATCH", path, {"properties": {"weight": 1000}}, bearer=bearer).status_code == 200


# -- autoscale --------------------------------------------------------------------------------------------------------
def test_an_enabled_autoscale_setting_holds_capacity_within_its_bounds(azure, world, sdk):
    from azure.mgmt.compute.models import Sku, VirtualMachineScaleSetUpdate
    azure.world.autoscale_seconds = 0.1
    setting = sdk.monitor.autoscale_settings.get(group(world), "web-blue-autoscale")
    assert setting.enabled and setting.profiles[0].capacity.minimum == "2"
    assert azure.world.scale("web-blue", 4, "load") and not azure.world.scale("web-blue", 5, "load")
    sdk.compute.virtual_machine_scale_sets.begin_update(group(world), "web-blue",
                                                        VirtualMachineScaleSetUpdate(sku=Sku(capacity=1))).result()
    time.sleep(0.3)
    assert sdk.compute.virtual_machine_scale_sets.get(group(world), "web-blue").sku.capacity == 2
    assert [e[3:5] for e in azure.world.autoscale_events] == [(2, 4), (1, 2)]
    setting.enabled = False
    pinned = sdk.monitor.autoscale_settings.create_or_update(group(world), "web-blue-autoscale", setting)
    assert pinned.enabled is False
    sdk.compute.virtual_machine_scale_sets.begin_update(group(world), "web-blue",
                                                        VirtualMachineScaleSetUpdate(sku=Sku(capacity=1))).result()
    time.sleep(0.3)
    assert sdk.compute.virtual_machine_scale_sets.get(group(world), "web-blue").sku.capacity == 1
    assert not azure.world.scale("web-blue", 3)
    assert azure.calls("AutoscaleSettings_CreateOrUpdate")[0].api_version == "2022-10-01"


# -- credentials and tokens ---------------------------------------------------------------------------------------------
def test_a_client_secret_token_is_cached_across_requests(azure, world, sdk):
    for _ in range(3):
        sdk.compute.virtual_machine_scale_sets.get(group(world), "web-blue")
    assert [i.flow for i in azure.directory.issued] == ["client_secret"]
    assert len({c.token for c in azure.calls("VirtualMachineScaleSets_Get")}) == 1
    assert azure.calls("OpenIdConfiguration"), "MSAL discovered the token endpoint from the stand-in"


def test_a_token_near_its_expiry_is_replaced_before_it_is_refused(azure, world, sdk):
    azure.directory.token_lifetime = 200   # azure-core renews a token 300 s before it expires
    for _ in range(2):
        sdk.compute.virtual_machine_scale_sets.get(group(world), "web-blue")
    assert len(azure.directory.issued) == 2
    assert len({c.token for c in azure.calls("VirtualMachineScaleSets_Get")}) == 2


def test_workload_identity_federation_gets_a_token_from_the_federated_token_file(azure, world, tmp_path, monkeypatch):
    from azure.identity import WorkloadIdentityCredential
    issuer, subject = "https://token.actions.githubusercontent.com", "repo:acme/web:environment:prod"
    app = azure.directory.add_app(world["tenant"], "fed-client", federated=[(issuer, subject)])
    token_file = tmp_path / "federated-token"
    token_file.write_text(azure.directory.federated_token(issuer, subject))
    for name, value in azure.environment(world["tenant"], app.client_id, token_file=str(token_file)).items():
        monkeypatch.setenv(name, value)
    sdk = Sdk(azure, world, WorkloadIdentityCredential(connection_verify=azure.certificate))
    assert sdk.compute.virtual_machine_scale_sets.get(group(world), "web-blue").name == "web-blue"
    assert [(i.flow, i.client_id) for i in azure.directory.issued] == [("client_assertion", "fed-client")]
    token_file.write_text(azure.directory.federated_token(issuer, "repo:acme/web:ref:refs/heads/evil"))
    from azure.core.exceptions import ClientAuthenticationError
    with pytest.raises(ClientAuthenticationError) as refused:
        WorkloadIdentityCredential(connection_verify=azure.certificate).get_token(ARM_SCOPE)
    assert "AADSTS700213" in str(refused.value)


def test_managed_identity_gets_its_token_from_imds_on_loopback(azure, world, monkeypatch):
    from azure.identity import ManagedIdentityCredential
    identity = azure.directory.add_identity(world["tenant"])
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", azure.url)
    azure.throttle("IMDS", times=1, retry_after=0)
    sdk = Sdk(azure, world, ManagedIdentityCredential())
    assert sdk.compute.virtual_machine_scale_sets.get(group(world), "web-blue").name == "web-blue"
    assert [(i.flow, i.principal) for i in azure.directory.issued] == [("imds", identity.object_id)]
    imds = azure.calls("IMDS")
    assert [c.status for c in imds] == [429, 200] and imds[-1].path == "/metadata/identity/oauth2/token"
    without_header = requests.get(f"{azure.url}/metadata/identity/oauth2/token",
                                  params={"api-version": "2018-02-01", "resource": "https://management.azure.com/"})
    assert without_header.status_code == 400 and without_header.json()["error"] == "invalid_request"


def test_default_azure_credential_takes_the_environments_client_secret(azure, world, monkeypatch):
    from azure.identity import DefaultAzureCredential
    for name in ("AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in azure.environment(world["tenant"], world["client_id"], secret=world["secret"]).items():
        monkeypatch.setenv(name, value)
    credential = DefaultAzureCredential(disable_instance_discovery=True, connection_verify=azure.certificate,
                                        exclude_managed_identity_credential=True, exclude_cli_credential=True,
                                        exclude_developer_cli_credential=True, exclude_powershell_credential=True)
    assert Sdk(azure, world, credential).compute.virtual_machine_scale_sets.get(group(world), "web-blue")
    assert [i.flow for i in azure.directory.issued] == ["client_secret"]


def test_a_wrong_client_secret_is_refused_by_entra_id(azure, world):
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientSecretCredential
    credential = ClientSecretCredential(world["tenant"], world["client_id"], "wrong", authority=azure.login,
                                        disable_instance_discovery=True, connection_verify=azure.certificate)
    with pytest.raises(ClientAuthenticationError) as refused:
        credential.get_token(ARM_SCOPE)
    assert "AADSTS7000215" in str(refused.value) and "wrong" not in str(refused.value)
    assert azure.directory.issued == []
    url = f"{azure.login}/{world['tenant']}/oauth2/v2.0/token"
    basic = requests.post(url, auth=(world["client_id"], world["secret"]), verify=azure.certificate,
                          data={"grant_type": "client_credentials", "scope": ARM_SCOPE, "client_id": world["client_id"]})
    assert basic.status_code == 200, "client_secret_basic, as the OpenID configuration offers it"
    as_json = requests.post(url, json={"grant_type": "client_credentials"}, verify=azure.certificate)
    assert as_json.status_code == 400 and as_json.json()["error_codes"] == [900144]


@pytest.mark.parametrize("case", ["missing", "forged", "expired", "audience", "tenant"])
def test_arm_refuses_tokens_as_arm_does(azure, world, case):
    bearer = token(azure, world)
    if case == "forged":
        head, body, sig = bearer.split(".")
        bearer = ".".join([head, body[:-2] + ("AA" if body[-2:] != "AA" else "BB"), sig])
    if case == "expired":
        azure.directory.clock_skew = 3601
    if case == "audience":
        bearer = token(azure, world, scope="https://vault.azure.net/.default")
    if case == "tenant":
        other, _ = azure.add_subscription()
        world = dict(world, blue=world["blue"].replace(world["subscription"], other))
    answer = arm(azure, "GET", world["blue"], bearer=None if case == "missing" else bearer)
    code = {"missing": "AuthenticationFailed", "forged": "InvalidAuthenticationToken",
            "expired": "ExpiredAuthenticationToken", "audience": "InvalidAuthenticationTokenAudience",
            "tenant": "InvalidAuthenticationTokenTenant"}[case]
    assert answer.status_code == 401 and answer.json()["error"]["code"] == code
    assert answer.headers["WWW-Authenticate"].startswith('Bearer authorization_uri="https://127.0.0.1:')
    assert "is earlier than current UTC time" in answer.text if case == "expired" else True


def test_an_rbac_denial_is_403_authorization_failed(azure, world, sdk):
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.trafficmanager.models import Endpoint
    azure.deny("Microsoft.Network/trafficManagerProfiles/azureEndpoints/write")
    with pytest.raises(HttpResponseError) as denied:
        sdk.traffic.endpoints.update(group(world), "web-tm", "AzureEndpoints", "web-stack-b",
                                     Endpoint({"properties": {"weight": 5}}))
    assert denied.value.status_code == 403 and denied.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Network/trafficManagerProfiles/azureEndpoints/write" in azure.actions()


# -- the model check ------------------------------------------------------------------------------------------------
def test_unknown_missing_readonly_and_mistyped_properties_are_violations(azure, world):
    bearer = token(azure, world)
    body = green_body(azure, world)
    body["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["idd"] = "typo"
    answer = arm(azure, "PUT", world["resource_group"] + "/providers/Microsoft.Compute/virtualMachineScaleSets/g1",
                 body, bearer=bearer)
    assert answer.status_code == 400 and "ImageReference has no property 'idd'" in answer.json()["error"]["message"]
    body = green_body(azure, world)
    del body["location"]
    assert arm(azure, "PUT", world["resource_group"] + "/providers/Microsoft.Compute/virtualMachineScaleSets/g2",
               body, bearer=bearer).status_code == 400
    body = green_body(azure, world)
    body["sku"]["capacity"] = "2"
    assert arm(azure, "PUT", world["resource_group"] + "/providers/Microsoft.Compute/virtualMachineScaleSets/g3",
               body, bearer=bearer).status_code == 400
    body = green_body(azure, world)
    body["properties"]["provisioningState"] = "Succeeded"
    assert arm(azure, "PUT", world["resource_group"] + "/providers/Microsoft.Compute/virtualMachineScaleSets/g4",
               body, bearer=bearer).status_code == 201, "ARM ignores read-only properties: only the check reports it"
    kinds = [v.split(": ", 1)[0].rsplit(" ", 1)[-1] for v in azure.violations]
    assert len(azure.violations) == 4, azure.violations
    assert "properties.virtualMachineProfile.storageProfile.imageReference.idd" in azure.violations[0]
    assert "location: required by VirtualMachineScaleSet" in azure.violations[1]
    assert "sku.capacity: expected an integer" in azure.violations[2]
    assert "properties.provisioningState: read-only" in azure.violations[3], kinds
    failures = azure.failures()
    assert len(failures) == 1 and failures[0].startswith("4 request(s) that Azure would refuse"), \
        "the fixture fails the test at teardown with these"
    azure.violations.clear()
    assert azure.failures() == []


def test_a_body_that_is_not_json_or_not_sent_as_json_is_a_violation(azure, world):
    bearer = token(azure, world)
    answer = arm(azure, "PATCH", world["blue"], None, bearer=bearer, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    answer = requests.patch(f"{azure.tls_url}{world['blue']}", params={"api-version": "2026-04-01"}, data=b"{sku:",
                            headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
                            verify=azure.certificate)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidRequestContent"
    assert len(azure.violations) == 2
    azure.violations.clear()


def test_an_api_version_the_sdk_does_not_use_is_refused(azure, world):
    answer = arm(azure, "GET", world["blue"], bearer=token(azure, world), api="2023-03-01")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "NoRegisteredProviderFound"
    assert "2026-04-01" in answer.json()["error"]["message"]


def test_a_stale_etag_is_refused_with_412(azure, world, sdk):
    bearer = token(azure, world)
    etag = arm(azure, "GET", world["blue"], bearer=bearer).headers["ETag"]
    assert arm(azure, "PATCH", world["blue"], {"tags": {"a": "1"}}, bearer=bearer,
               headers={"If-Match": etag}).status_code == 200
    stale = arm(azure, "PATCH", world["blue"], {"tags": {"a": "2"}}, bearer=bearer, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"


def test_every_request_is_recorded_with_its_api_version_operation_and_action(azure, world, sdk):
    list(sdk.compute.virtual_machine_scale_set_vms.list(group(world), "web-blue"))
    sdk.traffic.profiles.get(group(world), "web-tm")
    sdk.monitor.autoscale_settings.get(group(world), "web-blue-autoscale")
    from azure.core.exceptions import ResourceNotFoundError
    with pytest.raises(ResourceNotFoundError) as missing:
        sdk.compute.virtual_machine_scale_sets.get(group(world), "web-nope")
    assert missing.value.response.headers["x-ms-request-id"] == azure.requests[-1].request_id
    azure.requests.pop()
    arm_calls = [(c.method, c.operation, c.api_version, c.status) for c in azure.requests if c.token]
    assert arm_calls == [("GET", "VirtualMachineScaleSetVMs_List", "2026-04-01", 200),
                         ("GET", "Profiles_Get", "2026-09-01", 200),
                         ("GET", "AutoscaleSettings_Get", "2022-10-01", 200)]
    assert azure.actions() == ["Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read",
                               "Microsoft.Insights/autoscaleSettings/read",
                               "Microsoft.Network/trafficManagerProfiles/read"]
