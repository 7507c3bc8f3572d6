import Foundation
import SwitchyardCore
import Yams

/// `traffic.shared`: blue and green behind one target group or one Classic Load Balancer, green's share moved by instance
/// counts (the scale-out pattern).
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
        var shared: DeploymentSpec.SharedTraffic?
        switch (g["target_group"], g["load_balancer_name"]) {
        case (nil, nil):
            add(.mapping(s), "traffic.shared.target_group", "required key is missing: the target group blue's Auto Scaling group stands in "
                + "(or traffic.shared.load_balancer_name: the Classic Load Balancer it is registered with)")
        case (.some, .some):
            add(g["load_balancer_name"], "traffic.shared.load_balancer_name",
                "does not go with traffic.shared.target_group: blue and green share one target group or one Classic Load Balancer, not both")
        case (let node?, nil):
            shared = targetGroupArn(node, "traffic.shared.target_group", region: region).map(DeploymentSpec.SharedTraffic.init(targetGroup:))
        case (nil, let node?):
            shared = classicLoadBalancerName(node).map(DeploymentSpec.SharedTraffic.init(classicLoadBalancer:))
        }
        guard let shared, issues.count == before else { return nil }
        return DeploymentSpec.Traffic(shared: shared, settle: settle)
    }

    /// A Classic Load Balancer's name as AWS allows it: 1 to 32 letters, digits and hyphens, not starting or ending with
    /// a hyphen (CreateLoadBalancer's rule).
    private mutating func classicLoadBalancerName(_ node: Node) -> String? {
        guard let name = string(node, "traffic.shared.load_balancer_name") else { return nil }
        let allowed = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" }
        guard (1...32).contains(name.count), allowed, !name.hasPrefix("-"), !name.hasSuffix("-") else {
            add(node, "traffic.shared.load_balancer_name",
                "\"\(name)\" is not a Classic Load Balancer name: 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen")
            return nil
        }
        return name
    }
}
