"""The resources behind the Azure stand-in (e2e/azure_standin.py) and how they behave over time.

Resource groups and the resources of the kinds in KINDS are stored as their PUT bodies; what Azure computes is added
when they are read: ids of sub-resources, provisioningState, a scale set's VMs, instance views and NICs, a load
balancer's backend pool members, a Traffic Manager profile's endpoints and their monitor status. The behaviour:
  - a scale set's instances follow its model and sku.capacity: each new one is Creating for `boot_seconds`, then
    Succeeded and running; with the Application Health extension (Microsoft.ManagedServices
    ApplicationHealthLinux|Windows) its vmHealth is initializing for `health_seconds`, then healthy, unless the test
    says otherwise (`image_health`, `instance_health`); scale-in deletes the highest instance ids first (the
    Default scale-in policy); a model change reaches existing instances only with upgradePolicy Automatic or
    Rolling (Manual leaves them latestModelApplied false);
  - a backend pool's members are the NIC ip configurations of the instances whose model names the pool;
  - a Traffic Manager endpoint fronting a public IP (azureEndpoints) is Online while the load balancer behind that
    IP has a serving instance (running, its application healthy: the probes see it whether or not the health
    extension reports it), else Degraded; `endpoint_status` overrides it; the DNS answer shares traffic by weight
    among Enabled endpoints that are Online or CheckingEndpoint, and among all Enabled ones when none is (Traffic
    Manager fails open); `traffic[profile id]` records every change of those shares, with its time; `answered()`
    is what the name servers say `propagation_seconds` later, and `reachable_until()` adds the TTL resolvers keep;
  - reads are consistent at once (a write is seen by the next GET): kinder than ARM, whose reads can lag a write;
  - an enabled autoscale setting holds its target's capacity within its default profile's minimum..maximum
    (after `autoscale_seconds`), and `scale()` plays an autoscale action inside those bounds.
Errors name the property and use ARM's codes where they are known (ResourceNotFound, ResourceGroupNotFound,
ParentResourceNotFound, InvalidResourceReference, InvalidParameter, GalleryImageNotFound, PreconditionFailed,
LoadBalancerInUseByVirtualMachineScaleSet); a few are the stand-in's wording (StandInUnsupported, BadRequest).
"""
import copy
import ipaddress
import itertools
import time
import uuid
from dataclasses import dataclass, field

from azure_arm import HEALTH_EXTENSIONS, KINDS, ArmError, Kind, merge


@dataclass
class Resource:
    kind: Kind
    id: str                   # canonical id, as ARM spells it
    name: str
    body: dict                # what the client gave (PUT, merged PATCHes), read-only properties dropped
    etag: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "Succeeded"  # provisioningState
    created: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class Instance:
    id: str
    zone: str | None
    model: dict               # the virtualMachineProfile this instance runs
    version: int              # which model version that is
    created: float
    ready_at: float           # Creating (or Updating) until then
    vm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    gone_at: float | None = None    # set when scale-in or delete started: Deleting until then
    reimaged: bool = False    # Updating (not Creating) until ready_at: a model upgrade reached it
    ips: dict = field(default_factory=dict)


@dataclass
class Operation:
    id: str
    name: str                 # the operation id that started it, e.g. VirtualMachineScaleSets_CreateOrUpdate
    resource: str             # lower-case id
    verb: str                 # put | patch | delete
    started: float
    done_at: float
    failure: dict | None = None   # {"code", "message", "status"}: the operation ends Failed
    finished: bool = False

    def status(self, now):
        if now < self.done_at:
            return "InProgress"
        return "Failed" if self.failure else "Succeeded"


