#!/usr/bin/env python3
"""moto's server (`python3 -m moto.server`, the same arguments: -H 127.0.0.1 -p PORT), with the Classic Load Balancer
and target group registrations of Auto Scaling groups as AWS makes them. Every place that starts moto for Switchyard starts it through
this file: scripts/lib.sh `start_moto` (scripts/demo, scripts/test), e2e/conftest.py's `moto_url` and bench/common.py.

Moto workaround, the one place for it: moto's AutoScalingBackend.update_attached_elbs(group) sets each Classic Load
Balancer the group is attached to to exactly the group's instances, so with two groups on one load balancer (blue and
green of traffic.shared with a Classic Load Balancer) creating, scaling, or terminating an instance of one group
deregisters every instance of the other. AWS does not: a group registers the instances it launches (or finds when it
is attached), deregisters the ones it terminates, detaches or puts in Standby, and leaves every other registration
alone. Here a group registers its InService instances that it has not registered before, and deregisters only those
it registered that are no longer InService in it; what it registered is kept per (group, load balancer). Three more
of moto's ways with Classic registrations that AWS does not share are put right with it:
- DetachLoadBalancers deregisters the group's instances from every load balancer the group is attached to, not only
  the ones detached: here only from those named, and only what the group registered there (or holds now);
- DeregisterInstancesFromLoadBalancer forgets only the instances registered by that API, so an instance a group
  registered stays registered: here it is deregistered whoever registered it (the group does not register it again,
  as AWS's does not, until it leaves the group and comes back);
- RegisterInstancesWithLoadBalancer of an instance already registered lists it twice (twice in
  DescribeInstanceHealth): here it is registered once; and either call naming a load balancer that does not exist
  fails in moto with an HTTP 500: here it answers LoadBalancerNotFound.
Target groups get the same rule: moto's update_attached_target_groups(group) registers every instance of the group in
each of its target groups on every change (creating, scaling, terminating one), so an instance deregistered by
DeregisterTargets (a step's blue surplus, draining before it is terminated) is registered again by the next change of
its group, and one the group terminates on a scale-in stays registered (listed healthy). Here a group registers the
instances it has not registered before and deregisters those it registered that are no longer InService in it; and
DetachLoadBalancerTargetGroups deregisters the group's instances that are registered (moto fails the whole call with
InvalidTarget when one of them is not, as a deregistered one is; AWS does not).
DeleteAutoScalingGroup goes through update_attached_elbs at desired 0 (its instances terminated and deregistered),
then the group's record is dropped. What moto does not model is left as it is: connection draining (an instance
leaves at once; AWS keeps it InService "Instance deregistration currently in progress." for the draining timeout),
and DescribeInstanceHealth's `Unknown` for an instance not registered (AWS answers InvalidInstance). e2e/test_moto_clb.py
shows each behaviour against a plain moto and against this server.
"""
import sys


