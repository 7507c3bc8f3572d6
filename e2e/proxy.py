"""A recording, fault-injecting HTTP proxy in front of moto, on loopback. Standard library only.

Counts requests per AWS action and can answer chosen actions with an AWS error instead of forwarding them:
    proxy = Proxy(upstream)            # starts on a free 127.0.0.1 port; proxy.url
    proxy.fail("ModifyListener", code="Throttling", status=400, times=3)
    proxy.fail("ModifyListener", code="AccessDenied", status=403)      # always
    proxy.counts["CreateAutoScalingGroup"]
    proxy.rewrite("DescribeTargetHealth", lambda body: body.replace(b">healthy<", b">unhealthy<"))
    proxy.drop_every(4)                # closes the connection of every 4th request without an answer; proxy.dropped
"""
import http.client
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no request log, and no Nagle: without TCP_NODELAY, Nagle and delayed ACKs add about
    40 ms to every exchange on a kept-alive connection. The base of every test server here."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def serve(handler):
    """Starts a threading server for `handler` on a free 127.0.0.1 port; returns it and its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def action_of(body, path):
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    return (form.get("Action") or query.get("Action") or ["?"])[0]


class Proxy:
    def __init__(self, upstream):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.counts = {}
        self.log = []
        self.faults = {}
        self.rewrites = {}
        self.drop_period = 0
        self.received = 0
        self.dropped = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if proxy._take_drop():
                    self.close_connection = True
                    return
                action = action_of(body, self.path)
                fault = proxy._take_fault(action)
                if fault:
                    self._reply(fault["status"], fault["body"], "text/xml")
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                rewrite = proxy.rewrites.get(action)
                if rewrite:
                    data = rewrite(data)
                self._reply(response.status, data, response.getheader("Content-Type", "text/xml"))

            do_GET = do_POST

            def _reply(self, status, data, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server, self.url = serve(Handler)

    def _take_fault(self, action):
        with self.lock:
            self.counts[action] = self.counts.get(action, 0) + 1
            self.log.append(action)
            fault = self.faults.get(action)
            if not fault:
                return None
            if fault["times"] is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    del self.faults[action]
            return fault

    def _take_drop(self):
        with self.lock:
            self.received += 1
            drop = self.drop_period > 0 and self.received % self.drop_period == 0
            self.dropped += drop
            return drop

    def drop_every(self, n):
        """Reads every n-th request whole, then closes its connection without an answer, as a dying load balancer or
        NAT gateway does."""
        with self.lock:
            self.drop_period = n

    def fail(self, action, code="Throttling", status=400, times=None, message="injected by the test proxy"):
        """Answers `action` with an AWS query-protocol error, `times` times (None: until cleared)."""
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>proxy-fault</RequestId></ErrorResponse>").encode()
        with self.lock:
            self.faults[action] = {"status": status, "body": body, "times": times}

    def rewrite(self, action, fn):
        """Passes every response to `action` through fn(bytes) -> bytes before the client sees it."""
        with self.lock:
            self.rewrites[action] = fn

    def clear(self):
        with self.lock:
            self.faults.clear()
            self.rewrites.clear()

    def reset_counts(self):
        with self.lock:
            self.counts = {}
            self.log = []

    @property
    def total(self):
        with self.lock:
            return sum(self.counts.values())

    def close(self):
        self.server.shutdown()
        self.server.server_close()
