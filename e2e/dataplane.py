"""An ALB-like data plane for the e2e suite (a Classic Load Balancer in a Classic world), on 127.0.0.1: what moto
lacks (AWS-EMULATOR.md, "No data plane").

    dp = DataPlane(moto_url, world, propagation=3.0, amis={world["new_ami"]: {"fail": 0.3, "boot": 0}},
                   alarm={"name": "svc-5xx", "threshold": 10, "period": 1.0}, lb_port=None,
                   health={"interval": 0.25, "timeout": 2.0, "healthy": 2, "unhealthy": 2}, poll=2.0)
    dp.attach(proxy)            # the binary's DescribeTargetHealth is answered from the data plane; every write it
                                # makes through the proxy is seen by the data plane before the binary hears back
                                # (the `dataplane` fixture attaches it to `validator`, the proxy of every run)
    dp.url                      # the load balancer: http://127.0.0.1:PORT (pass lb_port to fix it in advance)
    dp.sync()                   # read moto now (after a by-hand change that did not pass the proxy)
    dp.health(tg_arn)           # [{"id", "state", "reason", "description"}], as DescribeTargetHealth lists them
                                # (a Classic world: dp.health(clb_name), each also with "classic": {"State",
                                # "ReasonCode", "Description"} as DescribeInstanceHealth lists it)
    dp.history()                # [{"read", "live", "rules"}]: each listener state, when read, from when it routes
    dp.events(since)            # ([{"t", "kind", ...}], next index): rules, registered, health, draining, drained,
                                # process, process-ended, early-termination, deleted-while-draining, alarm, stall,
                                # inconclusive-check, cut, terminated-while-registered
    dp.view()                   # all of it, plus "probes" (requests with the test-route header), "counts",
                                # "instances", "groups" ({arn: {"name", "delay"}}), "lag" (the loop's worst delay)
    dp.kill(instance_id)        # SIGKILL the instance's process (moto still shows it running)
    load = Load(dp.url, rate=300); ...; result = load.stop()      # open loop; result.records (Record), .failures(),
                                # .steps(view, green_ami), .text(view, green_ami, title), .rate, .sent
    dp.close()

A world with a Classic Load Balancer (world["clb_name"], seed-world --shared-clb) gets a data plane whose load
balancer is that Classic one, as AWS's Classic guide has it: it routes to the registered instances that are InService
(healthy by its health check, never failing open), a new registration is OutOfService until it passes its checks, a
deregistered instance gets no new request and finishes its in-flight ones for the connection-draining timeout (listed
InService "Instance deregistration currently in progress." meanwhile), with draining off its in-flight requests are
cut, and an instance terminated while still registered fails its requests. DescribeInstanceHealth is answered from
it as DescribeTargetHealth is; the listener is not read. Per-AMI `latency` (seconds an application request takes)
keeps requests in flight at the instances, so a cut shows as failed requests. `answer_health=False` leaves the
binary moto's own health answers (a registration healthy at once, a deregistration gone at once, no drain): the
harness's proof that a run trusting them fails requests.

Requests are judged by `Record.routed`, when the load balancer routed them. Failure causes: `no-target TG` (503: the
chosen group had no routable target), `dead-target TG` (502: the target refused or dropped the connection), `cut TG`
(502: the load balancer closed the connection under the request: a drain over, or no drain), `target-timeout TG`
(504), `target AMI` (the instance itself answered 5XX), and the harness's own `connect`/`timeout` (the load balancer
did not answer: an overloaded machine). Pieces (each a process: dp_server.py with dp_balancer.py
and dp_targets.py is the load balancer and health checker, dp_moto.py its moto reader, dp_instance.py one EC2
instance, dp_loadgen.py the load generator) and their rules are described in those files. Times are epoch seconds of
this machine's clock, the same in every process. Issue 19's scenarios on top of it are in underload.py."""
import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dp_moto import forwarded  # noqa: E402
from dp_targets import CLASSIC  # noqa: E402

READS = ("Describe", "Get", "List")
# Writes that change a target group's or a Classic Load Balancer's settings (its delay, its health check's path).
FULL_READ = ("ModifyTargetGroup", "ModifyLoadBalancerAttributes", "ConfigureHealthCheck")
WRITTEN_BY_THE_BINARY = ("elasticloadbalancing", "autoscaling", "ec2")
# Writes that change nothing the data plane models (tags, launch templates, scaling settings): no read after them.
UNSEEN = re.compile(r".*Tags$|.*LaunchTemplate.*|Put.*|(Suspend|Resume)Processes|(Enable|Disable)MetricsCollection|"
                    r"Delete(Policy|ScheduledAction|LifecycleHook|WarmPool)|.*SecurityGroup.*")


