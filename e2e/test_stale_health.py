"""A health read that still says healthy after the instance failed, through the real binary (`traffic.shared`), in
the target-group world and behind a Classic Load Balancer.

A shared step gives up blue only once green's count is healthy at the load balancer on two looks in a row, a look
every `checks.interval`; a rollback lets green leave only once blue's start count is healthy on two looks. The
two-look rule is there because AWS's health reads lag a failure (faults.HealthyAfterFailure: UnhealthyThresholdCount
checks before a target reads unhealthy, and eventually consistent reads). Here the instance that has just come up is
made to fail in moto itself, at the moment moto answered the scale request that brought it up and before the binary
heard that answer (an after_forward hook of the proxy), and the proxy's health fault makes exactly the next health
answer say it is healthy: the next look is one stale look, the one after it reads moto's truth. How it fails: its EC2
instance is stopped (the target group answers it `unused`, Target.InvalidState; the Classic Load Balancer
`OutOfService`; its Auto Scaling group still lists it InService and Healthy) and started again after two truthful
answers, or it is deregistered from the target group (no longer listed; InService in its group) and the binary's own
RegisterTargets brings it back.

The truth is moto's, never the proxy's: `Truth` samples both fleets' truly healthy counts from a thread, and reads them
again right after every removal the binary sent reached moto (from the proxy's after_forward hook, before the binary
hears the answer), which is when a removal made too early shows: blue taken while green has no truly healthy
instance, green taken while blue is short of its start, the healthy total below the start's four.
`test_the_checker_catches_a_deregistration_made_on_stale_looks` proves the checker has teeth: with the fault lasting two
answers (two stale looks in a row, beyond what the rule promises), blue's surplus is deregistered while green is down,
and the checker must say so."""
import threading
import time
import urllib.parse

import pytest

from test_rollback import green_name, shown, start

# One look a second: the hook acts between a look's answer and the next look with a second to spare, on a loaded
# 2-core machine too (it acts inside the proxy, before the binary hears the answer, so it is never late).
SHARED = dict(shared=True, desired=4, steps="25,100", bake="0s", interval="1s")
SHARED_CLB = {**{k: v for k, v in SHARED.items() if k != "shared"}, "shared_clb": True}
START = 4
# Truthful health answers the stopped instance gets before the test starts it again.
TRUTHFUL_LOOKS = 2
WORLDS = [pytest.param("target-group", marks=pytest.mark.world(**SHARED), id="target-group"),
          pytest.param("classic", marks=pytest.mark.world(**SHARED_CLB), id="classic")]


class Pool:
    """The shared pool of a world in its own API: a target group (ELBv2) or a Classic Load Balancer."""

    def __init__(self, world):
        self.world = world
        self.classic = bool(world.get("clb_name")) and f"load_balancer_name: {world['clb_name']}" in open(world["file"]).read()
        self.tg = world["target_group_arns"][0]
        self.name = world["clb_name"] if self.classic else self.tg
        self.health_action = "DescribeInstanceHealth" if self.classic else "DescribeTargetHealth"
        self.deregister_action = "DeregisterInstancesFromLoadBalancer" if self.classic else "DeregisterTargets"
        self.register_action = "RegisterInstancesWithLoadBalancer" if self.classic else "RegisterTargets"
        # What the binary calls a stopped instance in its trail: unused (Target.InvalidState), or OutOfService.
        self.stopped_reads = "unhealthy" if self.classic else "unused"

    def serving(self, aws):
        """The instances the pool serves, as moto has them: healthy targets, or InService instances."""
        if self.classic:
            states = aws.clb.describe_instance_health(LoadBalancerName=self.name)["InstanceStates"]
            return {i["InstanceId"] for i in states if i["State"] == "InService"}
        health = aws.elb.describe_target_health(TargetGroupArn=self.tg)["TargetHealthDescriptions"]
        return {t["Target"]["Id"] for t in health if t["TargetHealth"]["State"] == "healthy"}

    def is_health_read(self, record, form):
        key = "LoadBalancerName" if self.classic else "TargetGroupArn"
        return record.action == self.health_action and form.get(key) == self.name

    def fault(self, proxy, instances, answers):
        pool = {"load_balancer": self.name} if self.classic else {"target_group": self.tg}
        return proxy.healthy_after_failure(instances, answers=answers, **pool)

    def deregister(self, aws, instance):
        if self.classic:
            aws.clb.deregister_instances_from_load_balancer(LoadBalancerName=self.name, Instances=[{"InstanceId": instance}])
        else:
            aws.elb.deregister_targets(TargetGroupArn=self.tg, Targets=[{"Id": instance}])


