import Foundation
import Yams

/// `traffic.shared`: blue and green behind one target group, green's share moved by instance counts (the scale-out
/// pattern).
extension FileReader {
    mutating func sharedTraffic(_ m: Node.Mapping, region: String?) -> DeploymentSpec.Traffic? {
        let f = fields(m, at: "traffic")
        let before = issues.count
        let settle = self.settle(f["settle"])
        for key in ["listener_arn", "listener_arns", "rule_arn", "rule_arns", "target_groups", "route53"] where f[key] != nil {
            add(f[key], "traffic.\(key)", "does not go with traffic.shared: blue and green share traffic.shared.target_group, "
                + "and their instance counts move the traffic, not a listener's weights")
        }
        guard let s = mapping(f["shared"], "traffic.shared") else { return nil }
        let g = fields(s, at: "traffic.shared")
        if g["load_balancer_name"] != nil {
            add(g["load_balancer_name"], "traffic.shared.load_balancer_name",
                "a Classic Load Balancer is not supported yet: name the target group blue's group stands in (traffic.shared.target_group)")
        }
        var group: String?
        if g["target_group"] == nil {
            if g["load_balancer_name"] == nil {
                add(.mapping(s), "traffic.shared.target_group", "required key is missing: the target group blue's Auto Scaling group stands in")
            }
        } else {
            group = targetGroupArn(g["target_group"], "traffic.shared.target_group", region: region)
        }
        guard let group, issues.count == before else { return nil }
        return DeploymentSpec.Traffic(shared: DeploymentSpec.SharedTraffic(targetGroup: group), settle: settle)
    }
}
