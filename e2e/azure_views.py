"""What the Azure stand-in answers when a resource is read: the stored body plus what Azure computes (ids of
sub-resources, provisioningState, etags, a scale set's VMs, instance views and NICs, backend pool members, Traffic
Manager endpoints and their monitor status). Every shape here is checked against the SDK's models in read mode by
the stand-in's self-check (e2e/test_azure_standin.py), so it cannot drift from what a client parses."""
import copy

import azuremodel
from azure_arm import SECRETS, SUBRESOURCE_LISTS, iso, model

STATUS_TEXT = {"creating": "Creating", "updating": "Updating", "succeeded": "Provisioning succeeded",
               "deleting": "Deleting", "failed": "Provisioning failed"}
POWER_TEXT = {"starting": "VM starting", "running": "VM running", "stopping": "VM stopping"}
HEALTH_TEXT = {"healthy": "The VM is healthy", "unhealthy": "The VM is unhealthy",
               "initializing": "The VM health is being initialized", "unknown": "The VM health is unknown"}


def etag(res):
    return f'W/"{res.etag}"' if res.kind.type.startswith("Microsoft.Network/") else f'"{res.etag}"'


def resource(world, res):
    """A stored resource as GET answers it."""
    doc = copy.deepcopy(res.body)
    doc.update(id=res.id, name=res.name, type=res.kind.type)
    fields = azuremodel.schema(model(res.kind.put)).fields
    if "etag" in fields:
        doc["etag"] = etag(res)
    props = fields.get("properties")
    if props and props.spec[0] == "model" and "provisioningState" in props.spec[1].fields:
        doc.setdefault("properties", {})["provisioningState"] = res.state
    _strip(doc)
    extra = _EXTRA.get(res.kind.type)
    if extra:
        extra(world, res, doc)
    return doc


def _strip(value):
    if isinstance(value, dict):
        for key in SECRETS:
            value.pop(key, None)
        for item in value.values():
            _strip(item)
    elif isinstance(value, list):
        for item in value:
            _strip(item)


def _subresources(world, res, doc):
    props = doc.get("properties") or {}
    for listname in SUBRESOURCE_LISTS:
        for item in props.get(listname) or []:
            item["id"] = f"{res.id}/{listname}/{item['name']}"
            item["etag"] = etag(res)
            item.setdefault("properties", {})["provisioningState"] = "Succeeded"
            if listname == "backendAddressPools":
                item["properties"]["backendIPConfigurations"] = [{"id": m} for m in world.pool_members(item["id"])]


def _public_ip(world, res, doc):
    props = doc.setdefault("properties", {})
    props["ipAddress"] = res.extra.setdefault("ip", f"203.0.113.{len(world.of_kind(res.kind.type)) % 250 + 1}")
    label = (props.get("dnsSettings") or {}).get("domainNameLabel")
    if label:
        props["dnsSettings"]["fqdn"] = f"{label}.{doc.get('location', 'westeurope')}.cloudapp.azure.com"


def _vmss(world, res, doc):
    props = doc["properties"]
    props["uniqueId"] = res.extra["scale"]["unique"]
    props["timeCreated"] = iso(res.created)


def _profile(world, res, doc):
    props = doc.setdefault("properties", {})
    dns = props.setdefault("dnsConfig", {})
    dns["fqdn"] = f"{dns.get('relativeName', res.name)}.trafficmanager.net"
    endpoints = [endpoint(world, res, e) for e in world.endpoints(res)]
    props["endpoints"] = endpoints
    statuses = {e["properties"]["endpointMonitorStatus"] for e in endpoints}
    if props.get("profileStatus", "Enabled") != "Enabled":
        status = "Disabled"
    elif statuses & {"Online", "CheckingEndpoint"}:
        status = "Online" if "Online" in statuses else "CheckingEndpoints"
    else:
        status = "Degraded" if "Degraded" in statuses else "Inactive"
    props.setdefault("monitorConfig", {})["profileMonitorStatus"] = status