def form_of(record):
    return {k: v[0] for k, v in urllib.parse.parse_qs(record.body.decode("utf-8", "replace")).items()}


def members(aws, name):
    """The instance ids of a group as moto lists them (none when it is gone)."""
    found = aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return {i["InstanceId"] for i in found[0]["Instances"]} if found else set()


class Truth:
    """Moto's truth while a release runs: every distinct (blue, green) truly healthy pair (InService in its group and
    healthy in the shared target group, or InService on the Classic Load Balancer, moto read directly), sampled every ~10 ms, and right after each removal
    reached moto, the pair it left. `violations` lists the removals that broke the invariant: blue's instance taken
    (deregistered, terminated, scaled in) while green had no truly healthy instance, green's while blue had fewer than
    `start` truly healthy, or any removal that left fewer than `start` truly healthy in all. The test decides what to
    expect of it; nothing here fails a test by itself."""

    REMOVALS = ("DeregisterTargets", "DetachLoadBalancerTargetGroups", "DeregisterInstancesFromLoadBalancer",
                "DetachLoadBalancers", "TerminateInstanceInAutoScalingGroup", "UpdateAutoScalingGroup",
                "SetDesiredCapacity", "DeleteAutoScalingGroup")

    def __init__(self, aws, world, start=START):
        self.aws, self.world, self.start, self.pool = aws, world, start, Pool(world)
        self.green = None          # green's group name, from the binary's CreateAutoScalingGroup
        self.desired = {world["blue_asg"]: start}   # each group's desired capacity as the binary last set it
        self.ever = {world["blue_asg"]: members(aws, world["blue_asg"])}  # every instance each group was seen with
        self.seen = []             # distinct (blue, green) truly healthy pairs, in order
        self.removals = []         # (request n, action, "blue" or "green", subject, (blue, green) right after it)
        self.violations = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def counts(self):
        """(blue, green) truly healthy now; the pool is read first, so an instance that leaves between the two reads
        is not counted."""
        healthy = self.pool.serving(self.aws)
        names = [self.world["blue_asg"], self.green]
        groups = {g["AutoScalingGroupName"]: g for g in self.aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=names)["AutoScalingGroups"]}
        pair = []
        for name in names:
            instances = (groups.get(name) or {}).get("Instances", [])
            with self.lock:
                self.ever.setdefault(name, set()).update(i["InstanceId"] for i in instances)
            pair.append(sum(1 for i in instances if i["LifecycleState"] == "InService" and i["InstanceId"] in healthy))
        return tuple(pair)

    def _run(self):
        while not self._stop.is_set():
            if self.green:
                try:
                    pair = self.counts()
                except Exception:  # a read racing a deletion: the next one counts
                    pair = None
                if pair:
                    with self.lock:
                        if not self.seen or self.seen[-1] != pair:
                            self.seen.append(pair)
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        return self.seen

    def _owner(self, instances):
        blue, green = self.world["blue_asg"], self.green
        with self.lock:
            known = {name: set(ids) for name, ids in self.ever.items()}
        for name in (blue, green):
            known.setdefault(name, set()).update(members(self.aws, name))
        return {name for name in (blue, green) if instances & known[name]}

    def after_forward(self, record):
        """The proxy's hook: learns green's name, and reads moto right after each removal (before the binary hears
        that it was done)."""
        form = form_of(record)
        action, group = record.action, form.get("AutoScalingGroupName")
        if action == "CreateAutoScalingGroup" and (group or "").startswith(f"switchyard-{self.world['service']}-"):
            self.green = group
            self.desired[group] = int(form.get("DesiredCapacity", "0"))
            return
        if not self.green or action not in self.REMOVALS:
            return
        named = {v for k, v in form.items() if k.endswith((".Id", ".InstanceId")) or k == "InstanceId"}
        if action in ("UpdateAutoScalingGroup", "SetDesiredCapacity"):
            if "DesiredCapacity" not in form:
                return
            before, after = self.desired.get(group), int(form["DesiredCapacity"])
            self.desired[group] = after
            if before is None or after >= before:
                return  # a scale-out takes nothing
        owners = {group} if group else self._owner(named)
        if action == "TerminateInstanceInAutoScalingGroup" and form.get("ShouldDecrementDesiredCapacity") == "true":
            for owner in owners:
                self.desired[owner] = self.desired.get(owner, 1) - 1
        of_blue, of_green = self.world["blue_asg"] in owners, self.green in owners
        if not (of_blue or of_green):
            return
        blue, green = self.counts()
        fleet = "blue" if of_blue else "green"
        subject = group or ",".join(sorted(named))
        with self.lock:
            self.removals.append((record.n, action, fleet, subject, (blue, green)))
            self.seen.append((blue, green))
        problems = []
        if of_blue and green == 0:
            problems.append("green had no truly healthy instance")
        if of_green and blue < self.start:
            problems.append(f"blue had {blue} truly healthy, fewer than its {self.start} at the start")
        if blue + green < self.start:
            problems.append(f"it left {blue} blue + {green} green truly healthy, fewer than the start's {self.start}")
        if problems:
            with self.lock:
                self.violations.append(f"request {record.n} ({action} of {fleet} {subject}): " + "; ".join(problems))