class World:
    def __init__(self, clock=time.time):
        self.clock = clock
        self.resources = {}           # lower-case id -> Resource
        self.operations = {}          # operation id -> Operation
        self.lro_seconds = 0.3        # how long a long-running operation takes
        self.operation_seconds = {}   # operation id (e.g. Images_CreateOrUpdate) -> seconds, overriding lro_seconds
        self.boot_seconds = 0.5       # a new instance is Creating this long
        self.health_seconds = 0.0     # then its vmHealth is initializing this long (health extension present)
        self.autoscale_seconds = 0.2  # an enabled autoscale setting corrects an out-of-bounds capacity after this
        self.checking_seconds = 0.0   # an endpoint just enabled is CheckingEndpoint this long
        self.propagation_seconds = 0.0  # Traffic Manager's name servers answer with a change this long after it
        self.image_health = {}        # lower-case image id -> healthy | unhealthy | unknown (its instances' vmHealth)
        self.instance_health = {}     # (scale set name, instance id) -> healthy | unhealthy | unknown
        self.endpoint_status = {}     # endpoint name -> Online | Degraded | Stopped | CheckingEndpoint (override)
        self.traffic = {}             # profile id -> [(time, {endpoint name: share})]
        self.autoscale_events = []    # (time, setting name, scale set name, from, to, why)
        self.deleted = {}             # lower-case id -> when its deletion finished
        self._ips = itertools.count(4)

    # -- lookup ---------------------------------------------------------------------------------------------------
    def get(self, rid):
        return self.resources.get(rid.lower())

    def require(self, rid, kind):
        found = self.get(rid)
        if found is None:
            _, _, rg, name = _split(rid)
            raise ArmError(404, "ResourceNotFound", f"The Resource '{kind.type}/{name}' under resource group "
                           f"'{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
        return found

    def of_kind(self, type_name):
        return [r for r in self.resources.values() if r.kind.type == type_name]

    # -- writes ---------------------------------------------------------------------------------------------------
    def put(self, kind, rid, name, body, op_name, headers=None, seed=False, verb="put"):
        """Creates or replaces a resource (or, verb patch, applies a merged PATCH); returns (resource, created,
        operation or None)."""
        now = self.clock()
        existing = self.get(rid)
        self._preconditions(existing, headers or {})
        self._parents(rid, kind)
        body = _clean(body)
        check = getattr(self, f"_check_{_hook(kind)}", None)
        if check:
            check(rid, body, existing)
        created = existing is None
        res = existing or Resource(kind, rid, name, body, created=now)
        old = res.body
        res.body, res.etag = body, str(uuid.uuid4())
        res.state = ("Creating" if created else "Updating") if kind.lro and not seed else "Succeeded"
        self.resources[rid.lower()] = res
        after = getattr(self, f"_after_{_hook(kind)}", None)
        done_at = after(res, old if not created else None, now, seed, verb) if after else None
        op = None if not kind.lro or seed else self._start(op_name, res, verb, now, done_at)
        self.tick()
        return res, created, op

    def patch(self, kind, rid, body, op_name, headers=None, seed=False):
        existing = self.require(rid, kind)
        merged = merge(existing.body, _clean(body))
        res, _, op = self.put(kind, rid, existing.name, merged, op_name, headers, seed=seed, verb="patch")
        if kind.lro and not kind.patch_lro and op is not None:
            self._finish(op, self.clock())
            op = None
        return res, op

    def delete(self, kind, rid, op_name, headers=None, seed=False):
        """Starts deleting a resource; returns its operation (None when done at once, or nothing was there)."""
        res = self.get(rid)
        if res is None:
            return None
        self._preconditions(res, headers or {})
        guard = getattr(self, f"_deleting_{_hook(kind)}", None)
        now = self.clock()
        done_at = guard(res, now) if guard else None
        if not (kind.lro or kind.type == "Microsoft.Resources/resourceGroups") or seed:
            self._remove(res, now)
            return None
        res.state = "Deleting"
        return self._start(op_name, res, "delete", now, done_at)

    def _preconditions(self, res, headers):
        match, none_match = headers.get("If-Match"), headers.get("If-None-Match")
        if match and (res is None or (match != "*" and match.removeprefix("W/").strip('"') != res.etag)):
            raise ArmError(412, "PreconditionFailed", f"The specified precondition 'If-Match = {match}' failed.")
        if none_match == "*" and res is not None:
            raise ArmError(412, "PreconditionFailed", "The specified precondition 'If-None-Match = *' failed.")
        if res is not None and res.state == "Deleting":
            raise ArmError(409, "OperationNotAllowed", f"The operation is not allowed: '{res.id}' is being deleted.")

    def _parents(self, rid, kind):
        sub, _, rg, _ = _split(rid)
        if kind.type != "Microsoft.Resources/resourceGroups":
            group = self.get(f"/subscriptions/{sub}/resourceGroups/{rg}")
            if group is None:
                raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
            if group.state == "Deleting":
                raise ArmError(409, "ResourceGroupBeingDeleted", f"The resource group '{rg}' is in deprovisioning "
                               "state and cannot perform this operation.")
        parent = rid.rsplit("/", 2)[0]
        if kind.type.count("/") > 1 and self.get(parent) is None:
            raise ArmError(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. "
                           f"Parent resource '{parent.rsplit('/', 1)[-1]}' not found.")

    # -- long-running operations ----------------------------------------------------------------------------------
    def _start(self, op_name, res, verb, now, done_at=None):
        seconds = self.operation_seconds.get(op_name, self.lro_seconds)
        op = Operation(str(uuid.uuid4()), op_name, res.id.lower(), verb, now, max(now + seconds, done_at or 0))
        self.operations[op.id] = op
        res.extra["operation"] = op.id
        return op

    def tick(self):
        """Brings every time-driven state up to now: finished operations, autoscale, the DNS shares."""
        now = self.clock()
        for op in list(self.operations.values()):
            if not op.finished and now >= op.done_at:
                self._finish(op, now)
        for setting in self.of_kind("Microsoft.Insights/autoscaleSettings"):
            self._autoscale(setting, now)
        for profile in self.of_kind("Microsoft.Network/trafficManagerProfiles"):
            shares = self.shares(profile, now)
            log = self.traffic.setdefault(profile.id.lower(), [])
            if not log or log[-1][1] != shares:
                log.append((now, shares))

    def _finish(self, op, now):
        op.finished, op.done_at = True, min(op.done_at, now)
        res = self.resources.get(op.resource)
        if res is None or res.extra.get("operation") != op.id:
            return   # a later operation on the resource decides its state
        if op.verb == "delete" and not op.failure:
            self._remove(res, now)
        else:
            res.state = "Failed" if op.failure else "Succeeded"

    def _remove(self, res, now):
        doomed = [r for k, r in self.resources.items() if k == res.id.lower() or k.startswith(res.id.lower() + "/")]
        if res.kind.type == "Microsoft.Resources/resourceGroups":
            doomed = [r for r in self.resources.values() if r.id.lower().startswith(res.id.lower() + "/")] + [res]
        for r in doomed:
            self.resources.pop(r.id.lower(), None)
            self.deleted[r.id.lower()] = now

    # -- scale sets -----------------------------------------------------------------------------------------------
    def _check_vmss(self, rid, body, existing):
        props = body.get("properties") or {}
        mode = props.get("orchestrationMode", "Uniform")
        if mode.lower() != "uniform":
            raise ArmError(400, "StandInUnsupported", f"orchestrationMode {mode}: the stand-in plays Uniform scale "
                           "sets only", "properties.orchestrationMode")
        for path, value in (("sku", body.get("sku")), ("sku.capacity", (body.get("sku") or {}).get("capacity")),
                            ("properties.virtualMachineProfile", props.get("virtualMachineProfile"))):
            if value is None:
                raise ArmError(400, "InvalidParameter", f"Required parameter '{path}' is missing (null).", path)
        profile = props["virtualMachineProfile"]
        image = ((profile.get("storageProfile") or {}).get("imageReference") or {}).get("id")
        if image and not self._image_exists(image):
            raise ArmError(404, "GalleryImageNotFound", f"The gallery image {image} is not available in "
                           f"{body.get('location')} region. Please contact image owner to replicate to this region, "
                           "or change your requested region.", "imageReference")
        for ref in _nic_references(profile):
            if not self._reference_exists(ref):
                raise ArmError(400, "InvalidResourceReference", f"Resource {ref} referenced by resource {rid} was "
                               "not found. Please make sure that the referenced resource exists, and that both "
                               "resources are in the same region.")

    def _image_exists(self, image):
        found = self.get(image)
        return found is not None and found.kind.type in (
            "Microsoft.Compute/images", "Microsoft.Compute/galleries/images",
            "Microsoft.Compute/galleries/images/versions")

    def _reference_exists(self, ref):
        parent, _, name = ref.rpartition("/")
        holder, _, listname = parent.rpartition("/")
        res = self.get(holder)
        return res is not None and any(i.get("name", "").lower() == name.lower()
                                       for i in (res.body.get("properties") or {}).get(listname, []))

    def _after_vmss(self, res, old, now, seed, verb):
        state = res.extra.setdefault("scale", {"instances": [], "next": 0, "version": 0, "unique": str(uuid.uuid4())})
        profile = res.body["properties"]["virtualMachineProfile"]
        if old is not None and old["properties"].get("virtualMachineProfile") != profile:
            state["version"] += 1
        mode = ((res.body["properties"].get("upgradePolicy") or {}).get("mode") or "Manual").lower()
        if mode in ("automatic", "rolling"):   # every update brings outdated instances to the latest model
            for inst in self.live(res):
                if inst.version != state["version"]:
                    inst.model, inst.version = copy.deepcopy(profile), state["version"]
                    inst.ready_at, inst.reimaged = (now if seed else now + self.boot_seconds), True
        return self._reconcile(res, now, seed)

    def _reconcile(self, res, now, seed=False):
        """Creates or removes instances until the live ones match sku.capacity; returns when they are all done."""
        state = res.extra["scale"]
        live = self.live(res)
        want = int(res.body["sku"]["capacity"])
        zones = res.body.get("zones") or [None]
        ends = [i.ready_at for i in live]
        for _ in range(want - len(live)):
            counts = {z: sum(1 for i in self.live(res) if i.zone == z) for z in zones}
            inst = Instance(str(state["next"]), min(zones, key=lambda z: counts[z]),
                            copy.deepcopy(res.body["properties"]["virtualMachineProfile"]), state["version"], now,
                            now if seed else now + self.boot_seconds)
            state["next"] += 1
            state["instances"].append(inst)
            ends.append(inst.ready_at)
        policy = ((res.body["properties"].get("scaleInPolicy") or {}).get("rules") or ["Default"])[0]
        order = sorted(live, key=lambda i: int(i.id), reverse=policy.lower() != "oldestvm")
        for inst in order[: max(0, len(live) - want)]:
            inst.gone_at = now if seed else now + self.lro_seconds
            ends.append(inst.gone_at)
        return max(ends, default=now)

    def _deleting_vmss(self, res, now):
        for inst in self.live(res):
            inst.gone_at = now + self.lro_seconds
        return now + self.lro_seconds

    def instances(self, res):
        """The scale set's instances that still exist (Deleting ones included)."""
        now = self.clock()
        return [i for i in res.extra.get("scale", {}).get("instances", []) if i.gone_at is None or i.gone_at > now]

    def live(self, res):
        return [i for i in self.instances(res) if i.gone_at is None]

    def app_health(self, res, inst):
        """How the application on an instance answers: healthy | unhealthy | unknown (the test says, by instance
        or by image; healthy otherwise). Whether anyone reports it is another matter (health())."""
        override = self.instance_health.get((res.name, inst.id))
        image = ((inst.model.get("storageProfile") or {}).get("imageReference") or {}).get("id", "")
        return override or self.image_health.get(image.lower(), "healthy")

    def health(self, res, inst):
        """The vmHealth Azure reports: healthy | unhealthy | unknown | initializing, None where no Application Health
        extension is installed to report it."""
        if not _has_health_extension(inst.model):
            return None
        if self.clock() < inst.ready_at + self.health_seconds:
            return "initializing"
        return self.app_health(res, inst)

    def serving(self, res, inst):
        """Whether an instance answers clients (a load balancer's probe, Traffic Manager's monitor): running and its
        application healthy, whether or not a health extension reports it."""
        return self.clock() >= inst.ready_at and self.app_health(res, inst) == "healthy"

    def scale(self, vmss, capacity, why="autoscale"):
        """Plays an autoscale action: the capacity changes only within an enabled setting's bounds."""
        res = self._vmss(vmss)
        for setting in self.of_kind("Microsoft.Insights/autoscaleSettings"):
            bounds = self._bounds(setting)
            if bounds and _target(setting) == res.id.lower() and bounds[0] <= capacity <= bounds[1]:
                self._set_capacity(res, setting, capacity, why)
                return True
        return False

    def _autoscale(self, setting, now):
        bounds = self._bounds(setting)
        res = self.resources.get(_target(setting))
        if not bounds or res is None or res.kind.type != "Microsoft.Compute/virtualMachineScaleSets":
            return
        capacity = int(res.body["sku"]["capacity"])
        wanted = min(max(capacity, bounds[0]), bounds[1])
        if wanted == capacity or res.state != "Succeeded":
            setting.extra.pop("noticed", None)
            return
        noticed = setting.extra.setdefault("noticed", now)
        if now - noticed >= self.autoscale_seconds:
            setting.extra.pop("noticed", None)
            self._set_capacity(res, setting, wanted, f"capacity {capacity} outside {bounds[0]}..{bounds[1]}")

    def _set_capacity(self, res, setting, capacity, why):
        before = int(res.body["sku"]["capacity"])
        res.body["sku"]["capacity"] = capacity
        res.etag = str(uuid.uuid4())
        self._reconcile(res, self.clock())
        self.autoscale_events.append((self.clock(), setting.name, res.name, before, capacity, why))

    @staticmethod
    def _bounds(setting):
        props = setting.body.get("properties") or {}
        if not props.get("enabled"):
            return None
        profiles = props.get("profiles") or []
        plain = [p for p in profiles if not p.get("fixedDate") and not p.get("recurrence")] or profiles
        if not plain:
            return None
        capacity = plain[0]["capacity"]
        return int(capacity["minimum"]), int(capacity["maximum"])

    def _check_autoscalesettings(self, rid, body, existing):
        props = body.get("properties") or {}
        target = self.get(props.get("targetResourceUri") or "")
        if target is None:
            raise ArmError(400, "TargetResourceNotFound", f"The target resource id "
                           f"'{props.get('targetResourceUri')}' was not found.", "properties.targetResourceUri")
        for n, profile in enumerate(props.get("profiles") or []):
            cap = profile.get("capacity") or {}
            try:
                low, high, default = (int(cap[k]) for k in ("minimum", "maximum", "default"))
            except (KeyError, TypeError, ValueError):
                raise ArmError(400, "BadRequest", f"profiles[{n}].capacity: minimum, maximum and default must be "
                               "integers given as strings", f"properties.profiles[{n}].capacity") from None
            if not low <= default <= high:
                raise ArmError(400, "BadRequest", f"profiles[{n}].capacity: default {default} is not within "
                               f"{low}..{high}", f"properties.profiles[{n}].capacity")

    def _vmss(self, name_or_id):
        for res in self.of_kind("Microsoft.Compute/virtualMachineScaleSets"):
            if name_or_id.lower() in (res.name.lower(), res.id.lower()):
                return res
        raise KeyError(f"no scale set {name_or_id}")

    # -- load balancers -------------------------------------------------------------------------------------------
    def _deleting_loadbalancers(self, res, now):
        for vmss in self.of_kind("Microsoft.Compute/virtualMachineScaleSets"):
            used = [r for r in _nic_references(vmss.body["properties"]["virtualMachineProfile"])
                    if r.lower().startswith(res.id.lower() + "/")]
            if used and vmss.state != "Deleting":
                raise ArmError(400, "LoadBalancerInUseByVirtualMachineScaleSet", f"Cannot delete load balancer "
                               f"{res.id} since its child resources {', '.join(used)} are in use by virtual machine "
                               f"scale set {vmss.id}.")
        return None

    def pool_members(self, pool_id):
        """The NIC ip configuration ids of every instance whose model puts it in the pool."""
        members = []
        for vmss in self.of_kind("Microsoft.Compute/virtualMachineScaleSets"):
            for inst in self.instances(vmss):
                for nic, ipc, pools in _ip_configurations(inst.model):
                    if pool_id.lower() in (p.lower() for p in pools):
                        members.append(f"{vmss.id}/virtualMachines/{inst.id}/networkInterfaces/{nic}"
                                       f"/ipConfigurations/{ipc}")
        return members

    def next_ip(self, subnet_id):
        vnet = self.get(subnet_id.rsplit("/", 2)[0])
        subnets = (vnet.body.get("properties") or {}).get("subnets", []) if vnet else []
        prefix = next((s["properties"].get("addressPrefix") for s in subnets
                       if s.get("name", "").lower() == subnet_id.rsplit("/", 1)[-1].lower()), "10.0.0.0/24")
        return str(ipaddress.ip_network(prefix, strict=False).network_address + next(self._ips))

    # -- Traffic Manager ------------------------------------------------------------------------------------------
    def endpoints(self, profile):
        prefix = profile.id.lower() + "/"
        return sorted((r for k, r in self.resources.items() if k.startswith(prefix)), key=lambda r: r.created)

    def _check_trafficmanagerprofiles(self, rid, body, existing):
        for n, endpoint in enumerate((body.get("properties") or {}).get("endpoints") or []):
            self._check_endpoint(endpoint, f"properties.endpoints[{n}]", endpoint.get("type", ""))

    def _after_trafficmanagerprofiles(self, res, old, now, seed, verb):
        """PUT replaces the profile's endpoints with those it names (none named: none left); PATCH replaces them
        only when it names endpoints."""
        given = "endpoints" in (res.body.get("properties") or {})
        inline = res.body.get("properties", {}).pop("endpoints", None) or []
        if verb == "patch" and not given:
            return None
        for endpoint in self.endpoints(res):
            del self.resources[endpoint.id.lower()]
        for endpoint in inline:
            kind_name = endpoint.get("type", "").rsplit("/", 1)[-1]
            kind = KINDS[f"microsoft.network/trafficmanagerprofiles/{kind_name.lower()}"]
            rid = f"{res.id}/{kind.type.rsplit('/', 1)[-1]}/{endpoint['name']}"
            body = {k: v for k, v in endpoint.items() if k not in ("id", "type")}
            self.resources[rid.lower()] = Resource(kind, rid, endpoint["name"], body, created=now)
        return None

    def _check_azureendpoints(self, rid, body, existing):
        self._check_endpoint(body, "", rid.rsplit("/", 2)[-2])

    _check_externalendpoints = _check_nestedendpoints = _check_azureendpoints

    def _check_endpoint(self, body, where, kind_name):
        props = body.get("properties") or {}
        prefix = f"{where}." if where else ""
        if kind_name.lower().endswith("azureendpoints"):
            target = props.get("targetResourceId")
            if not target or self.get(target) is None:
                raise ArmError(400, "BadRequest", f"{prefix}properties.targetResourceId: the referenced resource "
                               f"'{target}' does not exist.", f"{prefix}properties.targetResourceId")
        elif kind_name.lower().endswith("externalendpoints") and not props.get("target"):
            raise ArmError(400, "BadRequest", f"{prefix}properties.target is required for an external endpoint.",
                           f"{prefix}properties.target")

    def _after_azureendpoints(self, res, old, now, seed, verb):
        was = ((old or {}).get("properties") or {}).get("endpointStatus", "Enabled")
        if (res.body.get("properties") or {}).get("endpointStatus", "Enabled") == "Enabled" and was != "Enabled":
            res.extra["enabled_at"] = now
        return None

    _after_externalendpoints = _after_nestedendpoints = _after_azureendpoints

    def monitor_status(self, profile, endpoint):
        props = endpoint.body.get("properties") or {}
        if (profile.body.get("properties") or {}).get("profileStatus", "Enabled") != "Enabled":
            return "Inactive"
        if props.get("endpointStatus", "Enabled") != "Enabled":
            return "Disabled"
        if endpoint.name in self.endpoint_status:
            return self.endpoint_status[endpoint.name]
        if self.clock() < endpoint.extra.get("enabled_at", 0) + self.checking_seconds:
            return "CheckingEndpoint"
        backends = self.behind(endpoint)
        if backends is None:
            return "Online"
        return "Online" if any(self.serving(v, i) for v, i in backends) else "Degraded"

    def behind(self, endpoint):
        """(scale set, instance) pairs behind an azureEndpoint's public IP; None when the stand-in cannot tell."""
        target = ((endpoint.body.get("properties") or {}).get("targetResourceId") or "").lower()
        if not target:
            return None
        pools = []
        for lb in self.of_kind("Microsoft.Network/loadBalancers"):
            props = lb.body.get("properties") or {}
            fronts = [((f.get("properties") or {}).get("publicIPAddress") or {}).get("id", "").lower()
                      for f in props.get("frontendIPConfigurations", [])]
            if target in fronts:
                pools += [f"{lb.id}/backendAddressPools/{p['name']}".lower()
                          for p in props.get("backendAddressPools", [])]
        if not pools:
            return None
        return [(vmss, inst) for vmss in self.of_kind("Microsoft.Compute/virtualMachineScaleSets")
                for inst in self.instances(vmss)
                if any(p.lower() in pools for _, _, ps in _ip_configurations(inst.model) for p in ps)]

    def reachable_until(self, profile_id, endpoint_name):
        """Until when clients may still reach an endpoint (the data plane's view): the end of its last non-zero
        share of DNS answers plus the profile's TTL, since resolvers keep an answer that long; now + TTL while it
        still has a share; None if it never had one. A fleet may be removed only after this (and its draining)."""
        profile = self.get(profile_id)
        ttl = ((profile.body.get("properties") or {}).get("dnsConfig") or {}).get("ttl", 0) if profile else 0
        log = self.traffic.get(profile_id.lower(), [])
        last = None
        for n, (at, shares) in enumerate(log):
            if shares.get(endpoint_name):
                last = log[n + 1][0] if n + 1 < len(log) else self.clock()
        return None if last is None else last + self.propagation_seconds + ttl

    def answered(self, profile_id, at=None):
        """The shares Traffic Manager's name servers answer with at `at` (now): those the API had
        `propagation_seconds` earlier."""
        moment = (self.clock() if at is None else at) - self.propagation_seconds
        shares = {}
        for when, entry in self.traffic.get(profile_id.lower(), []):
            if when <= moment:
                shares = entry
        return shares

    def shares(self, profile, now=None):
        """endpoint name -> the fraction of DNS answers that name it now."""
        eps = [e for e in self.endpoints(profile) if self.monitor_status(profile, e) not in ("Disabled", "Inactive")]
        serving = [e for e in eps if self.monitor_status(profile, e) in ("Online", "CheckingEndpoint")] or eps
        weights = {e.name: (e.body.get("properties") or {}).get("weight") or 1 for e in serving}
        total = sum(weights.values())
        return {name: round(w / total, 6) for name, w in weights.items()} if total else {}


def _hook(kind):
    return {"virtualMachineScaleSets": "vmss"}.get(kind.type.rsplit("/", 1)[-1], kind.type.rsplit("/", 1)[-1].lower())


def _split(rid):
    parts = rid.strip("/").split("/")
    return parts[1], None, parts[3] if len(parts) > 3 else None, parts[-1]


def _clean(body):
    """The body as stored: ARM ignores the read-only properties a client sends (the validator reports them)."""
    body = copy.deepcopy(body)
    for key in ("id", "name", "type", "etag", "systemData"):
        body.pop(key, None)
    (body.get("properties") or {}).pop("provisioningState", None)
    return body


def _target(setting):
    return ((setting.body.get("properties") or {}).get("targetResourceUri") or "").lower()


def _ip_configurations(profile):
    """(nic name, ip configuration name, [pool ids]) of a scale set model."""
    for nic in (profile.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []:
        for ipc in (nic.get("properties") or {}).get("ipConfigurations") or []:
            pools = [p.get("id", "") for p in (ipc.get("properties") or {}).get("loadBalancerBackendAddressPools") or []]
            yield nic["name"], ipc["name"], pools


def _nic_references(profile):
    refs = []
    for nic in (profile.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []:
        for ipc in (nic.get("properties") or {}).get("ipConfigurations") or []:
            props = ipc.get("properties") or {}
            refs += [r["id"] for r in [props.get("subnet") or {}] if r.get("id")]
            refs += [p["id"] for p in props.get("loadBalancerBackendAddressPools") or [] if p.get("id")]
    return refs


def _has_health_extension(profile):
    extensions = ((profile.get("extensionProfile") or {}).get("extensions")) or []
    return any(((e.get("properties") or {}).get("type") or "").lower() in HEALTH_EXTENSIONS and
               ((e.get("properties") or {}).get("publisher") or "").lower() == "microsoft.managedservices"
               for e in extensions)
