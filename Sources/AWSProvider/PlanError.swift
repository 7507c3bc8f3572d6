import SwitchyardCore

/// Why a release cannot start: bad input found by looking at AWS before anything was changed.
public enum PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    case amiNotFound(String)
    case amiNotAvailable(ami: String, state: String)
    case architectureMismatch(ami: String, architecture: String, blueAMI: String, blueArchitecture: String)
    case listenerNotFound(String)
    case ruleNotFound(String)
    case noForwardAction(resource: String)
    case unsupportedActions(resource: String, types: [String])
    case targetGroupsMismatch(resource: String, listener: [String], file: [String])
    case halfShifted(resource: String, weights: [String: Int])
    case noTraffic(resource: String)
    case blueGroupNotFound(targetGroup: String)
    case ambiguousBlue(targetGroup: String, groups: [String])
    case blueGroupNotOnTargetGroup(group: String, targetGroup: String)
    case blueGroupMissing(String)
    case blueWithoutLaunchTemplate(group: String, detail: String)
    case foreignGroupOnGreen(group: String, targetGroup: String)
    case launchTemplateVersionNotFound(template: String, version: String)
    case alarmsNotFound([String])
    /// `deployment`: the record in this state file that keeps it, when it (not the tag) says so; `tag`: the tag as read.
    case retainedForRollback(group: String, until: String, deployment: String? = nil, tag: String? = nil)
    /// Forwards to the service's target groups that the file does not name: they would keep sending traffic to blue.
    case unnamedForwards([String])
    case targetGroupNotFound([String])
    /// `traffic.shared`'s target group or Classic Load Balancer is not there (the ELB error code AWS answered).
    case sharedPoolNotFound(key: String, pool: String, code: String)
    /// A listener or rule the file names (under `key`) that AWS answers `code` for; `suggestions`: the forwards
    /// that do reach the pair.
    case forwardNotFound(key: String, forward: String, code: String, suggestions: [String])
    /// The named forwards do not all split the traffic the same way.
    case forwardsDisagree(String)
    case retentionShorterThanStickiness(retention: String, stickinessSeconds: Int, resource: String)
    /// The test route's listener has no free rule priority.
    case noFreePriority(listener: String)
    /// Another service's test route on the listener uses the same header.
    case testRouteTaken(listener: String, header: String, rule: String)
    case otherTargetGroups(group: String, targetGroups: [String], loadBalancers: [String])
    /// `fleet.mode: pair`: a group of `fleet.pair` does not exist.
    case pairGroupMissing(String)
    /// `fleet.mode: pair`: neither group (or both) of the pair is attached to the live target group.
    case pairBlueUnclear(groups: [String], onLive: [String], targetGroup: String)
    /// `fleet.mode: pair`: the idle group has instances that Switchyard did not leave there.
    case pairIdleNotEmpty(group: String, instances: Int, desired: Int)
    /// `fleet.mode: pair`: the idle group launches from another launch template than blue.
    case pairTemplateDiffers(idle: String, idleTemplate: String, blue: String, blueTemplate: String)
    /// `fleet.mode: pair`: a group outside the pair has instances in one of the pair's target groups.
    case pairForeignGroup(group: String, targetGroup: String, pair: [String])

    /// "live target group ARN", or "Classic Load Balancer NAME" for a shared Classic Load Balancer's pool id.
    static func live(_ pool: String) -> String {
        (DeploymentSpec.SharedTraffic.classicName(of: pool) == nil ? "live " : "") + DeploymentSpec.SharedTraffic.named(pool)
    }

    public var description: String {
        switch self {
        case .amiNotFound(let ami):
            return "AMI \(ami) does not exist in this account and region (EC2 error InvalidAMIID.NotFound). Check the id and the file's region."
        case .amiNotAvailable(let ami, let state):
            return "AMI \(ami) is \(state), not available. Wait until it is available, then start again."
        case .architectureMismatch(let ami, let arch, let blueAMI, let blueArch):
            return "AMI \(ami) is built for \(arch), but blue runs \(blueAMI) on \(blueArch). Green must use the same architecture as blue's instance types."
        case .alarmsNotFound(let names):
            return "checks.alarms names CloudWatch alarms that do not exist in this account and region: \(names.joined(separator: ", ")). Check the names (metric and composite alarms are both looked up)."
        case .retainedForRollback(let group, let until, let deployment, let tag):
            let why = deployment.map { "deployment \($0) in this state file keeps it for its rollback; its \(RetentionTag.key) tag reads "
                + (tag.map { "\($0)" } ?? "absent") + " here, as AWS may not show a tag written moments ago" }
                ?? "its \(RetentionTag.key) tag, set when the release that replaced it was promoted, perhaps from another state file"
            return "\(group) stands on green's target group and is kept for rollback until \(until) (\(why)). Wait until then, or end its "
                + "retention now with `--end-retention` (the release that kept it can then no longer be rolled back)."
        case .unnamedForwards(let forwards):
            return "these forward to the service's target groups but are not named in traffic (listener_arns / rule_arns): "
                + forwards.joined(separator: "; ") + ". Only the named ones would move, the others would keep sending traffic to blue "
                + "and fail when blue is retired. Name every one of them, or point them elsewhere."
        case .sharedPoolNotFound(let key, let pool, let code):
            return "\(key) names \(pool), which does not exist in this account and region (ELB error \(code))."
        case .targetGroupNotFound(let arns):
            return "traffic.target_groups names \(arns.count == 1 ? "a target group" : "target groups") that \(arns.count == 1 ? "does" : "do") not exist "
                + "in this account and region (ELB error TargetGroupNotFound): " + arns.joined(separator: ", ") + "."
        case .forwardNotFound(let key, let forward, let code, let suggestions):
            let hint: String
            switch suggestions.count {
            case 0: hint = " No listener or rule of the target groups' load balancers forwards to them."
            case 1: hint = " The one that forwards to the target groups is \(suggestions[0]): did you mean it?"
            default: hint = " These forward to the target groups: \(suggestions.joined(separator: "; ")): did you mean one of them?"
            }
            return "\(key) names \(forward), which AWS does not find in this account and region (ELB error \(code)).\(hint)"
        case .forwardsDisagree(let summary):
            return "the forwards named in traffic do not split the traffic the same way (\(summary)). A previous release may have stopped "
                + "half-way: finish it with `switchyard resume` or `switchyard rollback`, or set them to one target group by hand."
        case .retentionShorterThanStickiness(let retention, let seconds, let resource):
            return "promotion.blue_retention \(retention) is shorter than the stickiness duration of \(resource) (\(seconds) s): clients bound "
                + "to blue may stay on it that long after promotion, so blue must be kept at least \(seconds) s (or stickiness shortened)."
        case .testRouteTaken(let listener, let header, let rule):
            return "listener \(listener) already has a test route for \(header): green to other target groups (rule \(rule)); "
                + "give this service its own header with checks.http.test_route.header."
        case .noFreePriority(let listener):
            return "listener \(listener) has no free rule priority for the test route (checks.http.test_route)."
        case .listenerNotFound(let arn):
            return "the listener \(arn) (traffic.listener_arn) does not exist."
        case .ruleNotFound(let arn):
            return "the listener rule \(arn) (traffic.rule_arn) does not exist."
        case .noForwardAction(let resource):
            return "\(resource) has no forward action to shift; Switchyard only shifts a forward action's weights."
        case .unsupportedActions(let resource, let types):
            return "\(resource) has actions Switchyard cannot keep while shifting (\(types.joined(separator: ", "))); only a single forward action is supported."
        case .targetGroupsMismatch(let resource, let listener, let file):
            return "\(resource) forwards to \(listener.joined(separator: ", ")), but traffic.target_groups lists \(file.joined(separator: ", ")). They must be the same pair."
        case .halfShifted(let resource, let weights):
            let text = weights.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            return "\(resource) splits traffic between both target groups (\(text)). A previous release may have stopped half-way: finish it with `switchyard resume` or `switchyard rollback`, or set the listener to one target group by hand."
        case .noTraffic(let resource):
            return "\(resource) sends no traffic to either target group, so there is no blue to replace."
        case .blueGroupNotFound(let tg):
            return "no Auto Scaling group is attached to the \(Self.live(tg)). Name blue with fleet.blue_auto_scaling_group."
        case .ambiguousBlue(let tg, let groups):
            return "several Auto Scaling groups are attached to the \(Self.live(tg)) (\(groups.joined(separator: ", "))). Name blue with fleet.blue_auto_scaling_group."
        case .blueGroupNotOnTargetGroup(let group, let tg):
            return "fleet.blue_auto_scaling_group \(group) is not attached to the \(Self.live(tg))."
        case .blueGroupMissing(let group):
            return "the Auto Scaling group \(group) (fleet.blue_auto_scaling_group) does not exist."
        case .blueWithoutLaunchTemplate(let group, let detail):
            return "blue \(group) \(detail); Switchyard needs blue to use a launch template (plain or in a mixed instances policy), not a launch configuration."
        case .foreignGroupOnGreen(let group, let tg):
            return "the Auto Scaling group \(group) is attached to \(tg), where green would go, and Switchyard did not create it. Detach or delete it first."
        case .launchTemplateVersionNotFound(let template, let version):
            return "launch template \(template) has no version \(version)."
        case .pairGroupMissing(let name):
            return "the Auto Scaling group \(name) named in fleet.pair does not exist (pair mode never creates a group: declare it, e.g. in Terraform, first)."
        case .pairBlueUnclear(let groups, let onLive, let tg):
            let found = onLive.isEmpty ? "neither is attached to it" : "both are attached to it (\(onLive.joined(separator: ", ")))"
            return "fleet.pair names \(groups.joined(separator: " and ")), but of the two, \(found). Blue must be the one group of the pair "
                + "attached to the live target group \(tg), and green the other (attached to the idle target group, or to none)."
        case .pairIdleNotEmpty(let group, let instances, let desired):
            return "\(group), the idle group of fleet.pair, has \(Spelling.count(instances, "instance")) (desired capacity \(desired)) but carries no traffic, "
                + "and no earlier release of this service left \(instances == 1 ? "it" : "them") there. Green must start empty, as every instance of green is replaced "
                + "with the new AMI: scale \(group) to 0 first."
        case .pairTemplateDiffers(let idle, let idleTemplate, let blue, let blueTemplate):
            return "\(idle) (the idle group of fleet.pair) launches from \(idleTemplate), but blue \(blue) from \(blueTemplate). Both groups of "
                + "the pair must use the same launch template: green gets a new version of blue's."
        case .pairForeignGroup(let group, let tg, let pair):
            return "the Auto Scaling group \(group) has instances in \(tg), one of the pair's target groups, but is not in fleet.pair "
                + "(\(pair.joined(separator: ", "))). Pair mode retires no group outside the pair: detach it, or let its retention end and run `switchyard gc`."
        case .otherTargetGroups(let group, let tgs, let lbs):
            let names = tgs.map { "target group \($0)" } + lbs.map { "classic load balancer \($0)" }
            return "blue \(group) also stands in \(names.joined(separator: ", ")), outside traffic.target_groups. Green would not be there until promotion: "
                + "set fleet.other_target_groups: join_at_promotion to accept that, or detach blue from them."
        }
    }
}
