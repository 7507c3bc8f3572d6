"""Microsoft Entra ID's token endpoint, the IMDS managed-identity endpoint and ARM's bearer check, as the Azure
stand-in (e2e/azure_standin.py) plays them: who may get a token, what it looks like, and why ARM refuses one.

    d = Directory()
    d.add_tenant(tid); d.add_app(tid, client_id, secret="s3cret", federated=[(issuer, subject)])
    d.add_identity(client_id=None)           # the VM's system-assigned identity; client_id=… for a user-assigned one
    d.federated_token(issuer, subject)       # a signed OIDC token, as GitHub Actions or AKS would write to a file
    d.token_lifetime = 3600; d.clock_skew = 0   # ARM's clock minus the client's: > 0 expires tokens early
    d.issued                                 # every token handed out (Issued: jti, flow, principal, resource, exp)
    make_certificate(folder)                 # the self-signed certificate of the stand-in's https listener

Tokens are JWTs signed by the stand-in (HS256 with a key of its own), so ARM can tell its own tokens from forged or
edited ones; no token text is ever recorded, only its id (`jti`). The error bodies follow Entra ID's v2 endpoint
(`error`, `error_description` starting with the AADSTS code, `error_codes`, `trace_id`, `correlation_id`) and IMDS's
(`error`, `error_description`); ARM's 401s carry `WWW-Authenticate: Bearer authorization_uri=…, error=…` and the
codes AuthenticationFailed, InvalidAuthenticationToken, ExpiredAuthenticationToken,
InvalidAuthenticationTokenAudience and InvalidAuthenticationTokenTenant.
"""
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import time
import uuid
from dataclasses import dataclass, field

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
# Resources a token can be had for: ARM's two audiences and two others, so that a test can hand ARM a token that
# Entra ID issued rightly for another service.
RESOURCES = ARM_AUDIENCES + ("https://vault.azure.net", "https://storage.azure.com")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class App:
    tenant: str
    client_id: str
    object_id: str
    secrets: set = field(default_factory=set)
    federated: list = field(default_factory=list)   # (issuer, subject) pairs of its federated credentials


@dataclass
class Identity:
    client_id: str
    object_id: str
    resource_id: str | None     # a user-assigned identity's ARM id (msi_res_id)
    tenant: str
    system: bool                # the VM's system-assigned identity (IMDS's answer when none is named)


@dataclass
class Issued:
    jti: str
    flow: str           # client_secret | client_assertion | imds
    principal: str      # the object id of the app or identity
    client_id: str
    tenant: str
    resource: str
    issued_at: float
    expires_at: float


class AuthError(Exception):
    """A refusal: the HTTP status, the JSON body and extra headers to answer with."""

    def __init__(self, status, body, headers=None):
        super().__init__(body)
        self.status, self.body, self.headers = status, body, headers or {}


