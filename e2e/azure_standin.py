"""A local stand-in for Azure Resource Manager, Microsoft Entra ID's token endpoint and IMDS, on 127.0.0.1.

There is no Azure emulator to install, so the e2e suite plays Azure itself: one server (plain HTTP, plus HTTPS with a
self-signed certificate made at test time when given one) that answers ARM as the azure-mgmt-* packages pinned in
scripts/lib.sh expect, keeps the resources and lets them change over time as Azure does (e2e/azure_world.py), checks
every request body against Azure's own models (e2e/azuremodel.py) and records every request.

    az = AzureStandIn(tls=(cert, key))       # az.url (http), az.tls_url (https), az.login (the authority host)
    sub, tenant = az.add_subscription()      # a subscription of a tenant; every test makes its own
    app = az.directory.add_app(tenant, client_id, secret="…", federated=[(issuer, subject)])
    az.directory.add_identity(tenant)        # the system-assigned managed identity IMDS hands out
    az.seed("PUT", "/subscriptions/…/resourceGroups/rg", {"location": "westeurope"})   # no auth, not recorded,
                                             # validated; long-running operations done and instances ready at once
    az.environment(tenant, client_id, secret=…, token_file=…)   # what a client's environment needs (below)
In tests: the `azure` fixture (e2e/conftest.py) gives each test a stand-in of its own (https with a certificate made
for the run, `azure.certificate` the file to trust) and fails the test at teardown on az.failures();
e2e/azure_seed.py's seed_world(az) builds a blue/green world in it; `python3 e2e/azure_standin.py` runs one for a
person to try, with that world, and prints how to reach it.

ARM surface (api-versions as azure-mgmt-compute 39.0.0, -network 33.1.0, -trafficmanager 2.0.0, -monitor 7.0.0 and
-resource 26.0.0 send them; any other api-version is refused, NoRegisteredProviderFound, as ARM refuses unknown
ones): resource groups (2025-04-01); Microsoft.Compute virtualMachineScaleSets with their virtualMachines,
instanceView and VM instanceView (2026-04-01), images (2026-04-01), galleries/images/versions (2026-03-03);
Microsoft.Network virtualNetworks, publicIPAddresses, loadBalancers and their backendAddressPools (2026-03-01), a
scale set's networkInterfaces (2018-10-01, the paths Compute serves them on); trafficManagerProfiles with
azureEndpoints|externalEndpoints|nestedEndpoints (2026-09-01); Microsoft.Insights autoscaleSettings (2022-10-01).
Collections page by `page_size` (nextLink with $skiptoken) when set.

Long-running operations, as ARM runs them: PUT answers 201 (created) or 200 with `Azure-AsyncOperation` and
`Retry-After` (`retry_after` seconds), provisioningState Creating|Updating until the operation ends (`lro_seconds`,
per operation `world.operation_seconds[op]`; a scale set's lasts until its instances are up); DELETE answers 202 with
`Location`, `Azure-AsyncOperation` and `Retry-After` (a resource group's with `Location` only). The operation status
answers {"status": InProgress|Succeeded|Failed, "error": …}; the Location URL answers 202 while in progress, then
200/204, or the failure's status and ARM error body. Traffic Manager, autoscale settings and resource-group PUTs are
synchronous, as in Azure.

Switches (operation ids as in Azure's OpenAPI specs, e.g. VirtualMachineScaleSets_CreateOrUpdate,
Endpoints_CreateOrUpdate, AutoscaleSettings_Get, OperationStatus; Token and IMDS for the two token endpoints; "*"
for every ARM operation):
    az.throttle(op, times=2, retry_after=1)      # 429 TooManyRequests with Retry-After, the first `times` requests
    az.fail(op, status=500, code="InternalServerError", times=1, retry_after=None)
    az.slow(op, seconds, times=None)             # the work is done at once, the answer comes `seconds` later
    az.fail_operation(op, code="AllocationFailed", message=…, times=1)   # its next LRO ends Failed
    az.deny("Microsoft.Compute/virtualMachineScaleSets/write")          # 403 AuthorizationFailed (RBAC)
    az.stale("Profiles_Get", seconds)            # a profile's reads answer it as it stood `seconds` ago
    az.world.lro_seconds / boot_seconds / health_seconds / autoscale_seconds / checking_seconds
    az.world.image_health[image id] = "unhealthy"; az.world.instance_health[(vmss, "0")] = "unhealthy"
    az.world.endpoint_status[endpoint name] = "Degraded"; az.world.propagation_seconds = 0   # DNS lags the API
    az.directory.token_lifetime = 3600; az.directory.clock_skew = 0      # see e2e/azure_auth.py
What happened: az.requests (Call: method, path, api_version, operation, action, status, outcome, token, principal,
client_request_id, request_id: the x-ms-request-id answered, body), az.violations (what Azure would refuse or
misread: model violations, read-only properties sent, a body that is not JSON, a missing Content-Type),
az.self_violations (the stand-in's own answers that the SDK models do not describe: a stand-in bug), az.actions()
(the RBAC actions used, for a least-privilege role), az.world.traffic (every change of a profile's DNS shares),
az.world.answered(profile) (what DNS answers now), az.world.reachable_until(profile, endpoint),
az.world.autoscale_events, az.world.deleted (id -> when).

Pointing a client at it (found in azure-identity 1.27 and MSAL 1.39; the Swift side needs the same overrides):
  - Entra ID: AZURE_AUTHORITY_HOST=https://127.0.0.1:PORT (azure-identity accepts only https authorities:
    `normalize_authority` raises for http). Token requests go to {authority}/{tenant}/oauth2/v2.0/token. MSAL also
    fetches {authority}/{tenant}/v2.0/.well-known/openid-configuration, which is served, and, for an authority host it
    does not know, calls login.microsoftonline.com/common/discovery/instance first unless the credential is made with
    disable_instance_discovery=True (the tests always pass it: nothing may leave 127.0.0.1).
  - Client secret: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET. Workload identity federation:
    AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE (a file holding an OIDC token; made by
    az.directory.federated_token; re-read by azure-identity every 5 minutes), and AZURE_AUTHORITY_HOST, without
    which DefaultAzureCredential does not pick workload identity (WORKLOAD_IDENTITY_VARS in azure-identity).
  - IMDS: AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:PORT replaces http://169.254.169.254 (azure-identity's
    ImdsCredential and MSAL's managed identity both read it); requests are GET
    /metadata/identity/oauth2/token?api-version=2018-02-01&resource=… with `Metadata: true` (400 without it, which
    is also how azure-identity probes that IMDS is there). IMDS must only ever be reached on 127.0.0.1 in tests: a
    test that leaves this variable unset lets a client try the real link-local address.
  - ARM: the SDKs take no variable for its URL; AZURE_SDK_CLOUD_CONF only picks one of the named clouds (public,
    China, US Government). Clients pass base_url (and credential_scopes, the token's audience,
    https://management.azure.com/.default). The stand-in names the URL in ARM_URL_VARIABLE (below) for the Swift
    side. azure-core refuses to send a bearer token over http, so the SDK talks to the https listener; a client that
    trusts plain http on loopback can use az.url.
"""
import base64
import json
import ssl
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import azure_views as views
import azuremodel
from azure_arm import KINDS, ArmError, iso, model, parse, problems, under
from azure_auth import AuthError, Directory
from azure_world import World
from proxy import QuietHandler, _Server