class FailWhenItComesUp:
    """When the binary's scale request that brings one instance up (as `pick(record)` says) has reached moto, before
    the binary hears the answer, that instance fails in moto and the proxy's health fault is switched on for
    `answers` answers, so the next look reads it healthy. How it fails (`how`):
    - "stop": its EC2 instance is stopped. The target group answers it `unused` (Target.InvalidState, "Target is in
      the stopped state"), a Classic Load Balancer `OutOfService`; its group still lists it InService and Healthy.
      After TRUTHFUL_LOOKS health answers the fault did not take, the test starts it again (healthy in moto again).
    - "deregister": it is deregistered from the pool (no longer listed there; InService in its group). The binary's
      own registration of it is what restores it."""

    def __init__(self, proxy, aws, world, pick, answers=1, known=(), how="stop"):
        self.proxy, self.aws, self.world, self.pick, self.answers, self.how = proxy, aws, world, pick, answers, how
        self.pool = Pool(world)
        self.known = set(known)   # instances of the group before the scale-out (its new one is the one not in it)
        self.instance = self.fault = None
        self.failed_at = self.restored_at = None
        self.truthful = []        # health answers after the fault's, the instance as moto had it (before it was restored)
        self.restored_by = None   # the request after (stop) or by (deregister) which it was healthy in moto again
        self.skipped = []         # (request n, new instances) of picked requests that were not the one

    def after_forward(self, record):
        if self.fault is None:
            group = self.pick(record)
            if group is None:
                return
            new = sorted(members(self.aws, group) - self.known)
            if len(new) != 1:  # not the scale-out that brings one instance up
                self.skipped.append((record.n, new))
                return
            self.instance = new[0]
            if self.how == "stop":
                self.aws.ec2.stop_instances(InstanceIds=[self.instance])
            else:
                self.pool.deregister(self.aws, self.instance)
            self.failed_at = time.time()
            self.fault = self.pool.fault(self.proxy, [self.instance], self.answers)
            return
        if self.restored_at:
            return
        form = form_of(record)
        if record.action == self.pool.register_action and self.how == "deregister" and self.instance in form.values():
            self.restored_at, self.restored_by = time.time(), record.n
            return
        if not self.pool.is_health_read(record, form):
            return
        if self.fault.left > 0 and self.fault.concerns(record):
            return  # the fault takes this answer (it rewrites answers after the hooks have run)
        self.truthful.append(record.n)
        if self.how == "stop" and len(self.truthful) >= TRUTHFUL_LOOKS:
            self.aws.ec2.start_instances(InstanceIds=[self.instance])
            self.restored_at, self.restored_by = time.time(), record.n


def scale_out_of(world, desired):
    """pick for FailWhenItComesUp: the binary's first UpdateAutoScalingGroup of green's group to `desired`."""
    def pick(record):
        form = form_of(record)
        name = form.get("AutoScalingGroupName", "")
        if record.action == "UpdateAutoScalingGroup" and name.startswith(f"switchyard-{world['service']}-") and form.get("DesiredCapacity") == str(desired):
            return name
        return None
    return pick


def scale_back_of(world, desired):
    """pick: the binary's UpdateAutoScalingGroup of blue's group back to `desired` (a rollback's restore)."""
    def pick(record):
        form = form_of(record)
        if record.action == "UpdateAutoScalingGroup" and form.get("AutoScalingGroupName") == world["blue_asg"] and form.get("DesiredCapacity") == str(desired):
            return world["blue_asg"]
        return None
    return pick


def guarded(hook, errors):
    """A proxy hook whose exception is kept for the test (raised in the proxy's thread, it would cost the binary its
    answer) instead of raised."""
    def run(record):
        try:
            hook(record)
        except Exception as error:  # noqa: BLE001 - any of them fails the test at its end
            errors.append(f"request {record.n} ({record.action}): {error!r}")
    return run