class Directory:
    def __init__(self, clock=time.time):
        self.clock = clock
        self.key = os.urandom(32)
        self.tenants = set()
        self.apps = {}          # (tenant, client_id) -> App
        self.identities = []    # managed identities of "this VM", system-assigned first when there is one
        self.token_lifetime = 3600
        self.clock_skew = 0.0
        self.issued = []
        self.trusted_issuers = {}   # federated-token issuer -> its signing key

    # -- configuration ------------------------------------------------------------------------------------------
    def add_tenant(self, tenant):
        self.tenants.add(tenant)

    def add_app(self, tenant, client_id, secret=None, federated=()):
        self.add_tenant(tenant)
        app = App(tenant, client_id, str(uuid.uuid4()), {secret} if secret else set(), list(federated))
        self.apps[(tenant, client_id)] = app
        return app

    def add_identity(self, tenant, client_id=None, resource_id=None):
        """The system-assigned identity (client_id None) or a user-assigned one the VM running the client has."""
        self.add_tenant(tenant)
        identity = Identity(client_id or str(uuid.uuid4()), str(uuid.uuid4()), resource_id, tenant, client_id is None)
        self.identities.append(identity)
        return identity

    def federated_token(self, issuer, subject, audience=FEDERATION_AUDIENCE, lifetime=3600, expired=False):
        """An OIDC token from `issuer` (an identity provider the stand-in plays too, as GitHub Actions or AKS)."""
        key = self.trusted_issuers.setdefault(issuer, os.urandom(32))
        now = self.clock()
        claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": int(now), "nbf": int(now),
                  "exp": int(now - 60 if expired else now + lifetime), "jti": str(uuid.uuid4())}
        return _sign(key, claims)

    # -- Entra ID: POST /{tenant}/oauth2/v2.0/token ----------------------------------------------------------------
    def token(self, tenant, form):
        """The answer to a client-credentials token request: (status, body)."""
        try:
            for name in ("grant_type", "client_id", "scope"):
                if not form.get(name):
                    raise _aad(400, "invalid_request", 900144, "The request body must contain the following "
                               f"parameter: '{name}'.")
            resource = self._scope_resource(form)
            if form.get("grant_type") != "client_credentials":
                raise _aad(400, "unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{form.get('grant_type')}'.")
            if tenant not in self.tenants:
                raise _aad(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you have "
                           "the correct tenant ID and are signing into the correct cloud.")
            app = self.apps.get((tenant, form.get("client_id", "")))
            if app is None:
                raise _aad(400, "unauthorized_client", 700016, f"Application with identifier "
                           f"'{form.get('client_id')}' was not found in the directory '{tenant}'.")
            if resource not in RESOURCES:
                raise _aad(400, "invalid_resource", 500011, f"The resource principal named {resource} was not "
                           f"found in the tenant named {tenant}.")
            flow = self._authenticate(app, form)
        except AuthError as error:
            return error.status, error.body
        token, lifetime = self._issue(flow, app.object_id, app.client_id, tenant, resource)
        return 200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                     "access_token": token}

    def _scope_resource(self, form):
        scope = form.get("scope", "")
        if " " in scope.strip() or not scope.endswith("/.default"):
            raise _aad(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. Client "
                       "credential flows must have a scope value with /.default suffixed to the resource identifier "
                       "(application ID URI).")
        return scope[: -len("/.default")].rstrip("/")

    def _authenticate(self, app, form):
        if form.get("client_secret") is not None:
            if form["client_secret"] not in app.secrets:
                raise _aad(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                           "sent in the request is the client secret value, not the client secret ID, for a secret "
                           f"added to app '{app.client_id}'.")
            return "client_secret"
        if form.get("client_assertion") is not None:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise _aad(400, "invalid_request", 700012, "client_assertion_type must be " + JWT_BEARER)
            self._check_assertion(app, form["client_assertion"])
            return "client_assertion"
        raise _aad(400, "invalid_client", 7000218, "The request body must contain the following parameter: "
                   "'client_assertion' or 'client_secret'.")

    def _check_assertion(self, app, assertion):
        claims = _claims(assertion)
        issuer = (claims or {}).get("iss")
        key = self.trusted_issuers.get(issuer)
        if claims is None or key is None or _verify(key, assertion) is None:
            raise _aad(400, "invalid_client", 700211, "No matching federated identity record found for presented "
                       f"assertion issuer '{issuer}'.")
        if claims.get("aud") != FEDERATION_AUDIENCE:
            raise _aad(400, "invalid_client", 700212, "No matching federated identity record found for presented "
                       f"assertion audience '{claims.get('aud')}'.")
        if not claims.get("exp") or claims["exp"] < self.clock():
            raise _aad(400, "invalid_client", 700024, "Client assertion is not within its valid time range. Current "
                       f"time: {_utc(self.clock())}, expiry time of assertion {_utc(claims.get('exp') or 0)}.")
        if (issuer, claims.get("sub")) not in app.federated:
            raise _aad(400, "invalid_client", 700213, "No matching federated identity record found for presented "
                       f"assertion subject '{claims.get('sub')}'.")

    # -- IMDS: GET /metadata/identity/oauth2/token ---------------------------------------------------------------
    def imds(self, query, headers):
        """The answer to a managed-identity token request: (status, body)."""
        def refuse(description, error="invalid_request"):
            return 400, {"error": error, "error_description": description}
        if headers.get("Metadata", "").lower() != "true":
            return refuse("Required metadata header not specified")
        if headers.get("X-Forwarded-For") is not None:
            return refuse("Request with X-Forwarded-For header is not allowed")
        if not query.get("api-version"):
            return refuse("Required query variable 'api-version' is missing")
        resource = (query.get("resource") or "").rstrip("/")
        if not resource:
            return refuse("Required audience parameter not specified")
        identity = self._identity(query)
        if isinstance(identity, str):
            return refuse(identity)
        if resource not in RESOURCES:
            return refuse(f"AADSTS500011: The resource principal named {resource} was not found in the tenant "
                          f"named {identity.tenant}.", "invalid_resource")
        token, lifetime = self._issue("imds", identity.object_id, identity.client_id, identity.tenant, resource)
        now = int(self.clock())
        return 200, {"access_token": token, "client_id": identity.client_id, "expires_in": str(lifetime),
                     "expires_on": str(now + lifetime), "ext_expires_in": str(lifetime), "not_before": str(now),
                     "resource": query.get("resource"), "token_type": "Bearer"}

    def _identity(self, query):
        wanted = [(k, query[k]) for k in ("client_id", "object_id", "msi_res_id", "mi_res_id") if query.get(k)]
        if not wanted:
            system = [i for i in self.identities if i.system]
            if system:
                return system[0]
            if len(self.identities) == 1:
                return self.identities[0]
            return ("Multiple user assigned identities exist, please specify the clientId / resourceId of the "
                    "identity in the token request") if self.identities else "Identity not found"
        key, value = wanted[0]
        attr = {"client_id": "client_id", "object_id": "object_id"}.get(key, "resource_id")
        found = [i for i in self.identities if (getattr(i, attr) or "").lower() == value.lower()]
        return found[0] if found else "Identity not found"

    # -- tokens ---------------------------------------------------------------------------------------------------
    def _issue(self, flow, principal, client_id, tenant, resource):
        now = self.clock()
        lifetime = int(self.token_lifetime)
        jti = str(uuid.uuid4())
        claims = {"aud": resource + "/", "iss": f"https://sts.windows.net/{tenant}/", "iat": int(now),
                  "nbf": int(now), "exp": int(now) + lifetime, "appid": client_id, "idtyp": "app",
                  "oid": principal, "sub": principal, "tid": tenant, "ver": "1.0", "jti": jti}
        self.issued.append(Issued(jti, flow, principal, client_id, tenant, resource, now, now + lifetime))
        return _sign(self.key, claims), lifetime

    def verify(self, authorization, subscription_tenant, login):
        """The claims of the bearer token ARM was given for a subscription of `subscription_tenant`, or AuthError
        as ARM refuses it; `login` is the authority URL ARM points the client to."""
        def refuse(code, message, description):
            challenge = (f'Bearer authorization_uri="{login}/{subscription_tenant}", error="invalid_token", '
                         f'error_description="{description}"')
            return AuthError(401, {"error": {"code": code, "message": message}}, {"WWW-Authenticate": challenge})
        if not authorization:
            raise refuse("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                          "The authentication failed because of missing 'Authorization' header.")
        scheme, _, token = authorization.partition(" ")
        claims = _verify(self.key, token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            raise refuse("InvalidAuthenticationToken", "The access token is invalid.",
                          "The access token is invalid.")
        now = self.clock() + self.clock_skew
        if claims["exp"] <= now:
            message = (f"The access token expiry UTC time '{_utc(claims['exp'])}' is earlier than current UTC time "
                       f"'{_utc(now)}'.")
            raise refuse("ExpiredAuthenticationToken", message, message)
        if claims["aud"].rstrip("/") not in ARM_AUDIENCES:
            allowed = ",".join(f"'{a}{s}'" for a in reversed(ARM_AUDIENCES) for s in ("/", ""))
            raise refuse("InvalidAuthenticationTokenAudience", "The access token has been obtained for wrong "
                          f"audience or resource '{claims['aud']}'. It should exactly match with one of the allowed "
                          f"audiences {allowed}.", "The access token has been obtained for wrong audience.")
        if claims["tid"] != subscription_tenant:
            raise refuse("InvalidAuthenticationTokenTenant", f"The access token is from the wrong issuer "
                          f"'{claims['iss']}'. It must match the tenant 'https://sts.windows.net/{subscription_tenant}/'"
                          f" associated with this subscription. Please use the authority (URL) "
                          f"'{login}/{subscription_tenant}' to get the token.", "The access token is from the wrong "
                          "issuer.")
        return claims


def _sign(key, claims):
    head = b64url(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "standin"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


def _claims(token):
    try:
        return json.loads(unb64url(token.split(".")[1]))
    except (IndexError, ValueError):
        return None


def _verify(key, token):
    """The claims of a token signed with `key`, None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, unb64url(parts[2])):
            return None
    except ValueError:
        return None
    return _claims(token)


def _utc(epoch):
    moment = time.gmtime(epoch)
    hour = moment.tm_hour % 12 or 12
    return f"{moment.tm_mon}/{moment.tm_mday}/{moment.tm_year} {hour}:{moment.tm_min:02}:{moment.tm_sec:02} " \
           f"{'AM' if moment.tm_hour < 12 else 'PM'}"


def _aad(status, error, code, message):
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return AuthError(status, {
        "error": error,
        "error_description": f"AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {correlation} "
                             f"Timestamp: {stamp}",
        "error_codes": [code], "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}"})


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 and localhost, made now (never committed): (cert path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "switchyard azure stand-in")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), True)
            .add_extension(ski, False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "standin.pem"), os.path.join(directory, "standin.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path
