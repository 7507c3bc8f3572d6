"""The e2e data plane: an ALB-like load balancer on 127.0.0.1 in front of one real process per EC2 instance of a moto
world, in one asyncio process. Started (and read) by dataplane.DataPlane; see that module for the design.

    python3 dp_server.py CONFIG_JSON      # prints {"lb": PORT, "control": PORT} once the first read is applied

What it does, from what moto shows (read every `poll` seconds, and at once on GET /sync, which the checking proxy
calls after every write the binary makes):
- instances of the world's VPC that are pending/running get a process (dp_instance.py); a stopped one loses it; a
  terminated one is deregistered at once and, as Auto Scaling does when it terminates an instance of a group with
  target groups (WaitingForELBConnectionDraining), keeps its process until the drain is over;
- each target group's registrations get ALB's health states (dp_targets.py), from health checks it sends itself
  every `health.interval` to the group's health check path;
- the listener's rules (read with DescribeRules, default rule last) apply `propagation` seconds after they were
  read: a request is routed by the rules as they stood then, while registrations apply at once;
- with `deregister_lag` (seconds), a target that moto no longer lists in a target group is deregistered that much
  later (Auto Scaling's deregistration after a detach is asynchronous), and drains from then;
- an alarm (optional) goes to ALARM when more than `threshold` target 5XX answers came in the last `period` seconds,
  and back to OK when none did: CloudWatch's HTTPCode_Target_5XX_Count alarm, sped up;
- a drain that ends (its delay over) cuts the requests still in flight at the instance, as does a deregistration with
  no drain (a delay of 0: a Classic Load Balancer's connection draining off).

In a Classic world (`classic`: the name of a Classic Load Balancer, traffic.shared.load_balancer_name) the routing
source is that load balancer's registrations, read with DescribeInstanceHealth (dp_moto.py), with its health check's
path and its connection-draining timeout as the drain; no listener is read and every request goes to it
(dp_balancer.py, dp_targets.py for its states and routing). An instance terminated while still registered with it
(neither deregistered nor drained first) has its process ended at once: its in-flight requests fail, and so does
every request routed to it until it is deregistered or its health checks fail (event `terminated-while-registered`)."""
import asyncio
import collections
import json
import os
import random
import sys
import time
import urllib.parse

from dp_balancer import Balancer, Front, Instance
from dp_http import connect, response
from dp_moto import Snapshot, forwarded
from dp_targets import Group

HERE = os.path.dirname(os.path.abspath(__file__))
ALIVE = ("pending", "running")


