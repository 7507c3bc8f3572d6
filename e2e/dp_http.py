"""The little HTTP/1.1 the e2e data plane speaks (its instances, load balancer and load generator): GET requests with
no body, answers with Content-Length, keep-alive. asyncio Protocols, not http.server: a few hundred requests a second
through three hops must leave the two cores to moto and the binary under test."""
import asyncio
import ctypes
import signal

END = b"\r\n\r\n"


def die_with_parent():
    """Linux: this process gets SIGKILL when the process that started it dies, so no instance outlives a killed data
    plane (or a killed test)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def split_head(buffer):
    """The first complete message head in `buffer`: (first line, {lower-case name: value}, bytes used), or None."""
    end = buffer.find(END)
    if end < 0:
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, end + len(END)


def response(status, reason, body=b"", headers=None, close=False):
    """A whole response, ready to write."""
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ResponseReader:
    """Frames the responses arriving on one connection; `feed` returns the complete ones as (status, headers, body)."""

    def __init__(self):
        self.buffer = b""
        self.head = None

    def feed(self, data):
        self.buffer += data
        out = []
        while True:
            if self.head is None:
                parsed = split_head(self.buffer)
                if parsed is None:
                    return out
                first, headers, used = parsed
                self.buffer = self.buffer[used:]
                self.head = (int(first.split(" ", 2)[1]), headers)
            status, headers = self.head
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < length:
                return out
            body, self.buffer = self.buffer[:length], self.buffer[length:]
            self.head = None
            out.append((status, headers, body))


class Upstream(asyncio.Protocol):
    """A client connection that carries one request at a time: `send(bytes, timeout)` returns a future of (status,
    headers, body); a connection that closes or resets with a request outstanding fails that future with
    ConnectionError, one that stays silent `timeout` seconds with TimeoutError (and is closed). A timer, not
    asyncio.wait_for: this runs hundreds of times a second."""

    def __init__(self):
        self.transport = None
        self.reader = ResponseReader()
        self.waiting = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def send(self, data, timeout=5.0):
        loop = asyncio.get_running_loop()
        waiting = self.waiting = loop.create_future()
        timer = loop.call_later(timeout, self._expire, waiting)
        waiting.add_done_callback(lambda _: timer.cancel())
        self.transport.write(data)
        return waiting

    def _expire(self, waiting):
        if not waiting.done():
            waiting.set_exception(asyncio.TimeoutError())
            self.close()

    def data_received(self, data):
        for answer in self.reader.feed(data):
            if self.waiting is not None and not self.waiting.done():
                self.waiting.set_result(answer)
            self.waiting = None
            if answer[1].get("connection", "").lower() == "close":
                self.close()

    def connection_lost(self, exc):
        self.closed = True
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(ConnectionError(f"closed with a request outstanding: {exc or 'EOF'}"))

    def close(self):
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def connect(port, timeout=1.0):
    """A new Upstream to 127.0.0.1:port (ConnectionRefusedError when nothing listens)."""
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(loop.create_connection(Upstream, "127.0.0.1", port), timeout)
    return protocol