def endpoint(world, profile, res):
    doc = copy.deepcopy(res.body)
    doc.update(id=res.id, name=res.name, type=res.kind.type)
    props = doc.setdefault("properties", {})
    props.setdefault("endpointStatus", "Enabled")
    if (profile.body.get("properties") or {}).get("trafficRoutingMethod", "").lower() == "weighted":
        props.setdefault("weight", 1)
    props["endpointMonitorStatus"] = world.monitor_status(profile, res)
    return doc


def _endpoint(world, res, doc):
    doc.clear()
    doc.update(endpoint(world, world.get(res.id.rsplit("/", 2)[0]), res))


def _autoscale(world, res, doc):
    doc.setdefault("properties", {}).setdefault("name", res.name)


_EXTRA = {"Microsoft.Network/virtualNetworks": _subresources, "Microsoft.Network/loadBalancers": _subresources,
          "Microsoft.Network/publicIPAddresses": _public_ip, "Microsoft.Compute/virtualMachineScaleSets": _vmss,
          "Microsoft.Network/trafficManagerProfiles": _profile, "Microsoft.Insights/autoscaleSettings": _autoscale,
          **{f"Microsoft.Network/trafficManagerProfiles/{t}": _endpoint
             for t in ("azureEndpoints", "externalEndpoints", "nestedEndpoints")}}


# -- a scale set's instances --------------------------------------------------------------------------------------
def provisioning(world, inst):
    now = world.clock()
    if inst.gone_at is not None:
        return "deleting"
    if now < inst.ready_at:
        return "updating" if inst.reimaged else "creating"
    return "succeeded"


def _status(code, text, time_=None):
    status = {"code": code, "level": "Info", "displayStatus": text}
    if time_ is not None:
        status["time"] = iso(time_)
    return status


