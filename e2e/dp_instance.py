"""One EC2 instance of the e2e data plane (a process of its own, started by dp_server.py for each instance moto shows):
answers every request on 127.0.0.1 with its instance id and AMI, in the body and in X-Instance / X-AMI.

    python3 dp_instance.py INSTANCE_ID AMI --boot SECONDS --fail FRACTION --latency SECONDS --health-path /healthz

It binds its port at once and prints it, but listens only after --boot seconds: until then a connection is refused,
as an instance still booting refuses the load balancer's health checks. --fail is the share of application requests
(every path but the health check path) answered 500: a release that is broken for some of its users while the
load balancer's shallow health check still passes. --latency is how long each application request takes (the health
check is answered at once): requests are in flight at the instance for that long, so a load balancer that cuts an
instance's connections (a drain cut short, connection draining off, an instance terminated under it) fails them."""
import argparse
import asyncio
import random
import socket
import sys
import time

from dp_http import die_with_parent, response, split_head


class App(asyncio.Protocol):
    def __init__(self, args, rng):
        self.args, self.rng = args, rng
        self.buffer = b""
        self.transport = None
        self.waiting = False
        ident = {"X-Instance": args.instance, "X-AMI": args.ami}
        body = f"{args.instance} {args.ami}\n".encode()
        self.ok = response(200, "OK", body, ident)
        self.broken = response(500, "Internal Server Error", b"failing " + body, ident)

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while not self.waiting and (parsed := split_head(self.buffer)) is not None:
            first, headers, used = parsed
            self.buffer = self.buffer[used:]
            path = first.split(" ", 2)[1].split("?", 1)[0]
            application = path != self.args.health_path
            failing = application and self.rng.random() < self.args.fail
            answer, close = self.broken if failing else self.ok, headers.get("connection", "").lower() == "close"
            if application and self.args.latency > 0:
                # One request at a time on a connection (the load balancer's way): the rest of the buffer waits.
                self.waiting = True
                asyncio.get_running_loop().call_later(self.args.latency, self.late, answer, close)
                return
            self.transport.write(answer)
            if close:
                self.transport.close()
                return

    def late(self, answer, close):
        """A slow request's answer, then the requests that came in behind it."""
        self.waiting = False
        if self.transport.is_closing():
            return  # the load balancer cut the connection: the request failed at its end
        self.transport.write(answer)
        if close:
            self.transport.close()
        elif self.buffer:
            self.data_received(b"")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("instance")
    parser.add_argument("ami")
    parser.add_argument("--boot", type=float, default=0.0)
    parser.add_argument("--fail", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--health-path", default="/healthz")
    args = parser.parse_args()
    die_with_parent()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    loop = asyncio.new_event_loop()
    rng = random.Random(args.instance)
    time.sleep(args.boot)  # bound but not listening: connections are refused while it boots
    # create_server listens and starts accepting at once: a connection the kernel accepted on a listening socket
    # that nobody serves yet would wait, not be refused.
    loop.run_until_complete(loop.create_server(lambda: App(args, rng), sock=sock, backlog=1024))
    print("listening", flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
