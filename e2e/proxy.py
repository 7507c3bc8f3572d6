"""A recording, verifying, fault-injecting HTTP proxy in front of moto, on loopback.

moto checks neither signatures nor parameters and never fails on its own, so the binary's AWS traffic goes
through this proxy, which records and checks every request and can misbehave as AWS and networks do:
    proxy = Proxy(upstream)            # starts on a free 127.0.0.1 port; proxy.url
    proxy.trust("AKID", "secret", token=None)  # verify SigV4 of requests signed with this key (STS answers are
                                               # learned on their own: the keys they hand out are trusted)
    proxy.requests                     # one Request per request received, in order (see Request)
    proxy.violations                   # what real AWS would refuse: service-model violations, bad signatures,
                                       # cut bodies; a test using the proxy fails at teardown when it is not empty
    proxy.fail("ModifyListener", code="Throttling", status=400, times=3)
    proxy.fail("ModifyListener", code="AccessDenied", status=403)      # always
    proxy.rewrite("DescribeTargetHealth", lambda body: body.replace(b">healthy<", b">unhealthy<"))
    proxy.drop_every(4)                # every 4th request: connection closed without an answer, not forwarded
    proxy.error_every(4)               # every 4th request: 503 ServiceUnavailable, not forwarded
    proxy.hold("DescribeTargetHealth", 60)   # forwarded, its answer held 60 s
    proxy.expire_after("ASIA...", deadline)  # past `deadline` (epoch s): 400 ExpiredToken, not forwarded
    proxy.throttle()                   # AWS's token buckets per account, region, service and API (e2e/throttling.py):
                                       # an empty bucket answers 503 RequestLimitExceeded (EC2) or 400 Throttling
    proxy.throttled                    # the requests answered so, in order
    proxy.counts["CreateAutoScalingGroup"]   # requests received per action (forwarded or not)
    proxy.forwarded_count("CreateAutoScalingGroup")   # requests that reached moto
"""
import http.client
import itertools
import json
import queue
import re
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import awsmodel
import sigv4check
import throttling


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no request log, and no Nagle: without TCP_NODELAY, Nagle and delayed ACKs add about
    40 ms to every exchange on a kept-alive connection. The base of every test server here."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that hangs up (a killed binary, a timed-out request) is normal here; anything else is shown."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def serve(handler):
    """Starts a threading server for `handler` on a free 127.0.0.1 port; returns it and its base URL."""
    server = _Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def action_of(body, path, target=None):
    if target:  # JSON protocol (DynamoDB): X-Amz-Target: DynamoDB_20120810.PutItem
        return target.rsplit(".", 1)[-1]
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    return (form.get("Action") or query.get("Action") or ["?"])[0]