def run_release(switchyard, world, aws, proxy, failer):
    truth = Truth(aws, world)
    truth.errors = []
    proxy.after_forward(guarded(truth.after_forward, truth.errors))
    proxy.after_forward(guarded(failer.after_forward, truth.errors))
    began = time.time()
    run = start(switchyard, world, env={"AWS_ENDPOINT_URL": proxy.url})
    code, _, err = run.finish(timeout=120)
    truth.stop()
    assert truth.errors == [], truth.errors
    return run, code, err, truth, time.time() - began


def events(switchyard, deployment):
    return [e["message"] for e in shown(switchyard, deployment)["events"]]


def assert_the_fault_fed_the_looks(proxy, failer, answers):
    """The fault took `answers` health answers, each of them rewritten (moto had the instance down), all after the
    instance failed; the instance was healthy in moto again only after truthful answers. (That a look acted on a
    rewritten answer, each test reads in the binary's trail: a count healthy on a look that moto never had.)"""
    assert failer.fault is not None, "the scale-out was never seen: the test tested nothing"
    assert len(failer.fault.answered) == answers and failer.fault.rewritten == failer.fault.answered, (failer.fault.answered, failer.fault.rewritten)
    for n in failer.fault.answered:
        r = proxy.requests[n - 1]
        assert r.action == failer.pool.health_action and r.at > failer.failed_at, (n, r.action)
    assert failer.restored_at and len(failer.truthful) >= (TRUTHFUL_LOOKS if failer.how == "stop" else 1), failer.truthful
    assert not set(failer.truthful) & set(failer.fault.answered), (failer.truthful, failer.fault.answered)


@pytest.mark.slow(20)
@pytest.mark.parametrize("pool", WORLDS)
def test_one_stale_healthy_look_of_a_failed_green_instance_gives_nothing_of_blue_away(pool, world, switchyard, aws, proxy):
    """Green's first instance fails the moment it comes up and the next look still reads it healthy: blue gives
    nothing up on that look, the look after it finds green down and waits, and only once the instance is truly
    healthy again on two looks is blue's surplus deregistered. The total of truly healthy instances never falls below
    the start's four, and the release completes. The proxy's removal guard (faults.RemovalGuard) watches as well."""
    proxy.guard_removals()
    failer = FailWhenItComesUp(proxy, aws, world, scale_out_of(world, 1))
    run, code, err, truth, took = run_release(switchyard, world, aws, proxy, failer)
    assert code == 0, err
    assert failer.pool.classic == (pool == "classic")
    messages = events(switchyard, run.id)
    assert_the_fault_fed_the_looks(proxy, failer, answers=1)
    step = [m for m in messages if m.startswith("toward 25% green")]
    stale = next(i for i, m in enumerate(step) if "green's 1 healthy on this look; blue gives nothing up before the next look finds them too" in m)
    down = next(i for i, m in enumerate(step) if i > stale and f"waiting for green ({failer.instance} InService/{failer.pool.stopped_reads})" in m)
    deregistered = next(i for i, m in enumerate(step) if "deregistered, to drain" in m)
    assert stale < down < deregistered, step
    # No blue instance left the pool before green was truly healthy again on two looks.
    deregisters = [r for r in proxy.forwarded() if r.action == failer.pool.deregister_action]
    assert deregisters and all(r.n > failer.restored_by for r in deregisters), (failer.restored_by, [r.n for r in deregisters])
    looks_after = [r.n for r in proxy.forwarded() if r.action == failer.pool.health_action and failer.restored_by < r.n < deregisters[0].n]
    assert len(looks_after) >= 2, f"blue was deregistered at request {deregisters[0].n} after {looks_after} healthy looks"
    assert truth.removals, "the checker saw no removal: it checked nothing"
    assert truth.violations == [], truth.violations
    assert all(b + g >= START for b, g in truth.seen), f"the truly healthy total fell below {START}: {truth.seen}"
    assert (START, 0) in truth.seen and truth.seen[-1] == (0, START), truth.seen
    assert truth.counts() == (0, START)
    print(f"[{pool}] release took {took:.1f}s; fault answered {failer.fault.answered}, truthful {failer.truthful}, "
          f"restarted after request {failer.restored_by}; removals {truth.removals}")
    print("\n".join(step))


