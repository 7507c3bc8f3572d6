import Foundation
import SwitchyardCore

/// The AWS traffic backends' names: ALB listeners and rules (a `traffic:` without a section), Route 53 weighted
/// records (`traffic.route53`), one pool both fleets stand in (`traffic.shared`).
extension TrafficBackendKind {
    public static let alb = TrafficBackendKind(rawValue: "alb")
    public static let route53 = TrafficBackendKind(rawValue: "route53")
    public static let shared = TrafficBackendKind(rawValue: "shared")
}

/// AWS's part of the file's `traffic:`, kept by the core as the record's keys (`DeploymentSpec.Traffic.settings`):
/// ALB's listener and rule keys at the top (`listenerArn`, `ruleArn`, `listenerArns`, `ruleArns`), and the
/// `route53` or `shared` section beside them, exactly as every switchyard since format 1 wrote them.
///
/// The single keys of older files (`listener_arn`, optionally narrowed to one `rule_arn`) are kept as they were
/// written; `listenerArns`/`ruleArns` are set only when the file uses the list keys, so records stored before
/// several forwards could be named decode and mean what they meant.
extension DeploymentSpec.Traffic {
    enum AWSKey {
        static let listener = "listenerArn", rule = "ruleArn", listeners = "listenerArns", rules = "ruleArns", route53 = "route53", shared = "shared"
    }

    public init(primaryForward: String, ruleArn: String? = nil, pools: [String], listenerArns: [String]? = nil, ruleArns: [String]? = nil,
                route53: DeploymentSpec.Route53Traffic? = nil, shared: DeploymentSpec.SharedTraffic? = nil, settle: TimeSpan? = nil) {
        self.init(pools: pools, settle: settle, settings: [:])
        AWSTrafficBackends.register()
        // Always written, "" with Route 53 or a shared pool: a switchyard before 0.3 requires the key to read a record.
        self.primaryForward = primaryForward
        self.ruleArn = ruleArn
        self.listenerArns = listenerArns
        self.ruleArns = ruleArns
        self.route53 = route53
        self.shared = shared
    }

    /// The traffic of two stacks moved by their Route 53 weighted records.
    public init(route53: DeploymentSpec.Route53Traffic, settle: TimeSpan? = nil) {
        self.init(primaryForward: "", pools: route53.records.map(\.targetGroup), route53: route53, settle: settle)
    }

    /// Blue and green behind one target group, moved by instance counts.
    public init(shared: DeploymentSpec.SharedTraffic, settle: TimeSpan? = nil) {
        self.init(primaryForward: "", pools: [shared.targetGroup], shared: shared, settle: settle)
    }

    /// The primary forward (ALB: the listener): `listener_arn`, else the first of `listener_arns`, else the listener
    /// of the first rule. The test route's rule goes on it unless `checks.http.test_route.listener_arn` says otherwise.
    /// Empty with Route 53 or a shared pool.
    public var primaryForward: String {
        get { if case .string(let arn) = settings[AWSKey.listener] { return arn } else { return "" } }
        set { settings[AWSKey.listener] = .string(newValue) }
    }

    public var ruleArn: String? {
        get { if case .string(let arn) = settings[AWSKey.rule] { return arn } else { return nil } }
        set { settings[AWSKey.rule] = newValue.map(JSONValue.string) }
    }

    /// Every listener whose default action is shifted, when the file uses the list keys.
    public var listenerArns: [String]? {
        get { Self.strings(settings[AWSKey.listeners]) }
        set { settings[AWSKey.listeners] = newValue.map { .array($0.map(JSONValue.string)) } }
    }

    /// Every rule whose forward action is shifted, when the file uses the list keys.
    public var ruleArns: [String]? {
        get { Self.strings(settings[AWSKey.rules]) }
        set { settings[AWSKey.rules] = newValue.map { .array($0.map(JSONValue.string)) } }
    }

    /// Two whole stacks behind Route 53 weighted records (`traffic.route53`): then no listener is shifted
    /// (`primaryForward` is empty, `forwards` none) and `pools` are the records' target groups, in file order.
    public var route53: DeploymentSpec.Route53Traffic? {
        get { settings[AWSKey.route53].flatMap { try? $0.decode(DeploymentSpec.Route53Traffic.self) } }
        set { settings[AWSKey.route53] = newValue.flatMap { try? JSONValue(encoding: $0) } }
    }

    /// Blue and green behind one target group (`traffic.shared`, the scale-out pattern): the share moves by instance
    /// counts; `primaryForward` is empty, `forwards` none, and `pools` holds the one target group.
    public var shared: DeploymentSpec.SharedTraffic? {
        get { settings[AWSKey.shared].flatMap { try? $0.decode(DeploymentSpec.SharedTraffic.self) } }
        set { settings[AWSKey.shared] = newValue.flatMap { try? JSONValue(encoding: $0) } }
    }

    static func strings(_ value: JSONValue?) -> [String]? {
        guard case .array(let items) = value else { return nil }
        return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    /// Every forward action this release shifts, in the file's order (listeners first); none with Route 53 or a
    /// shared target group.
    public var forwards: [DeploymentSpec.TrafficForward] {
        if settings[AWSKey.route53] != nil || settings[AWSKey.shared] != nil { return [] }
        if listenerArns != nil || ruleArns != nil {
            return (listenerArns ?? []).map(DeploymentSpec.TrafficForward.listener) + (ruleArns ?? []).map(DeploymentSpec.TrafficForward.rule)
        }
        return [ruleArn.map(DeploymentSpec.TrafficForward.rule) ?? .listener(primaryForward)]
    }
}

extension DeploymentSpec {
    /// The listener that carries the test route's rule: the one the route names, else the primary forward.
    public var testRouteForward: String? { testRoute.map { $0.forward ?? traffic.primaryForward } }

