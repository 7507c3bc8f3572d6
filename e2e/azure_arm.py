"""ARM's vocabulary for the Azure stand-in: the resource kinds it plays (type, api-version, the SDK models of their
PUT and PATCH bodies, whether they run as long-running operations), how a request path names one, and ARM's error
body. The api-versions are those the azure-mgmt-* packages pinned in scripts/lib.sh send (read from their
`build_*_request` functions): a client that sends another is refused as ARM refuses an unknown one."""
import copy
import time
import urllib.parse
from dataclasses import dataclass

import azuremodel

LOCATION_OPS = ("operations", "operationresults")


@dataclass(frozen=True)
class Kind:
    type: str                 # canonical type, e.g. Microsoft.Compute/virtualMachineScaleSets
    api: str                  # the api-version the azure-mgmt-* package pinned here uses
    ops: str                  # operation-id prefix, e.g. VirtualMachineScaleSets (VirtualMachineScaleSets_Get)
    put: str | None = None    # "package.Model" of the PUT body; None: read-only (a view Azure computes)
    patch: str | None = None  # "package.Model" of the PATCH body
    lro: bool = False         # PUT/PATCH/DELETE run as long-running operations
    patch_lro: bool = True    # with `lro`: PATCH is long-running too (Network's tag updates are not)


COMPUTE, GALLERY, NETWORK, NIC_VIEWS = "2026-04-01", "2026-03-03", "2026-03-01", "2018-10-01"
KINDS = {k.type.lower(): k for k in [
    Kind("Microsoft.Resources/resourceGroups", "2025-04-01", "ResourceGroups", "resource.ResourceGroup",
         "resource.ResourceGroupPatchable"),
    Kind("Microsoft.Compute/virtualMachineScaleSets", COMPUTE, "VirtualMachineScaleSets",
         "compute.VirtualMachineScaleSet", "compute.VirtualMachineScaleSetUpdate", lro=True),
    Kind("Microsoft.Compute/virtualMachineScaleSets/virtualMachines", COMPUTE, "VirtualMachineScaleSetVMs"),
    Kind("Microsoft.Compute/virtualMachineScaleSets/instanceView", COMPUTE, "VirtualMachineScaleSets"),
    Kind("Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView", COMPUTE,
         "VirtualMachineScaleSetVMs"),
    Kind("Microsoft.Compute/virtualMachineScaleSets/networkInterfaces", NIC_VIEWS, "NetworkInterfaces"),
    Kind("Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces", NIC_VIEWS,
         "NetworkInterfaces"),
    Kind("Microsoft.Compute/images", COMPUTE, "Images", "compute.Image", "compute.ImageUpdate", lro=True),
    Kind("Microsoft.Compute/galleries", GALLERY, "Galleries", "compute.Gallery", "compute.GalleryUpdate", lro=True),
    Kind("Microsoft.Compute/galleries/images", GALLERY, "GalleryImages", "compute.GalleryImage",
         "compute.GalleryImageUpdate", lro=True),
    Kind("Microsoft.Compute/galleries/images/versions", GALLERY, "GalleryImageVersions",
         "compute.GalleryImageVersion", "compute.GalleryImageVersionUpdate", lro=True),
    Kind("Microsoft.Network/virtualNetworks", NETWORK, "VirtualNetworks", "network.VirtualNetwork",
         "network.TagsObject", lro=True, patch_lro=False),
    Kind("Microsoft.Network/publicIPAddresses", NETWORK, "PublicIPAddresses", "network.PublicIPAddress",
         "network.TagsObject", lro=True, patch_lro=False),
    Kind("Microsoft.Network/loadBalancers", NETWORK, "LoadBalancers", "network.LoadBalancer", "network.TagsObject",
         lro=True, patch_lro=False),
    Kind("Microsoft.Network/loadBalancers/backendAddressPools", NETWORK, "LoadBalancerBackendAddressPools"),
    Kind("Microsoft.Network/trafficManagerProfiles", "2026-09-01", "Profiles", "trafficmanager.Profile",
         "trafficmanager.Profile"),
    *[Kind(f"Microsoft.Network/trafficManagerProfiles/{t}", "2026-09-01", "Endpoints", "trafficmanager.Endpoint",
           "trafficmanager.Endpoint") for t in ("azureEndpoints", "externalEndpoints", "nestedEndpoints")],
    Kind("Microsoft.Insights/autoscaleSettings", "2022-10-01", "AutoscaleSettings",
         "monitor.AutoscaleSettingResource", "monitor.AutoscaleSettingResourcePatch"),
]}
HEALTH_EXTENSIONS = ("applicationhealthlinux", "applicationhealthwindows")
SECRETS = ("adminPassword", "customData", "protectedSettings")   # Azure takes them, never returns them
SUBRESOURCE_LISTS = ("subnets", "frontendIPConfigurations", "backendAddressPools", "loadBalancingRules", "probes",
                     "inboundNatRules", "outboundRules")


def model(name):
    """The SDK model class for "package.Model" (imported on first use: the compute models take ~2 s)."""
    package, cls = name.split(".")
    module = {"compute": "azure.mgmt.compute.models", "network": "azure.mgmt.network.models",
              "trafficmanager": "azure.mgmt.trafficmanager.models", "monitor": "azure.mgmt.monitor.models",
              "resource": "azure.mgmt.resource.resources.models"}[package]
    return getattr(__import__(module, fromlist=[cls]), cls)


