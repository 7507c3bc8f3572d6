"""The e2e data plane's model of its target groups (and of a Classic Load Balancer's registrations, the same model with
Classic's words and routing): each registration's health state as ALB reports it, draining, and which targets a
request may go to. Pure bookkeeping (no I/O, the caller passes the time), so the rules are in one place.

States and reasons are ALB's (elasticloadbalancing API reference, TargetHealth): a new registration is `initial`
(Elb.RegistrationInProgress, then Elb.InitialHealthChecking) until `healthy` checks in a row pass, or `unhealthy`
after `unhealthy` failures in a row; a deregistered target is `draining` (Target.DeregistrationInProgress) for the
target group's deregistration_delay.timeout_seconds and then no longer listed; a stopped instance is `unused`
(Target.InvalidState); a group no rule forwards to has its targets `unused` (Target.NotInUse). Routing: healthy
targets only, or, when a group has none, every registered target that is not draining (ALB fails open: "if a target
group contains only unhealthy registered targets, the load balancer routes requests to all those targets"); a
draining target gets no new request.

A Classic Load Balancer (`Group(..., classic=True)`, AWS's Classic guide: "Health checks for your Classic Load
Balancer", "Configure connection draining") keeps the same states under its own words (`Member.classic_view`, as
DescribeInstanceHealth answers): a new registration is OutOfService "Instance registration is still in progress."
until it passes `healthy` checks; healthy is InService; a deregistered instance is InService "Instance deregistration
currently in progress." for the connection-draining timeout (the model keeps it the whole timeout, as it keeps a
target group's delay: a client waiting for the drain waits the longest AWS may take), then no longer listed. It
routes to InService instances only and never fails open: with none, it answers 503. With connection draining off
(`delay` 0) a deregistered instance leaves at once and its in-flight requests are cut (the caller cuts them)."""
from dataclasses import dataclass, field

DESCRIPTIONS = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.InvalidState": "Target is in the stopped state",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
    "Target.NotRegistered": "Target is not registered to the target group",
}

# DescribeInstanceHealth's (State, ReasonCode, Description) for each of the model's states.
CLASSIC = {
    "healthy": ("InService", "N/A", "N/A"),
    "initial": ("OutOfService", "ELB", "Instance registration is still in progress."),
    "unhealthy": ("OutOfService", "Instance", "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."),
    "draining": ("InService", "ELB", "Instance deregistration currently in progress."),
    "stopped": ("OutOfService", "Instance", "Instance is in stopped state."),
    "unregistered": ("OutOfService", "ELB", "Instance is not currently registered with the LoadBalancer."),
}


@dataclass
class Member:
    """One instance's registration in one target group."""
    state: str = "initial"
    reason: str = "Elb.RegistrationInProgress"
    description: str = ""
    passed: int = 0
    failed: int = 0
    drain_until: float = 0.0
    stopped: bool = False

    def view(self, in_use):
        state, reason, description = self.state, self.reason, self.description
        if self.stopped and state != "draining":
            state, reason, description = "unused", "Target.InvalidState", ""
        elif not in_use and state != "draining":
            state, reason, description = "unused", "Target.NotInUse", ""
        if state == "healthy":
            return {"state": state}
        return {"state": state, "reason": reason, "description": description or DESCRIPTIONS.get(reason, reason)}

    def classic_view(self):
        """As a Classic Load Balancer's DescribeInstanceHealth lists it: {"State", "ReasonCode", "Description"}."""
        state, reason, description = CLASSIC["stopped" if self.stopped and self.state != "draining" else self.state]
        return {"State": state, "ReasonCode": reason, "Description": description}


@dataclass
class Group:
    arn: str
    name: str = ""
    health_path: str = "/healthz"
    delay: float = 300.0
    members: dict = field(default_factory=dict)     # instance id -> Member
    turn: int = 0
    classic: bool = False                           # a Classic Load Balancer's registrations, not a target group's

    def register(self, instance):
        self.members[instance] = Member()

    def drain(self, instance, now):
        """Deregistered now: no new request from now on; listed as draining for the deregistration delay (none at all
        with a delay of 0: connection draining off). Returns when the drain ends."""
        if self.delay <= 0:
            del self.members[instance]
            return now
        member = self.members[instance]
        member.state, member.reason, member.description = "draining", "Target.DeregistrationInProgress", ""
        member.drain_until = now + self.delay
        return member.drain_until

    def drained(self, now):
        """Removes the registrations whose drain is over; returns their instance ids."""
        done = [i for i, m in self.members.items() if m.state == "draining" and m.drain_until <= now]
        for i in done:
            del self.members[i]
        return done

    def checked(self, instance, ok, why, healthy_count, unhealthy_count):
        """Records one health check; returns the new state when it changed, else None."""
        member = self.members.get(instance)
        if member is None or member.state == "draining" or member.stopped:
            return None
        before = member.state
        if ok:
            member.passed, member.failed = member.passed + 1, 0
            if member.state != "healthy" and member.passed >= healthy_count:
                member.state, member.reason, member.description = "healthy", "", ""
            elif member.state == "initial":
                member.reason = "Elb.InitialHealthChecking"
        else:
            member.passed, member.failed = 0, member.failed + 1
            if member.state == "initial" and member.failed < unhealthy_count:
                member.reason = "Elb.InitialHealthChecking"
            elif member.failed >= unhealthy_count:
                member.state, member.reason, member.description = "unhealthy", why[0], why[1]
        return member.state if member.state != before else None

    def routable(self):
        """The targets a new request may go to: healthy ones, else (a target group failing open) every registered,
        running one; a Classic Load Balancer's InService ones only."""
        live = [(i, m) for i, m in self.members.items() if m.state != "draining" and not m.stopped]
        healthy = [i for i, m in live if m.state == "healthy"]
        return healthy or ([] if self.classic else [i for i, _ in live])

    def pick(self):
        """Round robin over the routable targets; None when there is none (the load balancer answers 503)."""
        targets = self.routable()
        if not targets:
            return None
        self.turn = (self.turn + 1) % len(targets)
        return targets[self.turn]

    def view(self, in_use):
        """Each registration in the target-group vocabulary, and for a Classic Load Balancer its own words too."""
        return [{"id": i, **m.view(in_use), **({"classic": m.classic_view()} if self.classic else {})}
                for i, m in self.members.items()]