def apply_workarounds():
    """Patches moto's classes in this process (every backend, before or after a reset, uses them)."""
    from moto.autoscaling.models import AutoScalingBackend
    from moto.elb.exceptions import LoadBalancerNotFoundError
    from moto.elb.models import ELBBackend

    if getattr(AutoScalingBackend, "_switchyard_clb_workaround", False):
        return
    AutoScalingBackend._switchyard_clb_workaround = True

    def registered(backend):
        """{(group name, load balancer name): the instance ids the group registered there}, per backend."""
        if not hasattr(backend, "_switchyard_clb_registered"):
            backend._switchyard_clb_registered = {}
        return backend._switchyard_clb_registered

    def update_attached_elbs(self, group_name):
        group = self.autoscaling_groups[group_name]
        if not group.load_balancer_names:
            return  # moto's describe_load_balancers with no names lists every load balancer
        try:
            elbs = self.elb_backend.describe_load_balancers(names=group.load_balancer_names)
        except LoadBalancerNotFoundError:
            return  # a load balancer can be deleted before the group, as moto's own code allows
        active = {state.instance.id for state in group.active_instances()}
        for elb in elbs:
            mine = registered(self).setdefault((group_name, elb.name), set())
            present = set(elb.instance_ids)
            new = sorted(active - mine - present)
            if new:
                self.elb_backend.register_instances(elb.name, new, from_autoscaling=True)
            gone = mine - active
            if gone:
                _deregister_everywhere(elb, gone)
            mine |= active
            mine -= gone

    def update_attached_target_groups(self, group_name):
        group = self.autoscaling_groups[group_name]
        if not group.target_group_arns:
            return
        groups = self.elbv2_backend.describe_target_groups(target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None)
        active = {state.instance.id for state in group.active_instances()}
        for target_group in groups:
            mine = registered(self).setdefault((group_name, target_group.arn), set())
            new = sorted(active - mine - set(target_group.targets))
            if new:
                self.elbv2_backend.register_targets(target_group.arn, [{"Id": i, "Port": target_group.port} for i in new])
            left = mine - active
            gone = sorted(i for i in left if i in target_group.targets)
            if gone:
                target_group.deregister([{"Id": i} for i in gone])
            mine |= active
            mine -= left

    def detach_load_balancer_target_groups(self, group_name, target_group_arns):
        group = self.autoscaling_groups[group_name]
        group.target_group_arns = [x for x in group.target_group_arns if x not in target_group_arns]
        holds = {state.instance.id for state in group.instance_states}
        for arn in target_group_arns:
            mine = registered(self).pop((group_name, arn), set())
            found = self.elbv2_backend.describe_target_groups(target_group_arns=[arn], load_balancer_arn=None, names=None)
            for target_group in found:
                present = sorted(i for i in (mine | holds) if i in target_group.targets)
                if present:
                    target_group.deregister([{"Id": i} for i in present])

    def detach_load_balancers(self, group_name, load_balancer_names):
        group = self.autoscaling_groups[group_name]
        detached = [name for name in load_balancer_names if name in group.load_balancer_names]
        holds = {state.instance.id for state in group.instance_states}
        for name in detached:
            mine = registered(self).pop((group_name, name), set())
            elb = self.elb_backend.get_load_balancer(name)
            if elb is not None:  # deleted before the group: nothing to deregister
                _deregister_everywhere(elb, mine | holds)
        group.load_balancer_names = [x for x in group.load_balancer_names if x not in load_balancer_names]

    original_delete = AutoScalingBackend.delete_auto_scaling_group

    def delete_auto_scaling_group(self, group_name):
        original_delete(self, group_name)
        for key in [k for k in registered(self) if k[0] == group_name]:
            del registered(self)[key]

    original_register = ELBBackend.register_instances
    original_deregister = ELBBackend.deregister_instances

    def register_instances(self, load_balancer_name, instance_ids, from_autoscaling=False):
        balancer = self.get_load_balancer(load_balancer_name)
        if balancer is None:
            raise LoadBalancerNotFoundError(load_balancer_name)  # moto's own code fails on None (an HTTP 500)
        already = set(balancer.instance_ids)
        fresh = list(dict.fromkeys(i for i in instance_ids if i not in already))
        return original_register(self, load_balancer_name, fresh, from_autoscaling=from_autoscaling)

    def deregister_instances(self, load_balancer_name, instance_ids, from_autoscaling=False):
        if from_autoscaling:
            return original_deregister(self, load_balancer_name, instance_ids, from_autoscaling=True)
        balancer = self.get_load_balancer(load_balancer_name)
        if balancer is None:
            raise LoadBalancerNotFoundError(load_balancer_name)
        _deregister_everywhere(balancer, set(instance_ids))
        return balancer

    AutoScalingBackend.update_attached_elbs = update_attached_elbs
    AutoScalingBackend.detach_load_balancers = detach_load_balancers
    AutoScalingBackend.update_attached_target_groups = update_attached_target_groups
    AutoScalingBackend.detach_load_balancer_target_groups = detach_load_balancer_target_groups
    AutoScalingBackend.delete_auto_scaling_group = delete_auto_scaling_group
    ELBBackend.register_instances = register_instances
    ELBBackend.deregister_instances = deregister_instances


def _deregister_everywhere(balancer, instance_ids):
    """Off the load balancer, whichever of moto's two lists (the API's, Auto Scaling's) holds the registration."""
    balancer.instance_sparse_ids = [i for i in balancer.instance_sparse_ids if i not in instance_ids]
    balancer.instance_autoscaling_ids = [i for i in balancer.instance_autoscaling_ids if i not in instance_ids]


def main(argv=None):
    apply_workarounds()
    from moto.server import main as moto_main
    moto_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