class ArmError(Exception):
    def __init__(self, status, code, message, target=None):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.target = status, code, message, target

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return {"error": error}


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1e6):06d}+00:00"


def merge(base, patch):
    """JSON merge patch (RFC 7386), which is how ARM applies a PATCH body."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def problems(kind, method, body):
    """The model problems of a PUT or PATCH body for `kind` (azuremodel.Problem list)."""
    name = kind.put if method == "PUT" else kind.patch
    return azuremodel.check(model(name), body, "create" if method == "PUT" else "update")


@dataclass
class Target:
    """An ARM path taken apart: /subscriptions/{sub}[/resourceGroups/{rg}][/providers/{ns}/{type}/{name}…]."""
    sub: str
    rg: str | None
    ns: str | None
    types: list
    names: list
    status_of: bool = False        # an operation status or result URL

    @property
    def collection(self):
        return len(self.types) > len(self.names) and not self.types[-1].lower() == "instanceview"

    @property
    def key(self):
        if self.ns is None:
            return "microsoft.resources/resourcegroups"
        return "/".join([self.ns] + self.types).lower()

    def operation(self, kind, method):
        if self.status_of:
            return "OperationStatus"
        if kind is None:
            return "?"
        last = kind.type.rsplit("/", 1)[-1]
        special = {("instanceView", 3): "VirtualMachineScaleSets_GetInstanceView",
                   ("instanceView", 4): "VirtualMachineScaleSetVMs_GetInstanceView"}
        if (last, kind.type.count("/") + 1) in special:
            return special[(last, kind.type.count("/") + 1)]
        if last == "networkInterfaces":
            scope = "VM" if "virtualMachines" in kind.type else ""
            return (f"NetworkInterfaces_ListVirtualMachineScaleSet{scope}NetworkInterfaces" if self.collection
                    else "NetworkInterfaces_GetVirtualMachineScaleSetNetworkInterface")
        if self.collection:
            by_rg = kind.ops in ("Profiles", "AutoscaleSettings")
            if self.rg is None:
                return f"{kind.ops}_{'ListBySubscription' if by_rg else 'ListAll'}"
            return f"{kind.ops}_{'ListByResourceGroup' if by_rg else 'List'}"
        verbs = {"GET": "Get", "HEAD": "CheckExistence", "PUT": "CreateOrUpdate", "DELETE": "Delete",
                 "PATCH": "UpdateTags" if kind.patch == "network.TagsObject" else "Update"}
        return f"{kind.ops}_{verbs.get(method, method)}"

    def scope(self):
        return self.item_id(KINDS.get(self.key))

    def item_id(self, kind):
        root = f"/subscriptions/{self.sub}"
        if self.ns is None:
            return f"{root}/resourceGroups/{self.names[0]}" if self.names else root
        canonical = kind.type.split("/")[1:] if kind else self.types
        pairs = "/".join(f"{t}/{n}" for t, n in zip(canonical, self.names))
        group = f"/resourceGroups/{self.rg}" if self.rg else ""
        return f"{root}{group}/providers/{kind.type.split('/')[0] if kind else self.ns}/{pairs}"

    def parent_id(self):
        """The id a collection lives under: its parent resource, or the group, or the subscription."""
        if self.ns is None:
            return f"/subscriptions/{self.sub}"
        if len(self.names) > 0:
            return self.item_id(KINDS.get("/".join([self.ns] + self.types[:len(self.names)]).lower()))
        if self.rg:
            return f"/subscriptions/{self.sub}/resourceGroups/{self.rg}"
        return f"/subscriptions/{self.sub}"

    def ancestor(self, depth):
        """The id of the resource `depth` levels deep (1: the scale set or load balancer of a sub-path)."""
        kind = KINDS.get("/".join([self.ns] + self.types[:depth]).lower())
        return Target(self.sub, self.rg, self.ns, self.types[:depth], self.names[:depth]).item_id(kind)


def parse(path):
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
    sub, rest = parts[1], parts[2:]
    rg = None
    if rest and rest[0].lower() == "resourcegroups":
        if len(rest) <= 2:
            return Target(sub, None, None, ["resourceGroups"], rest[1:2])
        rg, rest = rest[1], rest[2:]
    if not rest or rest[0].lower() != "providers" or len(rest) < 3:
        raise ArmError(404, "NotFound", f"No route for {path}")
    ns, pairs = rest[1], rest[2:]
    if rg is None and len(pairs) == 4 and pairs[0].lower() == "locations" and pairs[2].lower() in LOCATION_OPS:
        return Target(sub, None, ns, pairs[0::2], pairs[1::2], status_of=True)
    return Target(sub, rg, ns, pairs[0::2], pairs[1::2])


def under(res, kind, target):
    """Whether a resource of `kind` belongs in the collection `target` names (its parent, group or subscription)."""
    parent = target.parent_id().lower()
    if kind.type.count("/") > 1:
        return res.id.lower().rsplit("/", 2)[0] == parent
    return res.id.lower().startswith(parent + "/")