def vm(world, vmss, inst, expand=False):
    """A scale set VM (VirtualMachineScaleSetVM), with its instanceView when `expand`."""
    rid = f"{vmss.id}/virtualMachines/{inst.id}"
    image = copy.deepcopy(((inst.model.get("storageProfile") or {}).get("imageReference")) or {})
    if "/galleries/" in image.get("id", "").lower() and "/versions/" in image["id"].lower():
        image["exactVersion"] = image["id"].rsplit("/", 1)[-1]
    nics = [{"id": f"{rid}/networkInterfaces/{n.get('name')}",
             "properties": {"primary": bool((n.get("properties") or {}).get("primary"))}}
            for n in (inst.model.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []]
    prefix = (inst.model.get("osProfile") or {}).get("computerNamePrefix", vmss.name)
    props = {"latestModelApplied": inst.version == vmss.extra["scale"]["version"], "vmId": inst.vm_id,
             "provisioningState": provisioning(world, inst).capitalize(),
             "storageProfile": {"imageReference": image}, "osProfile": {"computerName": _computer(prefix, inst)},
             "networkProfile": {"networkInterfaces": nics}, "timeCreated": iso(inst.created)}
    if expand:
        props["instanceView"] = vm_instance_view(world, vmss, inst)
    doc = {"id": rid, "name": f"{vmss.name}_{inst.id}",
           "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
           "location": vmss.body.get("location"), "instanceId": inst.id, "properties": props,
           "sku": {"name": vmss.body["sku"].get("name"), "tier": vmss.body["sku"].get("tier", "Standard")},
           "etag": f'"{inst.vm_id[:8]}-{inst.version}"'}
    if inst.zone:
        doc["zones"] = [inst.zone]
    return doc


def _computer(prefix, inst):
    digits, n = "", int(inst.id)
    while True:
        n, d = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[d] + digits
        if n == 0:
            return prefix + digits.rjust(6, "0")


def vm_instance_view(world, vmss, inst):
    state = provisioning(world, inst)
    now = world.clock()
    power = {"creating": "starting", "updating": "starting", "deleting": "stopping"}.get(state, "running")
    view = {"platformUpdateDomain": int(inst.id) % 5, "platformFaultDomain": int(inst.id) % 2,
            "computerName": _computer((inst.model.get("osProfile") or {}).get("computerNamePrefix", vmss.name), inst),
            "statuses": [_status(f"ProvisioningState/{state}", STATUS_TEXT[state], min(now, inst.ready_at)),
                         _status(f"PowerState/{power}", POWER_TEXT[power])]}
    extensions = ((inst.model.get("extensionProfile") or {}).get("extensions")) or []
    if extensions:
        ext_state = "succeeded" if state == "succeeded" else "transitioning"
        view["extensions"] = [{"name": e.get("name"),
                               "type": f"{(e.get('properties') or {}).get('publisher')}."
                                       f"{(e.get('properties') or {}).get('type')}",
                               "typeHandlerVersion": (e.get("properties") or {}).get("typeHandlerVersion"),
                               "statuses": [_status(f"ProvisioningState/{ext_state}",
                                                    "Provisioning succeeded" if ext_state == "succeeded"
                                                    else "Transitioning")]} for e in extensions]
    health = world.health(vmss, inst)
    if health is not None:
        view["vmHealth"] = {"status": _status(f"HealthState/{health}", HEALTH_TEXT[health], now)}
    return view


def vmss_instance_view(world, vmss):
    """The scale set's instance view: counts of its VMs' provisioning states and of its extensions'."""
    counts, ext_counts = {}, {}
    for inst in world.instances(vmss):
        code = f"ProvisioningState/{provisioning(world, inst)}"
        counts[code] = counts.get(code, 0) + 1
        for e in ((inst.model.get("extensionProfile") or {}).get("extensions")) or []:
            ext = ext_counts.setdefault(e.get("name"), {})
            ext_code = "ProvisioningState/succeeded" if code.endswith("succeeded") else "ProvisioningState/transitioning"
            ext[ext_code] = ext.get(ext_code, 0) + 1
    summary = lambda c: [{"code": k, "count": v} for k, v in sorted(c.items())]  # noqa: E731
    state = vmss.state.lower()
    return {"virtualMachine": {"statusesSummary": summary(counts)},
            "extensions": [{"name": n, "statusesSummary": summary(c)} for n, c in ext_counts.items()],
            "statuses": [_status(f"ProvisioningState/{state}", STATUS_TEXT.get(state, vmss.state), world.clock())],
            "orchestrationServices": []}


def nics(world, vmss, inst):
    """The NICs of one instance (NetworkInterface, api-version 2018-10-01 paths)."""
    rid = f"{vmss.id}/virtualMachines/{inst.id}"
    out = []
    for n, nic in enumerate((inst.model.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []):
        nic_id = f"{rid}/networkInterfaces/{nic['name']}"
        configs = []
        for ipc in (nic.get("properties") or {}).get("ipConfigurations") or []:
            props = ipc.get("properties") or {}
            subnet = (props.get("subnet") or {}).get("id")
            key = f"{nic['name']}/{ipc['name']}"
            address = inst.ips.setdefault(key, world.next_ip(subnet) if subnet else "10.0.0.4")
            config = {"id": f"{nic_id}/ipConfigurations/{ipc['name']}", "name": ipc["name"],
                      "properties": {"provisioningState": "Succeeded", "privateIPAddress": address,
                                     "privateIPAllocationMethod": "Dynamic", "privateIPAddressVersion": "IPv4",
                                     "primary": bool(props.get("primary", True)),
                                     "loadBalancerBackendAddressPools": [
                                         {"id": p["id"]} for p in props.get("loadBalancerBackendAddressPools") or []]}}
            if subnet:
                config["properties"]["subnet"] = {"id": subnet}
            configs.append(config)
        out.append({"id": nic_id, "name": nic["name"],
                    "properties": {"provisioningState": "Succeeded", "ipConfigurations": configs,
                                   "primary": bool((nic.get("properties") or {}).get("primary", n == 0)),
                                   "virtualMachine": {"id": rid}}})
    return out


def pool(world, lb, name):
    """One backend pool of a load balancer, with its members."""
    doc = resource(world, lb)
    for item in (doc.get("properties") or {}).get("backendAddressPools") or []:
        if item["name"].lower() == name.lower():
            item["type"] = "Microsoft.Network/loadBalancers/backendAddressPools"
            return item
    return None