@pytest.mark.slow(20)
@pytest.mark.parametrize("pool", WORLDS)
def test_the_checker_catches_a_deregistration_made_on_stale_looks(pool, world, switchyard, aws, proxy):
    """The checker's self-test: the same release with the fault lasting two answers, two stale looks in a row, which is
    more than the two-look rule guards against. Switchyard then does what two healthy looks allow, deregistering
    blue's surplus while green's only instance is in truth down, and the checker must catch it: a violation at that
    deregistration, naming green's missing health and the total below four, which the sampler saw too."""
    failer = FailWhenItComesUp(proxy, aws, world, scale_out_of(world, 1), answers=2)
    run, code, err, truth, took = run_release(switchyard, world, aws, proxy, failer)
    assert code == 0, err
    messages = events(switchyard, run.id)
    assert_the_fault_fed_the_looks(proxy, failer, answers=2)
    first = next(r for r in proxy.forwarded() if r.action == failer.pool.deregister_action)
    assert failer.failed_at < first.at and first.n < failer.restored_by, "blue was not deregistered while green was down: no test of the checker"
    assert truth.violations, f"the checker missed blue deregistered at request {first.n} while green was down: {truth.removals}"
    assert truth.violations[0].startswith(f"request {first.n} ({first.action} of blue "), truth.violations
    assert "green had no truly healthy instance" in truth.violations[0] and "fewer than the start's 4" in truth.violations[0], truth.violations
    assert (START - 1, 0) in truth.seen, f"the sampler did not see the dip: {truth.seen}"
    print(f"[{pool}] release took {took:.1f}s; the checker caught: {truth.violations}")


@pytest.mark.slow(25)
@pytest.mark.parametrize("pool,how", [
    # In a target group the blue instance is deregistered (then registered again by the rollback) or stopped: a stopped
    # one reads `unused` (Target.InvalidState) and is waited for, never registered again (RegisterTargets: an EC2
    # instance "must be in the running state when you register it"; moto answers InvalidTarget, and the rollback once
    # ended `failed` there). Behind a Classic Load Balancer a stopped instance reads OutOfService (registered, unhealthy).
    pytest.param("target-group", "deregister", marks=pytest.mark.world(**SHARED, alarm=["{service}-5xx"]), id="target-group"),
    pytest.param("target-group", "stop", marks=pytest.mark.world(**SHARED, alarm=["{service}-5xx"]), id="target-group-stopped"),
    pytest.param("classic", "stop", marks=pytest.mark.world(**SHARED_CLB, alarm=["{service}-5xx"]), id="classic"),
])
def test_one_stale_healthy_look_of_a_failed_blue_instance_keeps_green_in_a_rollback(pool, how, world, switchyard, aws, proxy):
    """The rollback's direction: an alarm fails the first step's check, blue is scaled back from 3 to 4, and the
    instance that brings it back fails the moment it comes up while the next look still reads it healthy. Green stays
    on that look and the ones after it until blue's four are truly healthy on two looks; only then does green leave.
    The total of truly healthy instances never falls below four."""
    aws.cw.set_alarm_state(AlarmName=world["alarms"][0], StateValue="ALARM", StateReason="e2e")
    failer = FailWhenItComesUp(proxy, aws, world, scale_back_of(world, START), known=members(aws, world["blue_asg"]), how=how)
    run, code, err, truth, took = run_release(switchyard, world, aws, proxy, failer)
    assert code == 3, err
    messages = events(switchyard, run.id)
    assert_the_fault_fed_the_looks(proxy, failer, answers=1)
    stale = next(i for i, m in enumerate(messages) if "healthy on this look; green stays until the next look finds them too" in m)
    truthful = (f"{failer.instance} registered again" if how == "deregister"
                else f"waiting for blue ({failer.instance} InService/{failer.pool.stopped_reads})")
    down = next(i for i, m in enumerate(messages) if i > stale and truthful in m)
    leaves = next(i for i, m in enumerate(messages) if "leaves service" in m)
    assert stale < down < leaves, messages
    green = green_name(world, run.id)
    removals = [(n, action) for n, action, fleet, _, _ in truth.removals if fleet == "green"]
    assert removals, f"green's removal was never seen: {truth.removals}"
    assert all(n > failer.restored_by for n, _ in removals), (failer.restored_by, removals)
    looks_after = [r.n for r in proxy.forwarded() if r.action == failer.pool.health_action and failer.restored_by < r.n < removals[0][0]]
    assert len(looks_after) >= 2, f"green left at request {removals[0][0]} after {looks_after} looks of blue healthy again"
    assert truth.violations == [], truth.violations
    assert all(b + g >= START for b, g in truth.seen), f"the truly healthy total fell below {START}: {truth.seen}"
    assert truth.seen[-1] == (START, 0), truth.seen
    assert green not in aws.groups(world)
    print(f"[{pool}] rollback took {took:.1f}s; fault answered {failer.fault.answered}, truthful {failer.truthful}, "
          f"restored by request {failer.restored_by}; removals {truth.removals}")
    print("\n".join(m for m in messages if m.startswith("toward 0% green") or "leaves service" in m))