    /// `traffic.shared`: the scale-out pattern ("Swap the Auto Scaling Group Behind the ELB" in AWS's whitepaper
    /// "Blue/Green Deployments on AWS"): green's group joins the target group blue's stands in, and a step's weight is
    /// green's share of the healthy instances behind it.
    public struct SharedTraffic: Sendable, Hashable, Codable {
        /// Where blue and green stand together, as one id every target-group list of the plan carries: the target
        /// group's ARN, or for a Classic Load Balancer `loadbalancer/NAME` (the resource part of its ARN). Stored as
        /// `targetGroup`, the key records before Classic Load Balancers have.
        public var targetGroup: String
        /// `traffic.shared.load_balancer_name`: the Classic Load Balancer blue and green share; nil for a target group.
        public var loadBalancerName: String?

        public init(targetGroup: String) { self.targetGroup = targetGroup }

        /// Blue and green registered with one Classic Load Balancer.
        public init(classicLoadBalancer name: String) {
            self.targetGroup = Self.classicPrefix + name
            self.loadBalancerName = name
        }

        /// The prefix of a Classic Load Balancer's pool id.
        public static let classicPrefix = "loadbalancer/"

        /// The Classic Load Balancer a pool id names, nil for a target group's ARN.
        public static func classicName(of pool: String) -> String? {
            pool.hasPrefix(classicPrefix) ? String(pool.dropFirst(classicPrefix.count)) : nil
        }

        /// A pool id as a person reads it: a Classic Load Balancer's by its name, a target group's ARN as it is.
        public static func display(_ pool: String) -> String { classicName(of: pool).map { "Classic Load Balancer \($0)" } ?? pool }

        /// A pool id with its kind, for sentences: "target group ARN" or "Classic Load Balancer NAME".
        public static func named(_ pool: String) -> String { classicName(of: pool) == nil ? "target group \(pool)" : display(pool) }

        /// This pool with its kind, for sentences (`named`).
        public var pool: String { Self.named(targetGroup) }

        public var description: String { "\(pool) (shared by blue and green)" }
    }

    /// `traffic.route53`: one name's two weighted record sets, one per stack, each stack with its own load balancer.
    public struct Route53Traffic: Sendable, Hashable, Codable {
        /// The bare id (`Z123`), whether the file wrote `/hostedzone/Z123` or `Z123`.
        public var hostedZoneId: String
        public var recordName: String
        /// `A`, `AAAA` (alias records) or `CNAME`.
        public var recordType: String
        /// Exactly two, in the file's order.
        public var records: [Route53Record]

        public init(hostedZoneId: String, recordName: String, recordType: String, records: [Route53Record]) {
            self.hostedZoneId = hostedZoneId
            self.recordName = recordName
            self.recordType = recordType
            self.records = records
        }

        /// Where green's probe goes: a URL naming the record itself (`http://app.example.com/health`) would reach
        /// whichever stack DNS picks, so its host becomes green's own target (its load balancer's DNS name), and the
        /// record's name (with the URL's port) is the `Host` header to send; any other URL is green's endpoint already
        /// and is used as written (no header).
        public func probe(_ url: String, greenPool greenTargetGroup: String) -> (url: String, hostHeader: String?) {
            guard let green = record(targetGroup: greenTargetGroup), var parts = URLComponents(string: url), let host = parts.host,
                  Self.fqdn(host) == Self.fqdn(recordName) else { return (url, nil) }
            let header = host + (parts.port.map { ":\($0)" } ?? "")
            parts.host = green.target.hasSuffix(".") ? String(green.target.dropLast()) : green.target
            return (parts.string ?? url, header)
        }

        static func fqdn(_ name: String) -> String { name.lowercased().hasSuffix(".") ? name.lowercased() : name.lowercased() + "." }

        /// The record whose stack stands behind a target group.
        public func record(targetGroup: String) -> Route53Record? { records.first { $0.targetGroup == targetGroup } }

        public var description: String {
            "Route 53 records \(recordName) \(recordType) (\(records.map(\.setIdentifier).joined(separator: ", "))) in hosted zone \(hostedZoneId)"
        }
    }

    /// One stack's weighted record set.
    public struct Route53Record: Sendable, Hashable, Codable {
        public var setIdentifier: String
        /// The stack's endpoint the record points at: the alias target's DNS name, or the CNAME value.
        public var target: String
        /// The stack's target group: where its health is read and where green's group is attached.
        public var targetGroup: String

        public init(setIdentifier: String, target: String, targetGroup: String) {
            self.setIdentifier = setIdentifier
            self.target = target
            self.targetGroup = targetGroup
        }
    }

    /// One forward action that carries the service's traffic: a listener's default action, or a listener rule's.
    public enum TrafficForward: Sendable, Hashable, Codable, CustomStringConvertible {
        case listener(String)
        case rule(String)

        /// The listener's or the rule's ARN.
        public var arn: String {
            switch self {
            case .listener(let arn), .rule(let arn): return arn
            }
        }

        public var description: String {
            switch self {
            case .listener(let arn): return "listener \(arn)"
            case .rule(let arn): return "listener rule \(arn)"
            }
        }

        /// The listener a rule ARN belongs to (`…:listener-rule/app/N/LB/L/R` → `…:listener/app/N/LB/L`).
        public static func listenerOf(rule arn: String) -> String {
            var parts = arn.replacingOccurrences(of: ":listener-rule/", with: ":listener/").split(separator: "/", omittingEmptySubsequences: false)
            if parts.count > 1 { parts.removeLast() }
            return parts.joined(separator: "/")
        }
    }
}
