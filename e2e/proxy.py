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
    proxy.answer("DescribeTargetHealth", fn)   # fn(request, moto's body) -> the answer (the e2e data plane's view)
    proxy.after_forward(fn)            # fn(request) after moto answered, before the client hears it
    proxy.drop_every(4)                # every 4th request: connection closed without an answer, not forwarded
    proxy.error_every(4)               # every 4th request: 503 ServiceUnavailable, not forwarded
    proxy.hold("DescribeTargetHealth", 60)   # forwarded, its answer held 60 s
    proxy.expire_after("ASIA...", deadline)  # past `deadline` (epoch s): 400 ExpiredToken, not forwarded
    proxy.throttle()                   # AWS's token buckets per account, region, service and API (e2e/throttling.py):
                                       # an empty bucket answers 503 RequestLimitExceeded (EC2) or 400 Throttling
    proxy.throttled                    # the requests answered so, in order
    proxy.counts["CreateAutoScalingGroup"]   # requests received per action (forwarded or not)
    proxy.forwarded_count("CreateAutoScalingGroup")   # requests that reached moto

Classic ELB and ELBv2 sign as one service (elasticloadbalancing, one endpoint): the request's Version says which
API it is for, and so which model checks it (awsmodel.check_request), whose throttling bucket it draws on and how its
tags go stale.

AWS as it is and moto is not (faults.py holds each behaviour; test_proxy_faults.py proves each with boto3 alone):
    proxy.stale_reads(2)               # eventual consistency: for 2 s after a write of a kind, every read of that kind
                                       # answers what it answered just before the write (the state before the last
                                       # write); kinds: "listener" (ModifyListener -> DescribeListeners, DescribeRules),
                                       # "rules" (Create/Modify/DeleteRule, SetRulePriorities -> DescribeRules), "tags"
                                       # (AddTags/RemoveTags of ELBv2 by ARN and of Classic ELB by name,
                                       # CreateOrUpdateTags/DeleteTags: per resource, in every ELB DescribeTags (of
                                       # either API) and DescribeAutoScalingGroups answer that shows the resource,
                                       # whatever it asked; "listener-tags" and "group-tags" for one API's alone),
                                       # "groups" (Create/Update/DeleteAutoScalingGroup,
                                       # SetDesiredCapacity, Attach/Detach target groups and Classic load
                                       # balancers, Suspend/ResumeProcesses ->
                                       # DescribeAutoScalingGroups, DescribeAutoScalingInstances); all by default, or
                                       # proxy.stale_reads(2, kinds=["tags"]); stale_reads(0) ends it.
                                       # proxy.stale.answered lists the requests answered stale.
    proxy.healthy_after_failure(["i-..."], answers=1, target_group=ARN)   # health that reads healthy after it
                                       # failed: the next 1 DescribeTargetHealth answer of that target group shows the
                                       # instances healthy whatever moto says (load_balancer=NAME: the next
                                       # DescribeInstanceHealth answers of a Classic ELB show them InService); returns
                                       # the fault: .answered, .rewritten list the requests it took and changed
    proxy.busy("DeleteAutoScalingGroup", "ScalingActivityInProgress", times=3)   # Auto Scaling's busy answers in
                                       # their real status and shape: ScalingActivityInProgress 400, ResourceInUse 400,
                                       # ResourceContention 500 (not forwarded)
    proxy.launch_failures("switchyard-svc-")   # groups created with this name prefix never get instances
                                       # (DescribeAutoScalingGroups lists none) and DescribeScalingActivities shows a
                                       # Failed launch activity every 0.5 s since their creation (message= the reason)
    proxy.skew(1200)                   # AWS's clock 20 min ahead: requests more than 5 min off its time are refused
                                       # (query APIs and Route 53: 403 SignatureDoesNotMatch "Signature expired: ...";
                                       # EC2: 400 RequestExpired; DynamoDB: 400 InvalidSignatureException; codes=
                                       # {"ec2": ("AuthFailure", 401)} to change one), and every answer's Date header is
                                       # AWS's time; proxy.skew(0) ends it
    proxy.blackhole()                  # connections accepted, requests read, never answered (action= for one action;
                                       # seconds= to close them after that long); clear() ends it
    proxy.outage(3)                    # the endpoint disappears for 3 s: the listening socket and every open
                                       # connection closed, new connections refused, then it listens again on the port
    proxy.outage(3, on="ModifyListener")   # the same, starting when that action arrives (it is not forwarded)
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
import faults
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
    amz_date: str | None = field(default=None, kw_only=True)  # X-Amz-Date as sent
    token: str | None           # X-Amz-Security-Token as sent
    content_length: int | None
    body_length: int            # bytes that actually arrived
    body: bytes = field(repr=False, default=b"")
    signature: str = "unsigned"  # ok | unverified (key unknown to the proxy) | unsigned | mismatch: why
    outcome: str = "pending"    # forwarded | dropped | injected:CODE | expired | held+forwarded | upstream-error |
                                # stale | skewed:CODE | blackholed | outage
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
        return self.outcome in ("forwarded", "held+forwarded", "forwarded+stale")


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