class DataPlane:
    def __init__(self, moto_url, world, propagation=3.0, amis=None, alarm=None, lb_port=None, poll=2.0, health=None,
                 deregister_lag=0.0, answer_health=True):
        self.classic = world.get("clb_name")  # the routing source: this Classic Load Balancer, else the listener
        config = {"endpoint": moto_url, "region": world.get("region", "us-east-1"), "listener_arn": world["listener_arn"],
                  "target_groups": [] if self.classic else world["target_group_arns"], "vpc_id": world["vpc_id"],
                  "propagation": propagation, "amis": amis or {}, "alarm": alarm, "lb_port": lb_port or 0, "poll": poll,
                  "health": health or {}, "deregister_lag": deregister_lag, "classic": self.classic}
        self.answer_health = answer_health
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "dp_server.py"), json.dumps(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the data plane did not start (exit {self.proc.wait()})")
        ports = json.loads(line)
        self.url = f"http://127.0.0.1:{ports['lb']}"
        self.control = f"http://127.0.0.1:{ports['control']}"
        self.propagation, self.world = propagation, world
        self.errors = []    # what went wrong between the proxy and the data plane (the fixture fails the test on it)

    def _get(self, path, timeout=30):
        with urllib.request.urlopen(self.control + path, timeout=timeout) as r:
            return json.loads(r.read())

    def sync(self, full=False, deleted=""):
        """Reads moto now (and applies what it shows); `full` also re-reads the target groups' settings; `deleted`
        names an Auto Scaling group just deleted, whose targets must not have been draining still."""
        query = urllib.parse.urlencode({k: v for k, v in (("full", "1" if full else ""), ("deleted", deleted)) if v})
        return self._get("/sync" + (f"?{query}" if query else ""))

    def health(self, target_group):
        return self._get("/health?tg=" + urllib.parse.quote(target_group, safe=""))["targets"]

    def view(self):
        return self._get("/view")

    def history(self):
        """The listener's rules as read, each with when it was read and from when the load balancer routes by it."""
        return self._get("/history")["history"]

    def events(self, since=0):
        """The events from index `since` on, and the index to ask from next time."""
        answer = self._get(f"/events?since={since}")
        return answer["events"], answer["next"]

    def kill(self, instance):
        return self._get("/kill?id=" + instance)

    def wait(self, condition, timeout=20, what="the data plane"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def pools(self):
        """What the load balancer routes to: the world's target groups, or its Classic Load Balancer."""
        return [self.classic] if self.classic else list(self.world["target_group_arns"])

    def wait_serving(self, timeout=20):
        """Until every registration of the world's target groups (or Classic Load Balancer) is healthy (none initial)."""
        return self.wait(lambda: all(t["state"] == "healthy" for pool in self.pools() for t in self.health(pool)),
                         timeout, "the world's targets to be healthy")

    def attach(self, proxy):
        if self.answer_health:
            proxy.answer("DescribeTargetHealth", self._target_health)
            proxy.answer("DescribeInstanceHealth", self._instance_health)
        proxy.after_forward(self._after)

    def _after(self, record):
        if self.proc.poll() is not None:
            return  # closed: a run left over from the test talks to moto alone
        if record.service in WRITTEN_BY_THE_BINARY and not record.action.startswith(READS) and not UNSEEN.fullmatch(record.action):
            try:
                deleted = urllib.parse.parse_qs(record.body.decode()).get("AutoScalingGroupName", [""])[0] \
                    if record.action == "DeleteAutoScalingGroup" else ""
                self.sync(full=record.action.startswith(FULL_READ), deleted=deleted)
            except OSError as error:  # the next periodic read catches up; the test hears of it at teardown
                self.errors.append(f"sync after request {record.n} ({record.action}): {error}")

    def _target_health(self, record, moto_body):
        form = urllib.parse.parse_qs(record.body.decode())
        arn = form.get("TargetGroupArn", [""])[0]
        if self.proc.poll() is not None:
            return moto_body
        try:
            answer = self._get("/health?tg=" + urllib.parse.quote(arn, safe=""))
        except OSError as error:
            self.errors.append(f"target health for request {record.n}: {error} (moto's answer was passed on)")
            return moto_body
        asked = [v[0] for k, v in sorted(form.items()) if re.fullmatch(r"Targets\.member\.\d+\.Id", k)]
        if not answer.get("known"):
            return moto_body
        targets = answer["targets"]
        if asked:
            by_id = {t["id"]: t for t in targets}
            targets = [by_id.get(i, {"id": i, "state": "unused", "reason": "Target.NotRegistered",
                                     "description": "Target is not registered to the target group"}) for i in asked]
        request_id = re.search(rb"<RequestId>([^<]*)</RequestId>", moto_body)
        return target_health_xml(targets, request_id.group(1).decode() if request_id else "dataplane")

    def _instance_health(self, record, moto_body):
        """DescribeInstanceHealth of the world's Classic Load Balancer, from the data plane: the registered instances
        (with no Instances list), or each instance asked for (one not registered: OutOfService, "not currently
        registered")."""
        form = urllib.parse.parse_qs(record.body.decode())
        if self.proc.poll() is not None or form.get("LoadBalancerName", [""])[0] != self.classic:
            return moto_body
        try:
            answer = self._get("/health?tg=" + urllib.parse.quote(self.classic, safe=""))
        except OSError as error:
            self.errors.append(f"instance health for request {record.n}: {error} (moto's answer was passed on)")
            return moto_body
        if not answer.get("known"):
            return moto_body
        states = [{"InstanceId": t["id"], **t["classic"]} for t in answer["targets"]]
        asked = [v[0] for k, v in sorted(form.items(), key=lambda kv: member_index(kv[0]))
                 if re.fullmatch(r"Instances\.member\.\d+\.InstanceId", k)]
        if asked:
            by_id = {s["InstanceId"]: s for s in states}
            unregistered = dict(zip(("State", "ReasonCode", "Description"), CLASSIC["unregistered"]))
            states = [by_id.get(i, {"InstanceId": i, **unregistered}) for i in asked]
        request_id = re.search(rb"<RequestId>([^<]*)</RequestId>", moto_body)
        return instance_health_xml(states, request_id.group(1).decode() if request_id else "dataplane")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its instances and reader too (their own session)
                self.proc.wait()


def member_index(key):
    """A query list member's position (Instances.member.10 after .9), for keys of that shape; else its text."""
    match = re.search(r"\.member\.(\d+)", key)
    return (int(match.group(1)), key) if match else (0, key)


def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def instance_health_xml(states, request_id):
    """A DescribeInstanceHealth answer in the shape the Classic API (2012-06-01) sends: InstanceStates of InstanceId,
    State, ReasonCode, Description."""
    members = "".join(f"<member><Description>{esc(s['Description'])}</Description><InstanceId>{esc(s['InstanceId'])}</InstanceId>"
                      f"<State>{esc(s['State'])}</State><ReasonCode>{esc(s['ReasonCode'])}</ReasonCode></member>" for s in states)
    return (f'<DescribeInstanceHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/">'
            f"<DescribeInstanceHealthResult><InstanceStates>{members}</InstanceStates></DescribeInstanceHealthResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></DescribeInstanceHealthResponse>").encode()


def target_health_xml(targets, request_id):
    """A DescribeTargetHealth answer in the shape ELBv2 sends (botocore's model: TargetHealthDescriptions of Target,
    HealthCheckPort, TargetHealth with State, Reason, Description)."""
    members = []
    for t in targets:
        health = f"<State>{t['state']}</State>"
        if t.get("reason"):
            health += f"<Reason>{esc(t['reason'])}</Reason><Description>{esc(t.get('description', ''))}</Description>"
        members.append(f"<member><Target><Id>{esc(t['id'])}</Id><Port>80</Port></Target><HealthCheckPort>80</HealthCheckPort>"
                       f"<TargetHealth>{health}</TargetHealth></member>")
    return (f'<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">'
            f"<DescribeTargetHealthResult><TargetHealthDescriptions>{''.join(members)}</TargetHealthDescriptions>"
            f"</DescribeTargetHealthResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</DescribeTargetHealthResponse>").encode()


class Load:
    """The open-loop load generator (dp_loadgen.py) against `url`, from now until stop()."""

    def __init__(self, url, rate=300):
        self.out = tempfile.NamedTemporaryFile(prefix="dp-load-", suffix=".json", delete=False).name
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "dp_loadgen.py"), url + "/", "--rate", str(rate),
                                      "--out", self.out], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()
        self.stopped = False

    def stop(self):
        self.stopped = True
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        with open(self.out) as f:
            data = json.load(f)
        os.unlink(self.out)
        return LoadResult(data)


