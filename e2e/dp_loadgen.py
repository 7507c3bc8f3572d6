"""The e2e data plane's open-loop load generator (a process of its own): sends GET URL at a fixed rate, whatever the
answers, and records every request's send time, latency, status, the AMI and instance that answered, when the load
balancer routed it (X-DP-Routed) and, for a failure, its cause.

    python3 dp_loadgen.py URL --rate 300 --out FILE     # runs until its stdin closes, then writes FILE (JSON)

Open loop: request n is due at start + n/rate; a request whose connection is busy gets a new connection, so a slow or
dead target never slows the sending (a backlog after a stall is sent at once and shows as lateness). A cause is the
load balancer's own (X-DP-Cause: no-target, dead-target, ...), `target` (the instance answered an error), `timeout`
(nothing in 5 s) or `connect` (the load balancer refused the connection)."""
import argparse
import asyncio
import json
import sys
import time
import urllib.parse

from dp_http import connect, die_with_parent

TIMEOUT = 5.0


class Generator:
    def __init__(self, url, rate):
        parts = urllib.parse.urlsplit(url)
        self.port, self.rate = parts.port, rate
        self.request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}\r\nUser-Agent: dp-loadgen\r\n\r\n".encode()
        self.idle, self.records, self.inflight, self.pending = [], [], set(), 0
        self.codes = {"": 0}

    def code(self, text):
        return self.codes.setdefault(text, len(self.codes))

    def one(self, due):
        """Sends one request now: on an idle kept-alive connection if there is one (no task: callbacks only), else
        on a new connection."""
        sent = time.time()
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                self.exchange(conn, sent, due)
                return
        task = asyncio.get_running_loop().create_task(self.connect_and_send(sent, due))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def connect_and_send(self, sent, due):
        try:
            conn = await connect(self.port, TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            self.fail(sent, due, "connect", None)
            return
        self.exchange(conn, sent, due)

    def exchange(self, conn, sent, due):
        future = conn.send(self.request, TIMEOUT)
        self.pending += 1
        future.add_done_callback(lambda f: self.answered(f, conn, sent, due))

    def answered(self, future, conn, sent, due):
        self.pending -= 1
        error = future.exception()
        if error is not None:
            self.fail(sent, due, "timeout" if isinstance(error, asyncio.TimeoutError) else "connect", conn)
            return
        status, headers, _ = future.result()
        cause = headers.get("x-dp-cause") or ("target" if status >= 400 else "")
        self.records.append((sent, due, time.time(), status, self.code(headers.get("x-ami", "")), self.code(cause),
                             self.code(headers.get("x-dp-group", "")),
                             self.code(headers.get("x-instance") or headers.get("x-dp-instance", "")),
                             float(headers.get("x-dp-routed", "0"))))
        if not conn.closed:
            self.idle.append(conn)

    def fail(self, sent, due, cause, conn):
        self.records.append((sent, due, time.time(), 0, 0, self.code(cause), 0, 0, 0.0))
        if conn is not None:
            conn.close()

    async def run(self, stop):
        self.start = time.time()
        sent = 0
        while not stop.is_set():
            now = time.time()
            due_count = int((now - self.start) * self.rate) + 1
            while sent < due_count:
                self.one(self.start + sent / self.rate)
                sent += 1
            await asyncio.sleep(max(0.0, self.start + sent / self.rate - time.time()))
        self.end = time.time()
        deadline = time.time() + TIMEOUT + 1
        while (self.inflight or self.pending) and time.time() < deadline:
            await asyncio.sleep(0.05)


async def main(args):
    generator = Generator(args.url, args.rate)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(1024) else None)
    print("started", flush=True)
    await generator.run(stop)
    names = sorted(generator.codes, key=generator.codes.get)
    records = [(round(sent, 4), round(sent - due, 4), round(done - sent, 4), *rest) for sent, due, done, *rest in generator.records]
    # fields: sent, lateness, latency, status, AMI, cause, where, instance (codes into `names`), routed (0: never)
    with open(args.out, "w") as f:
        json.dump({"start": generator.start, "end": generator.end, "rate": args.rate, "names": names,
                   "records": records, "cpu": time.process_time()}, f)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--out", required=True)
    die_with_parent()
    asyncio.run(main(parser.parse_args()))
