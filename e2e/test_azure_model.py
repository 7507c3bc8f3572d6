"""The Azure model check on its own (no server): bodies that the SDK itself serializes pass, and each kind of mistake
in them is reported as exactly that mistake, at its path. Imports of the SDK stay inside the tests: they take seconds,
and every xdist worker collects this file."""
import copy
import json
import os

import pytest

from azure_seed import cpu_rule, scale_set
from azuremodel import check
from conftest import REPO

POOL = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb/backendAddressPools/pool"
IMAGE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/web/versions/1.4.0"
SUBNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/app"
VMSS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web-blue"


def sdk_json(model):
    """What the SDK puts on the wire for a model object (read-only properties left out, as it sends them)."""
    if hasattr(model, "serialize"):     # msrest (azure-mgmt-monitor)
        return model.serialize()
    from azure.mgmt.compute._utils.model_base import SdkJSONEncoder
    return json.loads(json.dumps(model, cls=SdkJSONEncoder, exclude_readonly=True))


def vmss_body():
    return scale_set("westeurope", 2, ["1", "2"], IMAGE, SUBNET, POOL)


def found(cls, body, mode="create"):
    return [(p.kind, p.path) for p in check(cls, body, mode)]


def test_what_the_sdk_serializes_passes():
    from azure.mgmt.compute.models import VirtualMachineScaleSet, VirtualMachineScaleSetUpdate
    from azure.mgmt.monitor.models import AutoscaleProfile, AutoscaleSettingResource, ScaleCapacity
    from azure.mgmt.monitor.models import ScaleRule
    from azure.mgmt.trafficmanager.models import DnsConfig, Endpoint, MonitorConfig, Profile
    assert found(VirtualMachineScaleSet, sdk_json(VirtualMachineScaleSet(vmss_body()))) == []
    assert found(VirtualMachineScaleSetUpdate, sdk_json(VirtualMachineScaleSetUpdate({"sku": {"capacity": 3}})),
                 "update") == []
    profile = Profile(location="global", traffic_routing_method="Weighted", profile_status="Enabled",
                      dns_config=DnsConfig(relative_name="web", ttl=30),
                      monitor_config=MonitorConfig(protocol="HTTPS", port=443, path="/healthz"),
                      endpoints=[Endpoint(name="a", type="Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                                          target="a.example.net", weight=1000, endpoint_status="Enabled")])
    assert found(Profile, sdk_json(profile)) == []
    setting = AutoscaleSettingResource(
        location="westeurope", enabled=True, target_resource_uri=VMSS,
        profiles=[AutoscaleProfile(name="default", capacity=ScaleCapacity(minimum="2", maximum="4", default="2"),
                                   rules=[ScaleRule.from_dict(cpu_rule(VMSS, "GreaterThan", 70, "Increase"))])])
    assert found(AutoscaleSettingResource, sdk_json(setting)) == []


def test_an_unknown_property_is_named_with_the_spelling_the_model_has():
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    body = vmss_body()
    body["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["ID"] = IMAGE
    problems = check(VirtualMachineScaleSet, body, "create")
    assert [(p.kind, p.path) for p in problems] == [
        ("unknown", "properties.virtualMachineProfile.storageProfile.imageReference.ID")]
    assert "the model spells it 'id'" in problems[0].why


def test_a_missing_required_property_is_reported_on_create_not_on_update():
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    from azure.mgmt.monitor.models import AutoscaleSettingResource
    body = vmss_body()
    del body["location"]
    nic = body["properties"]["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"][0]
    del nic["name"]
    assert found(VirtualMachineScaleSet, body) == [
        ("missing", "properties.virtualMachineProfile.networkProfile.networkInterfaceConfigurations[0].name"),
        ("missing", "location")]
    assert found(VirtualMachineScaleSet, {"tags": {"a": "b"}}, "update") == []
    capacity_without_default = {"location": "x", "properties": {"profiles": [
        {"name": "p", "capacity": {"minimum": "1", "maximum": "2"}, "rules": []}]}}
    assert found(AutoscaleSettingResource, capacity_without_default) == [
        ("missing", "properties.profiles[0].capacity.default")]


def test_read_only_properties_sent_are_reported_and_accepted_when_read():
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    body = vmss_body()
    body["properties"]["provisioningState"] = "Succeeded"
    body["etag"] = '"1"'
    assert found(VirtualMachineScaleSet, body) == [("readonly", "properties.provisioningState"), ("readonly", "etag")]
    assert found(VirtualMachineScaleSet, dict(body, id=VMSS, name="web-blue"), "read") == []


@pytest.mark.parametrize("where, value, kind", [
    ("sku.capacity", "2", "type"), ("sku.capacity", True, "type"), ("sku.capacity", 2.5, "type"),
    ("properties.overprovision", "false", "type"), ("zones", "1", "type"), ("sku", [], "type"),
    ("properties.upgradePolicy.mode", "Manually", "enum"),
])
def test_a_wrong_type_or_enum_value_is_reported(where, value, kind):
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    body = vmss_body()
    holder, *path = [body] + where.split(".")
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    assert found(VirtualMachineScaleSet, body) == [(kind, where)]


def test_enum_values_are_compared_as_arm_compares_them_without_case():
    from azure.mgmt.compute.models import VirtualMachineScaleSet
    body = vmss_body()
    body["properties"]["upgradePolicy"]["mode"] = "manual"
    assert found(VirtualMachineScaleSet, body) == []


@pytest.mark.parametrize("weight, ok", [(0, False), (1, True), (1000, True), (1001, False), (-5, False)])
def test_a_traffic_manager_weight_must_be_within_the_range_the_model_states(weight, ok):
    from azure.mgmt.trafficmanager.models import Endpoint
    problems = found(Endpoint, {"properties": {"weight": weight}}, "update")
    assert problems == ([] if ok else [("range", "properties.weight")])


def test_msrest_bounds_dates_and_durations_are_checked():
    from azure.mgmt.monitor.models import AutoscaleSettingResource
    rule = cpu_rule(VMSS, "GreaterThan", 70, "Increase")
    rule["metricTrigger"]["timeWindow"] = "5 minutes"
    profile = {"name": "p", "capacity": {"minimum": "1", "maximum": "2", "default": "1"}, "rules": [rule],
               "fixedDate": {"timeZone": "UTC", "start": "yesterday", "end": "2026-01-02T00:00:00Z"}}
    body = {"location": "x", "properties": {"profiles": [profile] + [copy.deepcopy(profile) for _ in range(20)]}}
    problems = found(AutoscaleSettingResource, body)
    assert ("range", "properties.profiles") in problems
    assert ("type", "properties.profiles[0].rules[0].metricTrigger.timeWindow") in problems
    assert ("type", "properties.profiles[0].fixedDate.start") in problems
    assert ("type", "properties.profiles[0].fixedDate.end") not in problems


def test_a_polymorphic_body_is_checked_against_the_kind_it_names():
    from azure.mgmt.network.models import BaseAdminRule
    assert found(BaseAdminRule, {"kind": "Default", "properties": {"flag": "x"}}) == []
    assert ("unknown", "properties.flag") in found(BaseAdminRule, {"kind": "Custom", "properties": {"flag": "x"}})


BODIES = os.path.join(REPO, "Tests", "AzureTests", "Bodies")


def test_every_body_the_azure_module_writes_is_one_azures_model_accepts():
    """Tests/AzureTests/Bodies/<model>.<case>.json: the bodies the Swift Azure module makes (its unit tests hold each
    equal to its file), checked here against the SDK model they are sent as (`patch-…` cases as updates)."""
    from azure_arm import model
    files = sorted(f for f in os.listdir(BODIES) if f.endswith(".json"))
    assert len(files) >= 4, files
    for name in files:
        service, cls, case = name[:-len(".json")].split(".", 2)
        with open(os.path.join(BODIES, name), encoding="utf-8") as f:
            body = json.load(f)
        mode = "update" if case.startswith("patch") else "create"
        assert check(model(f"{service}.{cls}"), body, mode) == [], name
    # The check can fail: one property the model does not have, in any of them, is reported.
    with open(os.path.join(BODIES, files[0]), encoding="utf-8") as f:
        body = json.load(f)
    body.setdefault("properties", {})["notAProperty"] = 1
    service, cls, _ = files[0].split(".", 2)
    assert [p.kind for p in check(model(f"{service}.{cls}"), body, "create")] == ["unknown"]
