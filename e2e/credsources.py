"""Local stand-ins for the places AWS credentials come from, each behaving as AWS documents it, and the checks the
credential e2e tests share. Only loopback; every key, token and secret here is made up per test."""
import datetime
import json
import secrets
import sqlite3
import threading
import time
import urllib.parse

from proxy import QuietHandler, serve

AWS_SERVICES = ("ec2", "autoscaling", "elasticloadbalancing", "monitoring")
NO_KEYS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None}


def iso(epoch):
    """ISO-8601 in UTC with a `Z`, as IMDS, the container endpoint and credential_process write times."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Keys:
    """One set of temporary keys; `secrets` lists what must never show up in output or state."""

    def __init__(self, prefix="ASIA", lifetime=3600):
        self.akid = prefix + secrets.token_hex(8).upper()
        self.secret = "sec" + secrets.token_urlsafe(30)
        self.token = "tok" + secrets.token_urlsafe(60)
        self.expires = time.time() + lifetime

    @property
    def secrets(self):
        return [self.secret, self.token]


class _Server:
    """A loopback server whose handler calls self.answer(handler) -> (status, body, headers)."""

    def __init__(self):
        self.calls = []  # (method, path, headers with lower-case names)
        self.lock = threading.Lock()
        owner = self

        class Handler(QuietHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with owner.lock:
                    owner.calls.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                    status, body, headers = owner.answer(self)
                data = body if isinstance(body, bytes) else body.encode()
                self.send_response(status)
                for name, value in {"Content-Length": str(len(data)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _any

        self.server, self.url = serve(Handler)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Imds(_Server):
    """IMDSv2: a session token from PUT /latest/api/token (TTL header required), then GETs that carry it;
    a GET without a valid token is 401. `issue()` makes the keys each credentials read hands out."""

    ROLE = "switchyard-deployer"

    def __init__(self, issue):
        self.issue, self.tokens, self.handed_out, self.refused = issue, set(), [], 0
        super().__init__()

    def answer(self, h):
        if h.command == "PUT" and h.path == "/latest/api/token":
            ttl = h.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return 400, "", {}
            token = "imds" + secrets.token_urlsafe(24)
            self.tokens.add(token)
            return 200, token, {"X-aws-ec2-metadata-token-ttl-seconds": ttl, "Content-Type": "text/plain"}
        if h.command != "GET":
            return 405, "", {}
        if h.headers.get("X-aws-ec2-metadata-token") not in self.tokens:
            self.refused += 1
            return 401, "", {}
        base = "/latest/meta-data/iam/security-credentials/"
        if h.path == base:
            return 200, self.ROLE, {"Content-Type": "text/plain"}
        if h.path == base + self.ROLE:
            keys = self.issue()
            self.handed_out.append(keys)
            return 200, json.dumps({"Code": "Success", "LastUpdated": iso(time.time()), "Type": "AWS-HMAC",
                                    "AccessKeyId": keys.akid, "SecretAccessKey": keys.secret, "Token": keys.token,
                                    "Expiration": iso(keys.expires)}), {"Content-Type": "text/plain"}
        return 404, "", {}


class Container(_Server):
    """The ECS/EKS container credentials endpoint: answers only with the Authorization header it expects."""

    def __init__(self, keys, authorization):
        self.keys, self.authorization = keys, authorization
        super().__init__()

    def answer(self, h):
        if h.command != "GET" or h.path != "/credentials":
            return 404, "", {}
        if h.headers.get("Authorization") != self.authorization:
            return 401, json.dumps({"message": "unauthorized"}), {"Content-Type": "application/json"}
        return 200, json.dumps({"AccessKeyId": self.keys.akid, "SecretAccessKey": self.keys.secret,
                                "Token": self.keys.token, "Expiration": iso(self.keys.expires),
                                "RoleArn": "arn:aws:iam::123456789012:role/switchyard-task"}), \
            {"Content-Type": "application/json"}


class SsoPortal(_Server):
    """The IAM Identity Center portal's GetRoleCredentials, for one account, role and bearer token."""

    def __init__(self, keys, account, role, bearer):
        self.keys, self.account, self.role, self.bearer = keys, account, role, bearer
        super().__init__()

    def answer(self, h):
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if h.command != "GET" or url.path != "/federation/credentials":
            return 404, "", {}
        if h.headers.get("x-amz-sso_bearer_token") != self.bearer:
            return 401, json.dumps({"message": "Session token not found or invalid"}), \
                {"x-amzn-ErrorType": "UnauthorizedException", "Content-Type": "application/json"}
        if query != {"account_id": self.account, "role_name": self.role}:
            return 403, json.dumps({"message": "No access"}), \
                {"x-amzn-ErrorType": "ForbiddenException", "Content-Type": "application/json"}
        return 200, json.dumps({"roleCredentials": {
            "accessKeyId": self.keys.akid, "secretAccessKey": self.keys.secret, "sessionToken": self.keys.token,
            "expiration": int(self.keys.expires * 1000)}}), {"Content-Type": "application/json"}


def aws_requests(proxy):
    """The requests to the services a release uses (not STS, not the credential sources)."""
    return [r for r in proxy.requests if r.service in AWS_SERVICES]


def assert_signed_only_with(proxy, akid):
    """Every request a release made reached the proxy signed with `akid`, and the signature verified."""
    seen = aws_requests(proxy)
    assert len(seen) >= 10, f"a release makes many requests; the proxy saw {len(seen)}"
    assert {r.akid for r in seen} == {akid}, f"signed with {sorted({str(r.akid) for r in seen})}, expected {akid}"
    bad = [(r.n, r.action, r.signature) for r in seen if r.signature != "ok"]
    assert not bad, f"signatures not verified with the source's keys: {bad[:5]}"
    unsigned = [r.action for r in proxy.requests if not r.signed and r.action != "AssumeRoleWithWebIdentity"]
    assert not unsigned, f"unsigned requests: {unsigned}"


def assert_no_secret(secret_values, *texts, db=None):
    """None of `secret_values` appears in the given output texts or anywhere in the state file."""
    corpus = list(texts)
    if db:
        with sqlite3.connect(db) as conn:
            corpus.append("\n".join(conn.iterdump()))
    for value in secret_values:
        for i, text in enumerate(corpus):
            assert value not in text, f"a secret ({value[:4]}…) appears in {'the state file' if i == len(texts) else 'the output'}"