ARM_URL_VARIABLE = "AZURE_RESOURCE_MANAGER_URL"


class _TLSServer(_Server):
    """HTTPS, the handshake in the request's own thread (on its first read), not in the loop that accepts."""

    def __init__(self, address, handler, context):
        super().__init__(address, handler)
        self.context = context

    def get_request(self):
        sock, address = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


@dataclass
class Call:
    """One request the stand-in received and what became of it (no token text: only the token's id)."""
    n: int
    at: float
    method: str
    path: str
    api_version: str | None = None
    operation: str = "?"
    action: str | None = None      # the RBAC action, e.g. Microsoft.Compute/virtualMachineScaleSets/write
    status: int | None = None
    outcome: str = "answered"      # answered | throttled | injected | refused | invalid
    token: str | None = None       # jti of the bearer token used
    principal: str | None = None
    client_request_id: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))   # the x-ms-request-id answered
    body: object = field(default=None, repr=False)


@dataclass
class Fault:
    operation: str
    status: int
    code: str
    message: str
    times: int | None
    retry_after: int | None = None
    seconds: float = 0.0           # slow: the answer's delay
    kind: str = "error"            # error | slow | operation


class AzureStandIn:
    def __init__(self, tls=None, clock=time.time):
        self.clock = clock
        self.world, self.directory = World(clock), Directory(clock)
        self.lock = threading.RLock()
        self.requests, self.violations, self.self_violations = [], [], []
        self.faults, self.denied, self.subscriptions = [], set(), {}
        self.page_size, self.retry_after, self.self_check = None, 1, True
        self.stale_seconds, self._profile_history = {}, {}
        self._servers = []
        self.url = self._listen(None)
        self.tls_url = self._listen(tls) if tls else None
        self.login = self.tls_url or self.url
        self._stop = threading.Event()
        threading.Thread(target=self._ticker, daemon=True).start()

    def _listen(self, tls):
        standin, scheme = self, "https" if tls else "http"

        class Handler(QuietHandler):
            def do_GET(self):
                standin._handle(self, scheme)

            do_PUT = do_PATCH = do_DELETE = do_POST = do_HEAD = do_GET

        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            server = _TLSServer(("127.0.0.1", 0), Handler, context)
        else:
            server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        # A short poll: shutdown() waits for the loop to notice, and each test stops its own stand-in.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._servers.append(server)
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    def _ticker(self):
        while not self._stop.wait(0.05):
            with self.lock:
                self.world.tick()

    def close(self):
        self._stop.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    # -- configuration ------------------------------------------------------------------------------------------
    def add_subscription(self, subscription=None, tenant=None):
        subscription, tenant = subscription or str(uuid.uuid4()), tenant or str(uuid.uuid4())
        with self.lock:
            self.subscriptions[subscription.lower()] = tenant
            self.directory.add_tenant(tenant)
        return subscription, tenant

    def throttle(self, operation, times=1, retry_after=1):
        self._fault(Fault(operation, 429, "TooManyRequests", "The request is being throttled as the limit has been "
                          "reached for operation type - Write_ObservationWindow_00:05:00. For more information, see - "
                          "https://aka.ms/srpthrottlinglimits", times, retry_after))

    def fail(self, operation, status=500, code="InternalServerError", times=1, retry_after=None,
             message="Encountered internal server error (injected by the stand-in)."):
        self._fault(Fault(operation, status, code, message, times, retry_after))

    def slow(self, operation, seconds, times=None):
        self._fault(Fault(operation, 200, "", "", times, seconds=seconds, kind="slow"))

    def fail_operation(self, operation, code="InternalOperationError", message="The operation failed (injected).",
                       status=500, times=1):
        self._fault(Fault(operation, status, code, message, times, kind="operation"))

    def stale(self, operation, seconds):
        """Reads of `operation` (Profiles_Get) answer the resource as it stood `seconds` ago: ARM's reads are
        eventually consistent, and a read right after a write may not show it."""
        with self.lock:
            self.stale_seconds[operation] = seconds

    def _profile_id(self, path):
        return "/".join(path.split("/")[:9]).lower()

    def _remember_profile(self, path):
        pid = self._profile_id(path)
        res = self.world.get(pid)
        if res is not None:
            self._profile_history.setdefault(pid, []).append((self.clock(), views.resource(self.world, res)))

    def _lagged_profile(self, path, body):
        now, pid = self.clock(), self._profile_id(path)
        history = self._profile_history.setdefault(pid, [])
        history.append((now, body))
        lag = self.stale_seconds.get("Profiles_Get", 0)
        if lag <= 0:
            return body
        older = [b for t, b in history if t <= now - lag]
        return older[-1] if older else history[0][1]

    def deny(self, action):
        with self.lock:
            self.denied.add(action.lower())

    def clear(self):
        with self.lock:
            self.faults.clear()
            self.denied.clear()

    def _fault(self, fault):
        with self.lock:
            self.faults.append(fault)

    def _take(self, operation, kind):
        arm = operation not in ("Token", "IMDS", "OpenIdConfiguration")
        for fault in self.faults:
            if fault.kind == kind and fault.operation in (operation, "*" if arm else operation) and fault.times != 0:
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def environment(self, tenant=None, client_id=None, secret=None, token_file=None):
        """The variables a client needs to reach this stand-in, with the credential given (see the docstring)."""
        env = {"AZURE_AUTHORITY_HOST": self.login, "AZURE_POD_IDENTITY_AUTHORITY_HOST": self.url,
               ARM_URL_VARIABLE: self.tls_url or self.url}
        for name, value in (("AZURE_TENANT_ID", tenant), ("AZURE_CLIENT_ID", client_id),
                            ("AZURE_CLIENT_SECRET", secret), ("AZURE_FEDERATED_TOKEN_FILE", token_file)):
            if value:
                env[name] = value
        return env

    # -- what happened --------------------------------------------------------------------------------------------
    def calls(self, operation=None):
        with self.lock:
            return [c for c in self.requests if operation is None or c.operation == operation]

    def failures(self):
        """Why a test that used this stand-in fails at teardown: requests Azure would refuse or misread, and answers
        of the stand-in that Azure's models do not describe (a stand-in bug). [] when there is nothing to say."""
        with self.lock:
            out = []
            for found, what in ((self.violations, "request(s) that Azure would refuse or misread"),
                                (self.self_violations, "answer(s) of the stand-in that Azure's models do not describe")):
                if found:
                    shown = "\n  ".join(dict.fromkeys(found))
                    out.append(f"{len(found)} {what}:\n  {shown}")
            return out

    def actions(self):
        """The RBAC actions the recorded requests needed, sorted."""
        with self.lock:
            return sorted({c.action for c in self.requests if c.action})

    # -- seeding --------------------------------------------------------------------------------------------------
    def seed(self, method, path, body=None):
        """Applies a write as a client would, without auth or recording; everything it starts is done at once."""
        target = parse(path)
        kind = KINDS[target.key]
        with self.lock:
            if method == "DELETE":
                self.world.delete(kind, self._rid(target, kind), "seed", seed=True)
                return None
            found = [str(p) for p in problems(kind, method, body)]
            if found:
                raise ValueError(f"seed {method} {path}: {'; '.join(found)}")
            if method == "PUT":
                res = self.world.put(kind, self._rid(target, kind), target.names[-1], body, "seed", seed=True)[0]
            else:
                res = self.world.patch(kind, self._rid(target, kind), body, "seed", seed=True)[0]
            return views.resource(self.world, res)

    # -- the exchange ---------------------------------------------------------------------------------------------
    def _handle(self, handler, scheme):
        url = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        base = f"{scheme}://{handler.headers.get('Host', '127.0.0.1')}"
        with self.lock:
            call = Call(len(self.requests) + 1, self.clock(), handler.command, url.path, query.get("api-version"),
                        client_request_id=handler.headers.get("x-ms-client-request-id"))
            self.requests.append(call)
            self.world.tick()
            try:
                status, body, headers = self._route(call, url.path, query, raw, handler.headers, base)
                if call.method in ("PUT", "PATCH") and status < 300 and "/trafficmanagerprofiles/" in url.path.lower():
                    self._remember_profile(url.path)
                if call.operation == "Profiles_Get" and status == 200:
                    body = self._lagged_profile(url.path, body)
            except ArmError as error:
                status, body, headers = error.status, error.body(), {}
            except AuthError as error:
                status, body, headers = error.status, error.body, error.headers
                call.outcome = "refused"
            except Exception as error:  # noqa: BLE001 - a stand-in bug: answer it, and fail the test at teardown
                self.self_violations.append(f"{call.method} {call.path}: the stand-in failed: {error!r}")
                status, body, headers = 500, {"error": {"code": "StandInError", "message": repr(error)}}, {}
            call.status = status
            delay = self._take(call.operation, "slow") if call.operation != "?" else None
        if delay:
            time.sleep(delay.seconds)
        self._reply(handler, status, body, headers, call)

    def _reply(self, handler, status, body, headers, call):
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("x-ms-request-id", call.request_id)
        handler.send_header("x-ms-correlation-request-id", handler.headers.get("x-ms-correlation-request-id")
                            or str(uuid.uuid4()))
        if call.client_request_id:
            handler.send_header("x-ms-client-request-id", call.client_request_id)
        for name, value in headers.items():
            handler.send_header(name, str(value))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def _route(self, call, path, query, raw, headers, base):
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if call.method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            call.operation = "Token"
            return self._token(call, parts[0], raw, headers)
        if call.method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            call.operation = "OpenIdConfiguration"
            return 200, _openid(self.login, parts[0]), {}
        if path.rstrip("/") == "/metadata/identity/oauth2/token":
            call.operation = "IMDS"
            if fault := self._take("IMDS", "error"):
                return fault.status, {"error": fault.code, "error_description": fault.message}, _retry(fault)
            status, body = self.directory.imds(query, headers)
            call.outcome = "answered" if status == 200 else "refused"
            return status, body, {}
        if not parts or parts[0].lower() != "subscriptions" or len(parts) < 2:
            return 404, {"error": {"code": "NotFound", "message": f"No route for {call.method} {path}"}}, {}
        return self._arm(call, parse(path), query, raw, headers, base)

    def _token(self, call, tenant, raw, headers):
        if fault := self._take("Token", "error"):
            return fault.status, {"error": fault.code, "error_description": fault.message}, _retry(fault)
        form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
        scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":   # client_secret_basic: RFC 6749 2.3.1, both parts form-encoded
            try:
                client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                client_id, secret = "", ""
            form.update(client_id=urllib.parse.unquote_plus(client_id), client_secret=urllib.parse.unquote_plus(secret))
        status, body = self.directory.token(tenant, form)
        call.outcome = "answered" if status == 200 else "refused"
        call.principal = form.get("client_id")
        return status, body, {}

    def _arm(self, call, target, query, raw, headers, base):
        kind = KINDS.get(target.key)
        call.operation = target.operation(kind, call.method)
        if not call.api_version:
            raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is "
                           "required for all requests.")
        tenant = self.subscriptions.get(target.sub.lower())
        claims = self.directory.verify(headers.get("Authorization"), tenant, self.login)
        call.token, call.principal = claims["jti"], claims["oid"]
        if tenant is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{target.sub}' could not be found.")
        if fault := self._take(call.operation, "error"):
            call.outcome = "throttled" if fault.status == 429 else "injected"
            return fault.status, {"error": {"code": fault.code, "message": fault.message}}, _retry(fault)
        if target.status_of:
            call.action = f"{target.ns}/locations/operations/read"
            return self._operation(target, call)
        if kind is None:
            raise ArmError(400, "InvalidResourceType", f"The resource type '{target.key}' could not be found "
                           f"(the stand-in plays {', '.join(k.type for k in KINDS.values())}).")
        call.action = f"{kind.type}/{ {'GET': 'read', 'HEAD': 'read', 'DELETE': 'delete'}.get(call.method, 'write')}"
        if call.action.lower() in self.denied:
            raise ArmError(403, "AuthorizationFailed", f"The client '{claims['oid']}' with object id "
                           f"'{claims['oid']}' does not have authorization to perform action '{call.action}' over "
                           f"scope '{target.scope()}' or the scope is invalid. If access was recently granted, "
                           "please refresh your credentials.")
        if call.api_version != kind.api:
            code = "InvalidApiVersionParameter" if kind.ops == "ResourceGroups" else "NoRegisteredProviderFound"
            raise ArmError(400, code, f"No registered resource provider found for location 'westeurope' and API "
                           f"version '{call.api_version}' for type '{kind.type.split('/', 1)[1]}'. The supported "
                           f"api-versions are '{kind.api}'.")
        if call.method in ("PUT", "PATCH"):
            body = self._body(call, kind, raw, headers)
            return self._write(call, target, kind, body, headers, base)
        if call.method == "DELETE":
            return self._delete(call, target, kind, headers, base)
        return self._read(call, target, kind, query, base)

    def _body(self, call, kind, raw, headers):
        where = f"{call.method} {call.path}"
        if kind.put is None:
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method "
                           f"'{call.method}'.")
        if "application/json" not in (headers.get("Content-Type") or ""):
            self.violations.append(f"{where}: Content-Type {headers.get('Content-Type')!r}, ARM takes "
                                   "application/json")
            raise ArmError(415, "UnsupportedMediaType", f"The content media type "
                           f"'{headers.get('Content-Type')}' is not supported. Only 'application/json' is supported.")
        try:
            body = json.loads(raw or b"null")
        except ValueError as error:
            body = error
        if not isinstance(body, dict):
            self.violations.append(f"{where}: the body is not a JSON object")
            call.outcome = "invalid"
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                           f"deserialized: {body}")
        call.body = body
        found = problems(kind, call.method, body)
        self.violations += [f"{where} ({call.operation}): {p}" for p in found]
        refused = [p for p in found if p.kind != "readonly"]
        if refused:
            call.outcome = "invalid"
            raise ArmError(400, "InvalidRequestContent", "; ".join(str(p) for p in refused), refused[0].path)
        return body

    def _write(self, call, target, kind, body, headers, base):
        rid = self._rid(target, kind)
        failing = self._take(call.operation, "operation") if kind.lro else None
        if call.method == "PUT":
            res, created, op = self.world.put(kind, rid, target.names[-1], body, call.operation, headers)
        else:
            res, op = self.world.patch(kind, rid, body, call.operation, headers)
            created = False
        extra = {"ETag": views.etag(res)}
        if op is not None:
            if failing:
                op.failure = {"code": failing.code, "message": failing.message, "status": failing.status}
            extra.update({"Azure-AsyncOperation": self._op_url(base, target, op, "operations", kind),
                          "Retry-After": self.retry_after})
        return (201 if created else 200), self._checked(views.resource(self.world, res), kind.put), extra

    def _delete(self, call, target, kind, headers, base):
        rid = self._rid(target, kind)
        failing = self._take(call.operation, "operation") if kind.lro or kind.ops == "ResourceGroups" else None
        op = self.world.delete(kind, rid, call.operation, headers)
        if op is None:
            gone = rid.lower() in self.world.deleted
            if kind.ops == "Endpoints" or kind.ops == "Profiles":
                return (200, {"boolean": True}, {}) if gone else (204, None, {})
            return (200 if gone else 204), None, {}
        if failing:
            op.failure = {"code": failing.code, "message": failing.message, "status": failing.status}
        extra = {"Location": self._op_url(base, target, op, "operationResults", kind), "Retry-After": self.retry_after}
        if kind.ops != "ResourceGroups":
            extra["Azure-AsyncOperation"] = self._op_url(base, target, op, "operations", kind)
        return 202, None, extra

    def _read(self, call, target, kind, query, base):
        world = self.world
        if call.method == "HEAD":
            found = world.get(self._rid(target, kind))
            return (204 if found else 404), None, {}
        hook = kind.type.rsplit("/", 1)[-1]
        if kind.put is not None:
            if target.collection:
                items = [views.resource(world, r) for r in world.of_kind(kind.type) if under(r, kind, target)]
                return 200, self._page(items, kind.put, query, base, call.path), {}
            res = world.require(self._rid(target, kind), kind)
            return 200, self._checked(views.resource(world, res), kind.put), {"ETag": views.etag(res)}
        if kind.type.startswith("Microsoft.Network/loadBalancers/"):
            return self._pools(target, query, base, call.path)
        vmss = world.require(target.ancestor(1), KINDS["microsoft.compute/virtualmachinescalesets"])
        per_vm = "/virtualMachines/" in kind.type   # a path under one instance: …/virtualMachines/{id}/…
        insts = self._instance(vmss, target) if per_vm or not target.collection and hook == "virtualMachines" \
            else world.instances(vmss)
        if hook == "virtualMachines":
            expand = query.get("$expand", "").lower() == "instanceview"
            docs = [views.vm(world, vmss, i, expand) for i in insts]
            if target.collection:
                return 200, self._page(docs, "compute.VirtualMachineScaleSetVM", query, base, call.path), {}
            return 200, self._checked(docs[0], "compute.VirtualMachineScaleSetVM"), {}
        if hook == "instanceView":
            if per_vm:
                return 200, self._checked(views.vm_instance_view(world, vmss, insts[0]),
                                          "compute.VirtualMachineScaleSetVMInstanceView"), {}
            return 200, self._checked(views.vmss_instance_view(world, vmss),
                                      "compute.VirtualMachineScaleSetInstanceView"), {}
        docs = [n for i in insts for n in views.nics(world, vmss, i)]
        if not target.collection:
            docs = [n for n in docs if n["name"].lower() == target.names[-1].lower()] or _missing(target)
            return 200, self._checked(docs[0], "network.NetworkInterface"), {}
        return 200, self._page(docs, "network.NetworkInterface", query, base, call.path), {}

    def _pools(self, target, query, base, path):
        lb = self.world.require(target.ancestor(1), KINDS["microsoft.network/loadbalancers"])
        names = [p["name"] for p in (lb.body.get("properties") or {}).get("backendAddressPools", [])]
        if target.collection:
            pools = [views.pool(self.world, lb, n) for n in names]
            return 200, self._page(pools, "network.BackendAddressPool", query, base, path), {}
        found = views.pool(self.world, lb, target.names[-1]) or _missing(target)
        return 200, self._checked(found, "network.BackendAddressPool"), {}

    def _instance(self, vmss, target):
        """The one instance a path names (…/virtualMachines/{instanceId}…), as a list."""
        found = [i for i in self.world.instances(vmss) if i.id == target.names[1]]
        return found or _missing(target)

    def _page(self, items, model_name, query, base, path):
        for item in items:
            self._checked(item, model_name)
        start = int(query.get("$skiptoken") or 0)
        size = self.page_size or len(items) or 1
        page = {"value": items[start:start + size]}
        if start + size < len(items):
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            page["nextLink"] = f"{base}{path}?{urllib.parse.urlencode({**rest, '$skiptoken': start + size})}"
        return page

    def _checked(self, doc, model_name):
        """The stand-in's own answer, checked against the model a client would parse it with."""
        if self.self_check and isinstance(doc, dict) and model_name:
            found = azuremodel.check(model(model_name), doc, "read")
            self.self_violations += [f"{doc.get('id', '?')}: {p}" for p in found]
        return doc

    # -- long-running operations ----------------------------------------------------------------------------------
    def _op_url(self, base, target, op, kind_of_url, kind):
        res = self.world.resources.get(op.resource)
        location = ((res.body.get("location") if res else None) or "global").replace(" ", "").lower()
        ns = kind.type.split("/")[0]
        return (f"{base}/subscriptions/{target.sub}/providers/{ns}/locations/{location}/{kind_of_url}/{op.id}"
                f"?api-version={kind.api}")

    def _operation(self, target, call):
        op = self.world.operations.get(target.names[-1])
        if op is None or not op.resource.startswith(f"/subscriptions/{target.sub.lower()}/"):
            raise ArmError(404, "OperationNotFound", f"The operation '{target.names[-1]}' could not be found.")
        now = self.clock()
        status = op.status(now)
        location = target.types[-1].lower() == "operationresults"
        call.operation = "OperationResult" if location else "OperationStatus"
        if status == "InProgress":
            if location:
                return 202, None, {"Retry-After": self.retry_after, "Location": f"{call.path}?api-version="
                                                                                  f"{call.api_version}"}
            return 200, _status_body(op, status), {"Retry-After": self.retry_after}
        if location:
            if op.failure:
                return op.failure["status"], {"error": {"code": op.failure["code"],
                                                        "message": op.failure["message"]}}, {}
            res = self.world.resources.get(op.resource)
            if op.verb == "delete" or res is None:
                return 204, None, {}
            return 200, views.resource(self.world, res), {}
        return 200, _status_body(op, status), {}

    def _rid(self, target, kind):
        existing = self.world.get(target.item_id(kind))
        return existing.id if existing else target.item_id(kind)


def _status_body(op, status):
    body = {"name": op.id, "status": status, "startTime": iso(op.started)}
    if status != "InProgress":
        body["endTime"] = iso(op.done_at)
    if status == "Failed":
        body["error"] = {"code": op.failure["code"], "message": op.failure["message"]}
    return body


def _retry(fault):
    return {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}


def _missing(target):
    raise ArmError(404, "NotFound", f"The entity '{target.names[-1]}' was not found.")


def _openid(login, tenant):
    root = f"{login}/{tenant}"
    return {"token_endpoint": f"{root}/oauth2/v2.0/token", "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode", "issuer": f"{login}/{tenant}/v2.0",
            "jwks_uri": f"{login}/{tenant}/discovery/v2.0/keys", "token_endpoint_auth_methods_supported": [
                "client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"], "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com"}


def main(argv=None):
    """Runs a stand-in with a demo world until interrupted (see azure_seed.demo)."""
    import azure_seed
    azure_seed.demo(AzureStandIn, argv)


if __name__ == "__main__":
    main()
