import Foundation
import SwitchyardCore
import Yams

/// `fleet:`: blue's Auto Scaling group, its launch template default, and `fleet.mode`/`fleet.pair` (a standing pair of
/// groups instead of a clone per release).
extension FileReader {
    mutating func fleet(_ m: Node.Mapping) -> DeploymentSpec.Fleet? {
        let f = fields(m, at: "fleet")
        var fleet = DeploymentSpec.Fleet()
        var ok = true
        if f["blue_auto_scaling_group"] != nil {
            let name = string(f["blue_auto_scaling_group"], "fleet.blue_auto_scaling_group")
            if let name, name.count > 255 { add(f["blue_auto_scaling_group"], "fleet.blue_auto_scaling_group", "must be at most 255 characters") }
            fleet.blueGroupName = name
            ok = ok && name != nil
        }
        if f["capacity_timeout"] != nil {
            let span = duration(f["capacity_timeout"], "fleet.capacity_timeout", positive: true)
            fleet.capacityTimeout = span ?? fleet.capacityTimeout
            ok = ok && span != nil
        }
        if f["other_target_groups"] != nil {
            let choice = choice(f["other_target_groups"], "fleet.other_target_groups", DeploymentSpec.Fleet.OtherPools.self)
            fleet.otherPools = choice ?? fleet.otherPools
            ok = ok && choice != nil
        }
        if f["launch_template_default"] != nil {
            let choice = choice(f["launch_template_default"], "fleet.launch_template_default", DeploymentSpec.Fleet.TemplateDefault.self)
            fleet.templateDefault = choice ?? fleet.templateDefault
            ok = ok && choice != nil
        }
        ok = pairMode(f, into: &fleet) && ok
        return ok ? fleet : nil
    }

    /// Reads `fleet.mode` and `fleet.pair` into `fleet`; false when either is wrong (each problem is reported at its line).
    mutating func pairMode(_ f: [String: Node], into fleet: inout DeploymentSpec.Fleet) -> Bool {
        var ok = true
        if f["mode"] != nil {
            let mode = choice(f["mode"], "fleet.mode", DeploymentSpec.Fleet.Mode.self)
            fleet.mode = mode ?? fleet.mode
            ok = mode != nil
        }
        if f["pair"] != nil {
            let names = pairNames(f["pair"])
            fleet.pair = names ?? []
            ok = ok && names != nil
        }
        guard ok else { return false }
        if fleet.mode == .pair && f["pair"] == nil {
            add(f["mode"], "fleet.pair", "is required with fleet.mode: pair: name the two Auto Scaling groups, e.g. [web-blue, web-green]")
            return false
        }
        if fleet.mode == .clone && f["pair"] != nil {
            add(f["pair"], "fleet.pair", "is only used with fleet.mode: pair (the default mode, clone, creates green itself)")
            return false
        }
        if fleet.mode == .pair, f["blue_auto_scaling_group"] != nil {
            add(f["blue_auto_scaling_group"], "fleet.blue_auto_scaling_group",
                "cannot be used with fleet.mode: pair: blue is whichever group of fleet.pair carries the traffic")
            return false
        }
        return true
    }

    /// Exactly two distinct group names.
    private mutating func pairNames(_ node: Node?) -> [String]? {
        guard let items = sequence(node, "fleet.pair") else { return nil }
        guard items.count == 2 else {
            add(node, "fleet.pair", "must name exactly two Auto Scaling groups (got \(items.count))")
            return nil
        }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            let key = "fleet.pair[\(index + 1)]"
            guard let name = string(item, key) else { return nil }
            guard name.count <= 255 else {
                add(item, key, "must be at most 255 characters")
                return nil
            }
            names.append(name)
        }
        if names[0] == names[1] {
            add(items[1], "fleet.pair[2]", "names \(names[1]) twice; the pair is two different groups")
            return nil
        }
        return names
    }
}