class Proxy(faults.Switches):
    def __init__(self, upstream, validate=True):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.validate = validate
        self.counts, self.log, self.requests, self.violations = {}, [], [], []
        self.faults, self.rewrites, self.holds = {}, {}, {}
        self.answers, self.forward_hooks = {}, []
        self.keys, self.expiry, self.issued = {}, {}, []
        self.drop_n = self.error_n = None
        self.error_fault = None
        self.hold_seconds = {}
        self.stale = faults.StaleReads()
        self.skewed = self.launches = None
        self.removal_guard = None
        self.health_faults = []  # faults.HealthyAfterFailure, switched on by healthy_after_failure
        self.blackholed, self.blackhole_seconds, self.blackhole_end = None, None, threading.Event()
        self.blackhole_after = None
        self.outage_on_action = None
        self.throttling = self.account_of = None
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self._pool = _Upstream(self.upstream)
        self._connections = itertools.count(1)
        self._open = set()
        self._back_up = None
        proxy = self

        class Handler(QuietHandler):
            def setup(self):
                super().setup()
                self.connection_id = next(proxy._connections)
                with proxy.lock:
                    proxy._open.add(self.connection)

            def finish(self):
                with proxy.lock:
                    proxy._open.discard(self.connection)
                super().finish()

            def date_time_string(self, timestamp=None):
                return proxy.skewed.http_date() if proxy.skewed else super().date_time_string(timestamp)

            def do_POST(self):
                proxy._handle(self)

            do_GET = do_POST

        self._handler = Handler
        self.server, self.url = serve(Handler)
        self.port = self.server.server_address[1]

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

    def answer(self, action, fn):
        """Replaces moto's successful answer to `action` with fn(request, moto's body) -> bytes: for what moto has no
        model of (the data plane's target health). Kept by clear(): it is the world's behaviour, not a fault."""
        with self.lock:
            self.answers[action] = fn

    def after_forward(self, fn):
        """Calls fn(request) once moto has answered a request and before the client hears the answer (the data
        plane learns of a write at the moment AWS would have made it)."""
        with self.lock:
            self.forward_hooks.append(fn)

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

    def _listen_again(self):
        """A server on the proxy's own port again, after an outage."""
        server = _Server(("127.0.0.1", self.port), self._handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

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
            self.blackholed = None
            self.blackhole_end.set()

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
        self.blackhole_end.set()
        if self._back_up is not None:
            self._back_up.cancel()
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
        if isinstance(decision, str) and decision.startswith("outage:"):
            record.outcome = "outage"
            handler.close_connection = True
            self._go_down(float(decision.split(":", 1)[1]))
            return
        if decision == "blackhole":
            record.outcome = "blackholed"
            self.blackhole_end.wait(self.blackhole_seconds)
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if isinstance(decision, tuple):
            record.outcome, status, body = decision
            kind = "application/x-amz-json-1.0" if record.service in JSON_SERVICES else "text/xml"
            self._reply(handler, record, status, body, kind)
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("connection",)}
        guard = self.removal_guard
        if guard is not None and record.action in guard.ACTIONS:
            problem = guard.problem(record)
            if problem:
                with self.lock:
                    self.violations.append(f"request {record.n} ({record.action}): {problem}")
        stale = self.stale
        with self.lock:
            answer = stale.stale_answer(record, time.time())
        if answer is not None:
            record.outcome = "stale"
            status, data, content_type = answer
            self._reply(handler, record, status, data, content_type)
            return
        try:
            if stale.is_write(record):
                with stale.write_lock:
                    written = stale.before_write(record, headers, self._pool.send)
                    status, data, content_type = self._pool.send(record.method, record.path, record.body, headers)
                    with self.lock:
                        stale.after_write(written, time.time())
            else:
                status, data, content_type = self._pool.send(record.method, record.path, record.body, headers)
        except OSError as error:
            record.outcome = "upstream-error"
            self._reply(handler, record, 502, f"proxy: moto did not answer: {error}".encode(), "text/plain")
            return
        record.outcome = "forwarded"
        self._learn(record, data)
        with self.lock:
            if status == 200:
                stale.remember(record, headers)
            data = stale.stale_tags(record, status, data, time.time())
            if record.n in stale.answered:
                record.outcome = "forwarded+stale"
        data = self._launch_answer(record, status, data)
        for hook in list(self.forward_hooks):
            hook(record)
        answer = self.answers.get(record.action)
        if answer and status == 200:
            data = answer(record, data)
        data = self._health_answer(record, status, data)
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
                             body_length=len(body), body=body, amz_date=handler.headers.get("X-Amz-Date"),
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
            if self.outage_on_action and self.outage_on_action[0] == record.action:
                seconds = self.outage_on_action[1]
                self.outage_on_action = None
                return f"outage:{seconds}"
            if self.blackholed in ("*", record.action) and (self.blackhole_after is None or any(
                    r.action == self.blackhole_after and r.reached_aws for r in self.requests)):
                return "blackhole"
            refusal = self.skewed.refusal(record) if self.skewed and record.signed else None
            if refusal:
                code, status, message = refusal
                return f"skewed:{code}", status, error_body(record.service, code, message)
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
                body = error_body(record.service, fault["code"], fault["message"], fault.get("kind", "Sender"))
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