# One request: when it was sent, how late against its schedule, how long it took, the status (0: no answer), the AMI
# and instance that answered, the cause of a failure (dp_loadgen.py), where (the target group of the load balancer's
# own answer) and when the load balancer routed it (its own clock, the same as ours; = sent when it never did).
Record = collections.namedtuple("Record", "sent lateness latency status ami cause where instance routed")


class LoadResult:
    """Every request the load generator sent, as Records."""

    def __init__(self, data):
        names = data["names"]
        self.start, self.end, self.target_rate, self.cpu = data["start"], data["end"], data["rate"], data["cpu"]
        self.records = [Record(s, late, lat, status, names[a], names[c], names[w], names[i], routed or s)
                        for s, late, lat, status, a, c, w, i, routed in data["records"]]

    @property
    def sent(self):
        return len(self.records)

    @property
    def rate(self):
        return self.sent / max(1e-9, self.end - self.start)

    def lateness(self, quantile=0.99):
        values = sorted(r.lateness for r in self.records)
        return values[min(len(values) - 1, int(quantile * len(values)))] if values else 0.0

    def failures(self, since=None, until=None):
        """Failed requests by cause: "no-target a-tg", "dead-target a-tg", "target ami-…", "timeout", "connect"."""
        out = collections.Counter()
        for r in self.records:
            if r.status == 200 or (since is not None and r.sent < since) or (until is not None and r.sent >= until):
                continue
            out[f"{r.cause} {r.ami or r.where}".strip()] += 1
        return out

    def steps(self, view, green_ami):
        """Each stretch of time the default action's weights were live at the load balancer: from, until, weights
        by target-group name, requests answered, and the share of them green's AMI answered (requests counted by when
        the load balancer routed them)."""
        names = {arn: g["name"] for arn, g in view["groups"].items()}
        stretches = []
        for entry in view["history"]:
            weights = {names.get(arn, arn): w for arn, w in forwarded(entry["rules"][-1][2]).items()} if entry["rules"] else {}
            if stretches and stretches[-1]["weights"] == weights:
                continue
            stretches.append({"from": max(entry["live"], self.start), "written": entry["read"], "weights": weights})
        for this, after in zip(stretches, stretches[1:] + [None]):
            this["until"] = after["from"] if after else self.end
            this["next_written"] = after["written"] if after else None
            # by when the load balancer routed it: a request sent just before a change but routed after it went by it
            answered = [r for r in self.records if this["from"] <= r.routed < this["until"] and r.ami]
            this["requests"] = len(answered)
            this["green_share"] = sum(1 for r in answered if r.ami == green_ami) / len(answered) if answered else None
        return [s for s in stretches if s["until"] > s["from"]]

    def text(self, view, green_ami, title=""):
        lines = [f"{title}: {self.sent} requests in {self.end - self.start:.1f} s, achieved {self.rate:.0f}/s "
                 f"(asked {self.target_rate:g}/s, p99 send lateness {self.lateness() * 1000:.0f} ms, load generator "
                 f"CPU {self.cpu:.1f} s)"]
        failed = self.failures()
        lines.append("failed: " + (", ".join(f"{n} {cause}" for cause, n in sorted(failed.items())) or "none"))
        for cause in sorted(failed):
            times = [r.sent - self.start for r in self.records if r.status != 200 and f"{r.cause} {r.ami or r.where}".strip() == cause]
            lines.append(f"  {cause}: sent {min(times):.2f}s–{max(times):.2f}s")
        for step in self.steps(view, green_ami):
            weights = "/".join(f"{k}={v}" for k, v in sorted(step["weights"].items()))
            share = "-" if step["green_share"] is None else f"{100 * step['green_share']:.1f}%"
            lines.append(f"  {step['from'] - self.start:6.1f}s–{step['until'] - self.start:6.1f}s  {weights:<16} "
                         f"{step['requests']:>6} answered, green {share}")
        return "\n".join(lines)