class Plane(Balancer):
    def __init__(self, config):
        self.config = config
        self.classic = config.get("classic")    # a Classic Load Balancer's name: the routing source (None: the listener)
        self.reader = None          # the dp_moto.py process
        self.delay = float(config.get("propagation", 3.0))
        # AWS's checks wait 5 s for an answer (HealthCheckTimeoutSeconds; Classic's Timeout); 2 s here: a healthy
        # instance on a starved 2-core CI machine answered later than 0.5 s twice in a row and was marked unhealthy,
        # which rolled back a release under load. A dead instance is refused at once, whatever the timeout.
        self.health = {"interval": 0.25, "timeout": 2.0, "healthy": 2, "unhealthy": 2, **config.get("health", {})}
        self.amis = config.get("amis", {})
        self.probe_header = config.get("probe_header", "x-switchyard-route").lower()
        self.history = []           # [(read at, live from, rules)]
        self.groups, self.instances = {}, {}
        self.events, self.probes = [], []
        self.counts = collections.Counter()
        self.target_5xx = collections.deque()
        self.alarm_state = "OK"
        self.rng = random.Random(7)
        self.lock = asyncio.Lock()
        self.lag = 0.0

    def event(self, kind, **details):
        self.events.append({"t": time.time(), "kind": kind, **details})

    # -- reading moto ------------------------------------------------------------------------------------------
    async def ask(self, command):
        """One command to the moto reader process; its answer, or RuntimeError with moto's error."""
        async with self.lock:
            if self.reader is None:
                self.reader = await asyncio.create_subprocess_exec(
                    sys.executable, os.path.join(HERE, "dp_moto.py"), json.dumps(self.config),
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            self.reader.stdin.write((json.dumps(command) + "\n").encode())
            answer = json.loads(await self.reader.stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["ok"]

    async def poll(self, full=False):
        snap = Snapshot(**await self.ask({"op": "read", "full": full}))
        snap.rules = [tuple(rule) for rule in snap.rules]
        snap.registered = {arn: set(ids) for arn, ids in snap.registered.items()}
        self.apply(snap)

    def apply(self, snap):
        now = time.time()
        if not self.history or self.history[-1][2] != snap.rules:
            live = 0.0 if not self.history else snap.at + self.delay
            self.history.append((snap.at, live, snap.rules))
            self.event("rules", read=snap.at, live=live, weights=default_weights(snap.rules))
        for arn in snap.registered:
            group = self.groups.setdefault(arn, Group(arn, classic=arn == self.classic))
            group.name, group.health_path, group.delay = snap.names.get(arn, arn), snap.health_paths.get(arn, "/"), snap.delays[arn]
        for ident, (ami, state, group) in snap.instances.items():
            instance = self.instances.get(ident)
            if state in ALIVE and (instance is None or instance.stopped):
                instance = instance or self.instances.setdefault(ident, Instance(ident, ami))
                self.start(instance)
            if instance is not None and group:
                instance.group = group
        for instance in list(self.instances.values()):
            if instance.gone or instance.stopped:
                continue
            state = snap.instances.get(instance.id, (instance.ami, "gone", ""))[1]
            if state in ("stopping", "stopped"):
                self.stop(instance, now)
            elif state not in ALIVE:
                self.terminated(instance, state, now)
        for arn, ids in snap.registered.items():
            self.registrations(self.groups[arn], ids, now)

    def registrations(self, group, ids, now):
        for ident in ids:
            instance = self.instances.get(ident)
            if instance is None or instance.gone:
                continue  # moto keeps a terminated instance registered; AWS deregistered it when it terminated
            member = group.members.get(ident)
            if member is None or member.state == "draining":
                group.register(ident)
                group.members[ident].stopped = instance.stopped
                self.event("registered", group=group.name, instance=ident)
        lag = self.config.get("deregister_lag", 0.0)
        missing = getattr(self, "missing", None)
        if missing is None:
            missing = self.missing = {}
        for ident in ids:
            missing.pop((group.arn, ident), None)
        for ident, member in list(group.members.items()):
            if ident not in ids and member.state != "draining":
                # Auto Scaling deregisters a detached group's instances after DetachLoadBalancerTargetGroups has
                # answered: with `deregister_lag`, the load balancer keeps a target moto no longer lists (serving, shown
                # as it was) that long before its drain begins, so its delay ends later than the client counted it.
                since = missing.setdefault((group.arn, ident), now)
                if now < since + lag:
                    continue
                missing.pop((group.arn, ident), None)
                until = group.drain(ident, now)
                if ident in group.members:
                    self.event("draining", group=group.name, instance=ident, until=until, why="deregistered")
                else:  # no drain (connection draining off): it leaves now, and what it was answering is cut
                    self.cut(ident, group, "deregistered with no drain")

    def cut(self, ident, group, why):
        """The load balancer closes its connections to the instance: the requests in flight there fail."""
        instance = self.instances.get(ident)
        cut = instance.cut() if instance is not None else 0
        self.event("cut", group=group.name, instance=ident, requests=cut, why=why)

    def start(self, instance):
        instance.stopped, instance.ended_at, instance.port = False, None, None
        for group in self.groups.values():
            if instance.id in group.members:
                group.register(instance.id)
        behaviour = self.amis.get(instance.ami, {})
        asyncio.get_running_loop().create_task(self.spawn(instance, behaviour.get("boot", 0.0), behaviour.get("fail", 0.0),
                                                          behaviour.get("latency", 0.0)))

    async def spawn(self, instance, boot, fail, latency):
        classic = self.groups.get(self.classic)
        health_path = classic.health_path if classic else self.config.get("health_path", "/healthz")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, os.path.join(HERE, "dp_instance.py"), instance.id, instance.ami, "--boot", str(boot),
            "--fail", str(fail), "--latency", str(latency), "--health-path", health_path,
            stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
        instance.proc = proc
        if instance.ended_at is not None:  # terminated while its process was starting
            proc.kill()
            return
        port = int((await proc.stdout.readline()).decode())
        if instance.ended_at is None:
            instance.port = port
        self.event("process", instance=instance.id, ami=instance.ami, pid=proc.pid, port=port, boot=boot, fail=fail, latency=latency)

    def end(self, instance, why):
        instance.ended_at = time.time()
        if instance.proc is not None and instance.proc.returncode is None:
            instance.proc.kill()
        for conn in instance.idle:
            conn.close()
        instance.idle = []
        self.event("process-ended", instance=instance.id, why=why)

    def stop(self, instance, now):
        instance.stopped = True
        for group in self.groups.values():
            if instance.id in group.members:
                group.members[instance.id].stopped = True
        self.end(instance, "stopped")

    def terminated(self, instance, state, now):
        instance.gone = True
        drains = []
        for group in self.groups.values():
            member = group.members.get(instance.id)
            if member is None:
                continue
            if member.state == "draining":
                if member.drain_until > now:
                    self.event("early-termination", group=group.name, instance=instance.id,
                               left=round(member.drain_until - now, 3), state=state)
                continue
            if group.classic:
                # Not deregistered, not drained: the Classic Load Balancer still routes to an instance that is gone.
                self.event("terminated-while-registered", group=group.name, instance=instance.id, state=state,
                           health=member.state)
                continue
            drains.append(group.drain(instance.id, now))
            self.event("draining", group=group.name, instance=instance.id, until=drains[-1], why=f"{state} by Auto Scaling")
        if drains:
            asyncio.get_running_loop().call_later(max(drains) - now, self.end, instance, f"{state}, drained")
        else:
            self.end(instance, state)

    def deleting(self, name, now):
        """An Auto Scaling group is being deleted (called before its effect is read): it must not still have a target
        draining (issue 19: wait until none drains, only then delete the group or scale it to 0)."""
        for group in self.groups.values():
            left = {i: round(m.drain_until - now, 3) for i, m in group.members.items()
                    if m.state == "draining" and m.drain_until > now and self.instances.get(i) and self.instances[i].group == name}
            if left:
                self.event("deleted-while-draining", asg=name, group=group.name, left=left)

    # -- health checks, drains, the alarm ------------------------------------------------------------------------
    def in_use(self):
        if self.classic:
            return {self.classic}
        rules = self.history[-1][2] if self.history else []
        return {arn for _, _, actions in rules for arn in forwarded(actions)}

    async def check(self, group, ident):
        """One health check of one target, as ALB sends it (a new connection, GET the group's path, 200 passes). A
        check whose timer fired late (the data plane itself was starved: an overloaded machine) counts for nothing:
        the target did not fail it, the checker did."""
        instance = self.instances.get(ident)
        timeout, started = self.health["timeout"], time.time()
        try:
            if instance is None or instance.port is None or instance.ended_at is not None:
                raise ConnectionRefusedError()
            conn = await connect(instance.port, timeout)
            try:
                status, _, _ = await conn.send(
                    f"GET {group.health_path} HTTP/1.1\r\nHost: {ident}\r\nConnection: close\r\n\r\n".encode(), timeout)
            finally:
                conn.close()
            ok, why = status == 200, ("Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{status}]")
        except asyncio.TimeoutError:
            late = time.time() - started - timeout
            if late > 0.1:
                self.event("inconclusive-check", group=group.name, instance=ident, late=round(late, 3))
                return
            ok, why = False, ("Target.Timeout", "Request timed out")
        except OSError:
            ok, why = False, ("Target.FailedHealthChecks", "Health checks failed")
        changed = group.checked(ident, ok, why, self.health["healthy"], self.health["unhealthy"])
        if changed:
            self.event("health", group=group.name, instance=ident, state=changed)

    async def housekeeping(self):
        while True:
            now = time.time()
            used = self.in_use()
            checks = []
            for group in self.groups.values():
                for ident in group.drained(now):
                    self.event("drained", group=group.name, instance=ident)
                    if self.instances.get(ident) and self.instances[ident].busy:
                        self.cut(ident, group, "its drain is over")
                if group.arn in used:
                    checks += [self.check(group, i) for i, m in group.members.items() if m.state != "draining" and not m.stopped]
            await asyncio.gather(*checks)
            await self.evaluate_alarm(now)
            await asyncio.sleep(max(0.0, self.health["interval"] - (time.time() - now)))

    async def evaluate_alarm(self, now):
        alarm = self.config.get("alarm")
        if not alarm:
            return
        while self.target_5xx and self.target_5xx[0] < now - alarm["period"]:
            self.target_5xx.popleft()
        count = len(self.target_5xx)
        state = "ALARM" if count > alarm["threshold"] else ("OK" if count == 0 else self.alarm_state)
        if state == self.alarm_state:
            return
        self.alarm_state = state
        reason = (f"Threshold Crossed: {count} target 5XX answers in the last {alarm['period']:g} s "
                  f"(greater than the threshold {alarm['threshold']})")
        self.event("alarm", name=alarm["name"], state=state, count=count)
        await self.ask({"op": "alarm", "name": alarm["name"], "state": state, "reason": reason})

    async def watch_lag(self):
        """How late the event loop wakes up: a starved data plane (an overloaded machine) shows here, so that a
        report can tell the harness's stalls from the binary's failures."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            lag = time.monotonic() - before - 0.05
            self.lag = max(self.lag, lag)
            if lag > 0.25:
                self.event("stall", seconds=round(lag, 3))

    async def polling(self):
        while True:
            await asyncio.sleep(self.config.get("poll", 2.0))
            try:
                await self.poll()
            except Exception as error:  # a moto hiccup: the next read will do
                self.event("read-failed", error=str(error)[:200])

    # -- the load balancer -------------------------------------------------------------------------------------
    async def control(self, first, headers):
        _, target = first.split(" ", 2)[:2]
        path, _, query = target.partition("?")
        args = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        if path == "/sync":
            if args.get("deleted"):
                self.deleting(args["deleted"], time.time())
            await self.poll(full=args.get("full") == "1")
            return {"at": time.time()}
        if path == "/health":
            group = self.groups.get(args.get("tg", ""))
            return {"known": group is not None, "classic": bool(group and group.classic),
                    "targets": group.view(group.arn in self.in_use()) if group else []}
        if path == "/kill":
            instance = self.instances[args["id"]]
            instance.proc.kill()
            self.event("killed-by-test", instance=instance.id)
            return {"killed": instance.id}
        if path == "/history":
            return {"history": [{"read": r, "live": lv, "rules": rules} for r, lv, rules in self.history], "now": time.time()}
        if path == "/events":
            since = int(args.get("since", "0"))
            return {"events": self.events[since:], "next": len(self.events)}
        if path == "/view":
            return {"history": [{"read": r, "live": lv, "rules": rules} for r, lv, rules in self.history],
                    "events": self.events, "probes": self.probes, "counts": self.counts, "delay": self.delay, "lag": self.lag,
                    "groups": {g.arn: {"name": g.name, "delay": g.delay, "classic": g.classic} for g in self.groups.values()},
                    "instances": {i.id: {"ami": i.ami, "port": i.port, "gone": i.gone, "ended": i.ended_at,
                                         "pid": i.proc.pid if i.proc else None} for i in self.instances.values()}}
        return {"error": f"unknown path {path}"}

    async def shutdown(self):
        procs = [i.proc for i in self.instances.values() if i.proc is not None] + ([self.reader] if self.reader else [])
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
        await asyncio.gather(*(p.wait() for p in procs))


def default_weights(rules):
    return forwarded(rules[-1][2]) if rules else {}


async def main(config):
    plane = Plane(config)
    loop = asyncio.get_running_loop()
    await plane.poll()

    async def answer(first, headers):
        try:
            return response(200, "OK", json.dumps(await plane.control(first, headers)).encode(), {"Content-Type": "application/json"})
        except Exception as error:
            return response(500, "Error", json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())

    def control(first, headers):
        return asyncio.ensure_future(answer(first, headers))

    lb = await loop.create_server(lambda: Front(plane.serve), "127.0.0.1", config.get("lb_port", 0), reuse_address=True)
    ctl = await loop.create_server(lambda: Front(control), "127.0.0.1", 0)
    tasks = [loop.create_task(plane.housekeeping()), loop.create_task(plane.polling()), loop.create_task(plane.watch_lag())]
    print(json.dumps({"lb": lb.sockets[0].getsockname()[1], "control": ctl.sockets[0].getsockname()[1]}), flush=True)
    try:
        await loop.run_in_executor(None, sys.stdin.read)  # runs until the test closes our stdin (or dies)
    finally:
        for task in tasks:
            task.cancel()
        await plane.shutdown()


if __name__ == "__main__":
    from dp_http import die_with_parent
    die_with_parent()
    asyncio.run(main(json.loads(sys.argv[1])))
