"""The e2e data plane's load balancer (dp_server.py's Plane inherits it): routes each request by the listener's rules
as they stood `propagation` seconds ago (rule conditions: http-header, path-pattern, host-header, request method;
actions: forward with weights, fixed-response), to a target the target group may route to now (dp_targets.py), over
kept-alive connections to the instance processes. Its own answers carry their cause in X-DP-Cause: 503 `no-target`
(the chosen group has no routable target), 502 `dead-target` (the target refused or dropped the connection), 502 `cut`
(the load balancer itself closed the connection under a request in flight: a drain over, or connection draining
off), 504 `target-timeout` (no answer in 5 s), 503 `no-weight`, `fixed-response`.

In a Classic world (`classic`: the Classic Load Balancer's name) there are no rules: every request goes to the Classic
Load Balancer's registrations (one group, keyed by its name), InService instances only."""
import asyncio
import fnmatch
import time
import traceback

from dp_http import connect, response, split_head
from dp_moto import forwarded


class Cut(ConnectionError):
    """The load balancer closed the connection to the instance with the request in flight."""


class Instance:
    def __init__(self, ident, ami):
        self.id, self.ami = ident, ami
        self.proc = self.port = None
        self.idle = []
        self.busy = set()           # connections with a request in flight
        self.gone = False           # terminated in moto (its registrations are stale there)
        self.stopped = False
        self.ended_at = None
        self.group = ""             # its Auto Scaling group (moto's aws:autoscaling:groupName tag)

    def forward(self, data):
        """One exchange over a kept-alive connection: a future of (status, headers, body), failing with OSError or
        TimeoutError. Callbacks, not a task, when an idle connection is at hand (nearly always)."""
        loop = asyncio.get_running_loop()
        out = loop.create_future()
        if self.port is None or self.ended_at is not None:
            out.set_exception(ConnectionRefusedError(f"{self.id} has no running process"))
            return out
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                self._send(conn, data, out)
                return out
        loop.create_task(self._connect_and_send(data, out))
        return out

    async def _connect_and_send(self, data, out):
        try:
            conn = await connect(self.port)
        except (OSError, asyncio.TimeoutError) as error:
            out.set_exception(error if isinstance(error, OSError) else ConnectionRefusedError("connect timed out"))
            return
        self._send(conn, data, out)

    def cut(self):
        """Closes every connection with a request in flight (their requests fail with Cut); returns how many."""
        cut = list(self.busy)
        for conn in cut:
            conn.cut = True
            conn.close()
        return len(cut)

    def _send(self, conn, data, out):
        self.busy.add(conn)

        def done(exchange):
            self.busy.discard(conn)
            error = exchange.exception()
            if error is not None:
                conn.close()
                out.set_exception(Cut(f"{self.id}: cut by the load balancer") if getattr(conn, "cut", False) else error)
                return
            if not conn.closed:
                self.idle.append(conn)
            out.set_result(exchange.result())
        conn.send(data, 5.0).add_done_callback(done)


def header_matches(pattern, value, case=False):
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def condition_matches(condition, method, path, headers):
    field = condition.get("Field")
    if field == "http-header":
        config = condition.get("HttpHeaderConfig", {})
        value = headers.get(config.get("HttpHeaderName", "").lower())
        return value is not None and any(header_matches(v, value) for v in config.get("Values", []))
    if field == "path-pattern":
        values = condition.get("PathPatternConfig", {}).get("Values") or condition.get("Values", [])
        return any(header_matches(v, path, case=True) for v in values)
    if field == "host-header":
        values = condition.get("HostHeaderConfig", {}).get("Values") or condition.get("Values", [])
        return any(header_matches(v, headers.get("host", "").split(":")[0]) for v in values)
    if field == "http-request-method":
        return method in condition.get("HttpRequestMethodConfig", {}).get("Values", [])
    return False  # query-string, source-ip: no test world uses them