def error_body(service, code, message, kind="Sender"):
    """An AWS error document in the shape this service sends (EC2 has its own, DynamoDB's is JSON)."""
    if service in JSON_SERVICES:
        return json.dumps({"__type": f"{JSON_SERVICES[service]}#{code}", "message": message}).encode()
    if service == "ec2":
        return (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>proxy-fault</RequestID></Response>").encode()
    return (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>proxy-fault</RequestId></ErrorResponse>").encode()


# JSON-protocol services (signing name -> the `__type` namespace of their errors).
JSON_SERVICES = {"dynamodb": "com.amazonaws.dynamodb.v20120810"}
EXPIRED_MESSAGE = "The security token included in the request is expired"
UNSIGNED_ACTIONS = ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML")  # STS takes these without a signature


@dataclass
class Request:
    """One request as the proxy received it and what became of it."""
    n: int                      # 1-based, in arrival order
    connection: int             # which client connection (keep-alive reuse shows as repeats)
    at: float                   # arrival, epoch seconds
    method: str
    path: str
    action: str
    service: str | None         # from the SigV4 credential scope; None when unsigned
    akid: str | None            # the access key id that signed it; None when unsigned
    region: str | None = field(default=None, kw_only=True)  # the credential scope's region
    token: str | None           # X-Amz-Security-Token as sent
    content_length: int | None
    body_length: int            # bytes that actually arrived
    body: bytes = field(repr=False, default=b"")
    signature: str = "unsigned"  # ok | unverified (key unknown to the proxy) | unsigned | mismatch: why
    outcome: str = "pending"    # forwarded | dropped | injected:CODE | expired | held+forwarded | upstream-error
    status: int | None = None   # what the client was answered
    account: str | None = field(default=None, kw_only=True)   # x-moto-account-id when sent, else the access key id
    answered: float | None = field(default=None, kw_only=True)  # when the answer went out, epoch seconds

    @property
    def whole(self):
        return self.content_length is not None and self.body_length == self.content_length and self.body_length > 0

    @property
    def signed(self):
        return self.akid is not None

    @property
    def reached_aws(self):
        return self.outcome in ("forwarded", "held+forwarded")


class _Upstream:
    """Kept-alive connections to moto, one per concurrent request, reused: a new TCP connection per request
    would cost more than moto's answer on loopback."""

    def __init__(self, url):
        self.host, self.port = url.hostname, url.port
        self.idle = queue.LifoQueue()

    def send(self, method, path, body, headers, timeout=60):
        for attempt in range(2):
            try:
                conn, reused = self.idle.get_nowait(), True
            except queue.Empty:
                conn, reused = http.client.HTTPConnection(self.host, self.port, timeout=timeout), False
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and attempt == 0:
                    continue  # moto closed an idle connection: nothing was processed, send it on a new one
                raise
            if response.will_close:
                conn.close()
            else:
                self.idle.put(conn)
            return response.status, data, response.getheader("Content-Type", "text/xml")

    def close(self):
        while not self.idle.empty():
            self.idle.get_nowait().close()


class Proxy:
    def __init__(self, upstream, validate=True):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.validate = validate
        self.counts, self.log, self.requests, self.violations = {}, [], [], []
        self.faults, self.rewrites, self.holds = {}, {}, {}
        self.keys, self.expiry, self.issued = {}, {}, []
        self.drop_n = self.error_n = None
        self.error_fault = None
        self.hold_seconds = {}
        self.throttling = self.account_of = None
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self._pool = _Upstream(self.upstream)
        self._connections = itertools.count(1)
        proxy = self

        class Handler(QuietHandler):
            def setup(self):
                super().setup()
                self.connection_id = next(proxy._connections)

            def do_POST(self):
                proxy._handle(self)

            do_GET = do_POST

        self.server, self.url = serve(Handler)

    # -- configuration -------------------------------------------------------------------------------------------
    def trust(self, akid, secret, token=None):
        """Verify the signature of every request signed with `akid` (a key unknown to the proxy stays unverified)."""
        with self.lock:
            self.keys[akid] = (secret, token)

    def fail(self, action, code="Throttling", status=400, times=None, message="injected by the test proxy"):
        """Answers `action` with an AWS error in its service's shape, `times` times (None: until cleared)."""
        with self.lock:
            self.faults[action] = {"status": status, "code": code, "message": message, "times": times}

    def rewrite(self, action, fn):
        """Passes every response to `action` through fn(bytes) -> bytes before the client sees it."""
        with self.lock:
            self.rewrites[action] = fn

    def drop_every(self, n):
        """Every n-th request received (counted across all connections, retries included) is read whole, not
        forwarded, and its connection closed without an answer: to the client, a kept-alive connection that died."""
        with self.lock:
            self.drop_n = n

    def error_every(self, n, status=503, code="ServiceUnavailable", message="Service is unavailable, try again"):
        """Every n-th request received is answered with an AWS error of the service's shape, not forwarded."""
        with self.lock:
            self.error_n, self.error_fault = n, (status, code, message)

    def hold(self, action, seconds, times=1, after=None):
        """The next `times` requests for `action` (once an `after` action has reached moto, if given) are forwarded
        at once and their answer held `seconds`: AWS did the work, the client did not hear of it in time. A client
        that gives up and resends a creating action therefore reaches moto twice, which `forwarded_count` shows."""
        with self.lock:
            self.holds[action] = {"seconds": seconds, "times": times, "after": after}

    def expire_after(self, akid, deadline):
        """Requests signed with `akid` after `deadline` (epoch seconds) get 400 ExpiredToken (in the service's error
        shape: EC2's <Response><Errors>, else <ErrorResponse> with Type Sender) and are not forwarded."""
        with self.lock:
            self.expiry[akid] = deadline

    def throttle(self, limits=throttling.limit_for, account_of=None, clock=time.monotonic):
        """Throttles as AWS does (see e2e/throttling.py for the figures and their sources): each request takes a token
        from its bucket, keyed by account, region, service and API; an empty bucket answers the service's throttling
        error, in its shape, and the request does not reach moto. The account is `account_of(request)` if given, else
        request.account (moto's x-moto-account-id header, else the signing key). `limits` maps (service, action,
        params) to (bucket name, Limit) or None; `limits=None` turns throttling off."""
        with self.lock:
            self.throttling = throttling.Throttle(limits, clock) if limits else None
            self.account_of = account_of

    def clear(self):
        with self.lock:
            self.faults.clear()
            self.rewrites.clear()
            self.holds.clear()
            self.drop_n = self.error_n = None

    def reset_counts(self):
        with self.lock:
            self.counts = {}
            self.log = []

    # -- what happened ------------------------------------------------------------------------------------------
    @property
    def total(self):
        with self.lock:
            return sum(self.counts.values())

    def forwarded(self, service=None):
        """Requests that reached moto, optionally only those signed for `service` (signing name)."""
        with self.lock:
            return [r for r in self.requests if r.reached_aws and (service is None or r.service == service)]

    @property
    def throttled(self):
        with self.lock:
            return [r for r in self.requests if r.outcome.startswith("throttled:")]

    def forwarded_count(self, action):
        return sum(1 for r in self.forwarded() if r.action == action)

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self._pool.close()

    # -- the exchange --------------------------------------------------------------------------------------------
    def _handle(self, handler):
        record = self._receive(handler)
        if record is None:
            return
        decision = self._decide(record)
        if record.content_length is not None and record.body_length != record.content_length:
            decision = "drop"  # AWS cannot answer a request whose body never came whole
        if decision == "drop":
            record.outcome = "dropped"
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(decision, tuple):
            record.outcome, status, body = decision
            kind = "application/x-amz-json-1.0" if record.service in JSON_SERVICES else "text/xml"
            self._reply(handler, record, status, body, kind)
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("connection",)}
        try:
            status, data, content_type = self._pool.send(record.method, record.path, record.body, headers)
        except OSError as error:
            record.outcome = "upstream-error"
            self._reply(handler, record, 502, f"proxy: moto did not answer: {error}".encode(), "text/plain")
            return
        record.outcome = "forwarded"
        self._learn(record, data)
        rewrite = self.rewrites.get(record.action)
        if rewrite:
            data = rewrite(data)
        if decision == "hold":
            record.outcome = "held+forwarded"
            self.closing.wait(self.hold_seconds.pop(record.n, 0))
        self._reply(handler, record, status, data, content_type)

    def _receive(self, handler):
        length_header = handler.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        handler.connection.settimeout(5)  # a client that promises more body than it sends must not hold a thread
        try:
            body = handler.rfile.read(length) if length else b""
        except OSError:
            body = b""
        handler.connection.settimeout(None)
        try:
            auth = sigv4check.parse_authorization(handler.headers.get("Authorization"))
        except ValueError:
            auth = None
        action = action_of(body, handler.path, handler.headers.get("X-Amz-Target"))
        if auth and auth.service in awsmodel.REST_SIGNING_NAMES:
            # REST-XML: the operation is the method and the path, not an Action parameter.
            action = awsmodel.rest_operation(auth.service, handler.command, handler.path)[0] or "?"
        with self.lock:
            record = Request(n=len(self.requests) + 1, connection=handler.connection_id, at=time.time(),
                             method=handler.command, path=handler.path, action=action,
                             service=auth.service if auth else None, akid=auth.akid if auth else None,
                             region=auth.region if auth else None,
                             token=handler.headers.get("X-Amz-Security-Token"), content_length=length,
                             body_length=len(body), body=body,
                             account=handler.headers.get("x-moto-account-id") or (auth.akid if auth else None))
            self.requests.append(record)
            self.counts[record.action] = self.counts.get(record.action, 0) + 1
            self.log.append(record.action)
            key = self.keys.get(record.akid) if record.akid else None
        self._check(record, handler.headers, key)
        return record

    def _check(self, record, headers, key):
        problems = []
        if length_problem := self._length_problem(record):
            problems.append(length_problem)
        if headers.get("Authorization") and record.akid is None:
            problems.append("Authorization header is not SigV4")
        elif record.akid is not None:
            if length_problem:
                record.signature = "not checked: the body did not arrive whole"
            elif key is None:
                record.signature = "unverified"
            else:
                why = sigv4check.verify(record.method, record.path, headers, record.body, key[0], key[1])
                record.signature = "ok" if why is None else f"mismatch: {why}"
                if why is not None:
                    problems.append(f"signature of {record.akid[:4]}…: {why}")
        if record.akid is None and record.action not in UNSIGNED_ACTIONS:
            problems.append("unsigned request (AWS takes only STS's web-identity and SAML calls unsigned)")
        if record.service == "route53" and record.region not in (None, "us-east-1"):
            problems.append(f"route53 signed for region {record.region}: the global service is signed for us-east-1")
        if self.validate and record.service in awsmodel.REST_SIGNING_NAMES:
            if record.content_length is None or record.body_length == record.content_length:
                problems += awsmodel.check_rest_request(record.service, record.method, record.path, record.body)
        elif self.validate and record.method == "POST" and record.body_length == record.content_length:
            service = record.service if record.akid else "sts"
            if service in JSON_SERVICES:
                problems += awsmodel.check_json_request(service, headers.get("X-Amz-Target"), record.body)
            elif service in awsmodel.SIGNING_NAMES:
                problems += awsmodel.check_request(service, record.body)
        if problems:
            with self.lock:
                self.violations += [f"request {record.n} ({record.action}): {p}" for p in problems]

    @staticmethod
    def _length_problem(record):
        if record.method != "POST":
            return None
        if record.content_length is None:
            return "no Content-Length"
        if record.body_length != record.content_length:
            return f"body cut: {record.body_length} of {record.content_length} bytes arrived"
        if record.body_length == 0:
            return "empty body"
        return None

    def _decide(self, record):
        """What to do with a request: None (forward), "drop", "hold", or (outcome, status, body) to answer now."""
        with self.lock:
            n = record.n
            if self.drop_n and n % self.drop_n == 0:
                return "drop"
            if self.error_n and n % self.error_n == 0:
                status, code, message = self.error_fault
                return f"injected:{code}", status, error_body(record.service, code, message, "Receiver")
            deadline = self.expiry.get(record.akid)
            if deadline is not None and record.at > deadline:
                return "expired", 400, error_body(record.service, "ExpiredToken", EXPIRED_MESSAGE)
            fault = self.faults.get(record.action)
            if fault:
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        del self.faults[record.action]
                body = error_body(record.service, fault["code"], fault["message"])
                return f"injected:{fault['code']}", fault["status"], body
            if throttled := self._throttled(record):
                return throttled
            if already := self._moto_would_replace(record):
                return already
            hold = self.holds.get(record.action)
            if hold and hold["after"] and not any(r.action == hold["after"] and r.reached_aws for r in self.requests):
                hold = None
            if hold:
                hold["times"] -= 1
                if hold["times"] <= 0:
                    del self.holds[record.action]
                self.hold_seconds[n] = hold["seconds"]
                return "hold"
        return None

    def _throttled(self, record):
        """AWS's answer when the request's bucket is empty, else None (called with the lock held)."""
        if self.throttling is None or record.service is None:
            return None
        params = {k: v[0] for k, v in urllib.parse.parse_qs(record.body.decode("utf-8", "replace")).items()}
        account = self.account_of(record) if self.account_of else record.account
        if self.throttling.admit(account, record.region, record.service, record.action, params):
            return None
        status, code, message = throttling.answer_for(record.service)
        return f"throttled:{code}", status, error_body(record.service, code, message)

    def _moto_would_replace(self, record):
        """Moto workaround, the one place for it: moto silently replaces an Auto Scaling group created twice, where
        AWS answers 400 AlreadyExists. A CreateAutoScalingGroup for a name this proxy already passed on gets AWS's
        answer (called with the lock held)."""
        if record.action != "CreateAutoScalingGroup":
            return None
        def group(r):
            return urllib.parse.parse_qs(r.body.decode("utf-8", "replace")).get("AutoScalingGroupName", [""])[0]
        name = group(record)
        earlier = any(r.action == "CreateAutoScalingGroup" and r.reached_aws and r.n != record.n and group(r) == name
                      for r in self.requests)
        if not earlier:
            return None
        return "injected:AlreadyExists", 400, error_body(
            "autoscaling", "AlreadyExists", f"AutoScalingGroup by this name already exists - A group with the name {name} already exists")

    def _learn(self, record, data):
        """Keys an STS (or SSO portal) answer hands out become trusted, so the requests they sign are verified."""
        if record.action not in ("AssumeRole", "AssumeRoleWithWebIdentity", "GetSessionToken"):
            return
        found = {tag: re.search(rf"<{tag}>([^<]+)</{tag}>".encode(), data)
                 for tag in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
        if all(found.values()):
            akid, secret, token = (found[tag].group(1).decode() for tag in ("AccessKeyId", "SecretAccessKey", "SessionToken"))
            self.trust(akid, secret, token)
            with self.lock:
                self.issued.append(akid)

    def _reply(self, handler, record, status, data, content_type):
        record.status, record.answered = status, time.time()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True  # the client gave up (a held answer past its timeout)
