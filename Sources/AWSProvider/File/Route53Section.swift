import Foundation
import SwitchyardCore
import Yams

/// `traffic.route53`: two stacks, each with its own load balancer, shifted by two weighted records of one name.
extension FileReader {
    static let hostedZonePattern = #"^(/hostedzone/)?([A-Z0-9]{1,32})$"#
    static let recordTypes = ["A", "AAAA", "CNAME"]

    mutating func route53Traffic(_ m: Node.Mapping, region: String?) -> DeploymentSpec.Traffic? {
        let f = fields(m, at: "traffic")
        let before = issues.count
        let settle = self.settle(f["settle"])
        for key in ["listener_arn", "listener_arns", "rule_arn", "rule_arns", "target_groups"] where f[key] != nil {
            add(f[key], "traffic.\(key)", "does not go with traffic.route53: the records move the traffic, and each record names its stack's target_group")
        }
        guard let r = mapping(f["route53"], "traffic.route53") else { return nil }
        let g = fields(r, at: "traffic.route53",
                       required: ["hosted_zone_id", "record_name", "record_type", "records"])
        var zone: String?
        if let text = string(g["hosted_zone_id"], "traffic.route53.hosted_zone_id") {
            zone = Self.captures(text, Self.hostedZonePattern)?[1]
            if zone == nil { add(g["hosted_zone_id"], "traffic.route53.hosted_zone_id", "is not a hosted zone id like Z0123456789ABCDEFGHIJ or /hostedzone/Z0123… (got \"\(text)\")") }
        }
        let name = string(g["record_name"], "traffic.route53.record_name")
        if let name, name.count > 255 || name.contains(" ") {
            add(g["record_name"], "traffic.route53.record_name", "is not a DNS name (got \"\(name)\")")
        }
        let type = string(g["record_type"], "traffic.route53.record_type")
        if let type, !Self.recordTypes.contains(type) {
            add(g["record_type"], "traffic.route53.record_type", "must be one of A, AAAA (alias records) or CNAME (got \"\(type)\")")
        }
        let records = route53Records(g["records"], region: region)
        guard let zone, let name, let type, let records, issues.count == before else { return nil }
        return DeploymentSpec.Traffic(route53: DeploymentSpec.Route53Traffic(hostedZoneId: zone, recordName: name, recordType: type, records: records),
                                      settle: settle)
    }

    /// One target group ARN in the file's region, or nil with the problem added.
    mutating func targetGroupArn(_ node: Node?, _ key: String, region: String?) -> String? {
        guard let text = string(node, key) else { return nil }
        return arn(node, arn: text, key: key, pattern: Self.targetGroupPattern, region: region, kind: Self.targetGroupKind) == nil ? nil : text
    }

    /// Exactly two records, one per stack: different set identifiers, targets and target groups.
    mutating func route53Records(_ node: Node?, region: String?) -> [DeploymentSpec.Route53Record]? {
        let key = "traffic.route53.records"
        guard let items = sequence(node, key) else { return nil }
        guard items.count == 2 else {
            add(node, key, "must list exactly two weighted records, one per stack (blue and green), got \(items.count)")
            return nil
        }
        var records: [DeploymentSpec.Route53Record] = []
        for (index, item) in items.enumerated() {
            let at = "\(key)[\(index + 1)]"
            guard let m = mapping(item, at) else { continue }
            let f = fields(m, at: at, required: ["set_identifier", "target", "target_group"])
            let identifier = string(f["set_identifier"], "\(at).set_identifier")
            if let identifier, identifier.count > 128 { add(f["set_identifier"], "\(at).set_identifier", "must be at most 128 characters") }
            let target = string(f["target"], "\(at).target")
            let group = targetGroupArn(f["target_group"], "\(at).target_group", region: region)
            guard let identifier, let target, let group else { continue }
            records.append(DeploymentSpec.Route53Record(setIdentifier: identifier, target: target, targetGroup: group))
        }
        guard records.count == 2 else { return nil }
        let pairs: [(String, (DeploymentSpec.Route53Record) -> String)] = [("set_identifier", \.setIdentifier), ("target", \.target), ("target_group", \.targetGroup)]
        for (field, value) in pairs where value(records[0]).lowercased() == value(records[1]).lowercased() {
            add(items[1], "\(key)[2].\(field)", "is the same as the first record's; the two stacks need two different ones")
        }
        return records
    }
}