class Balancer:
    """Needs from its subclass: history [(read, live, rules)], groups, instances, counts, probes, probe_header,
    target_5xx, rng, classic (a Classic Load Balancer's name, or None)."""

    def live_rules(self, now):
        for _, live, rules in reversed(self.history):
            if live <= now:
                return rules
        return []

    def serve(self, first, headers):
        now = time.time()
        method, target = first.split(" ", 2)[:2]
        path = target.split("?", 1)[0]
        probe = self.probe_header in headers
        if self.classic:
            return self.route(self.groups.get(self.classic), self.classic, method, target, headers, probe, now, path, "classic")
        for priority, conditions, actions in self.live_rules(now):
            if all(condition_matches(c, method, path, headers) for c in conditions):
                break
        else:
            return self.own(503, "no-rule", "no rule matched", probe, now, path)
        action = sorted(actions, key=lambda a: a.get("Order", 0))[0] if actions else {}
        if action.get("Type") == "fixed-response":
            fixed = action.get("FixedResponseConfig", {})
            return self.own(int(fixed.get("StatusCode", 503)), "fixed-response", fixed.get("MessageBody", ""), probe, now, path)
        weights = [(arn, w) for arn, w in forwarded(actions).items() if w > 0]
        if not weights:
            return self.own(503, "no-weight", f"rule {priority} forwards to no target group with a weight", probe, now, path)
        arn = self.rng.choices([a for a, _ in weights], [w for _, w in weights])[0]
        return self.route(self.groups.get(arn), arn, method, target, headers, probe, now, path, priority)

    def route(self, group, arn, method, target, headers, probe, now, path, priority):
        """To one target the group may route to now, or the load balancer's own 503."""
        ident = group.pick() if group else None
        if ident is None:
            name = group.name if group else arn
            what = f"Classic Load Balancer {name} has no InService instance" if self.classic else f"target group {name} has no routable target"
            return self.own(503, "no-target", what, probe, now, path, group=name)
        instance = self.instances[ident]
        lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items() if k != "connection"]
        upstream = instance.forward(("\r\n".join(lines) + "\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n").encode())
        answer = asyncio.get_running_loop().create_future()
        upstream.add_done_callback(lambda f: answer.set_result(self.relay(f, probe, now, path, group, instance, priority)))
        return answer

    def relay(self, exchange, probe, now, path, group, instance, rule):
        """The load balancer's answer once the target answered (or did not)."""
        error = exchange.exception()
        if isinstance(error, Cut):
            return self.own(502, "cut", f"{instance.id}: the load balancer closed its connection with the request in flight",
                            probe, now, path, group=group.name, instance=instance.id)
        if isinstance(error, asyncio.TimeoutError):
            return self.own(504, "target-timeout", f"{instance.id} did not answer in 5 s", probe, now, path,
                            group=group.name, instance=instance.id)
        if error is not None:
            return self.own(502, "dead-target", f"{instance.id} did not answer: {error}", probe, now, path,
                            group=group.name, instance=instance.id)
        status, answer, body = exchange.result()
        if status >= 500:
            self.target_5xx.append(now)
        self.counts[f"target-{status}"] += 1
        if probe:
            self.probes.append({"t": now, "path": path, "status": status, "instance": instance.id, "ami": instance.ami,
                                "group": group.name, "rule": rule})
        return response(status, "OK" if status == 200 else "Error", body,
                        {"X-Instance": answer.get("x-instance", ""), "X-AMI": answer.get("x-ami", ""), "X-DP-Routed": f"{now:.4f}"})

    def own(self, status, cause, text, probe, now, path, **where):
        """An answer of the load balancer itself (503, 502, a fixed response), with its cause for the load report."""
        self.counts[cause] += 1
        if probe:
            self.probes.append({"t": now, "path": path, "status": status, "cause": cause, **where})
        reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable"}.get(status, "Fixed")
        return response(status, reason, text.encode(), {"X-DP-Cause": cause, "X-DP-Routed": f"{now:.4f}",
                                                        **{f"X-DP-{k}": v for k, v in where.items()}})

    # -- the control API ------------------------------------------------------------------------------------------

class Front(asyncio.Protocol):
    """One client connection: requests in order, each answered by `handler(first line, headers) -> bytes`."""

    def __init__(self, handler):
        self.handler, self.buffer, self.busy, self.transport = handler, b"", False, None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        self.next()

    def next(self):
        if self.busy or (parsed := split_head(self.buffer)) is None:
            return
        first, headers, used = parsed
        self.buffer = self.buffer[used:]
        self.busy = True
        close = headers.get("connection", "").lower() == "close"
        try:
            answer = self.handler(first, headers)
        except Exception:  # the harness's own bug: say so loudly rather than leave the client waiting
            traceback.print_exc()
            answer = response(500, "Data Plane Error", b"data plane error", {"X-DP-Cause": "dataplane-bug"})
        if isinstance(answer, bytes):
            self.reply(answer, close)
        else:
            answer.add_done_callback(lambda f: self.reply(f.result(), close))

    def reply(self, data, close):
        if self.transport.is_closing():
            return
        self.transport.write(data)
        if close:
            self.transport.close()
            return
        self.busy = False
        self.next()
