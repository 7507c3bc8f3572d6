import Foundation

/// A validated deployment file: everything Switchyard needs to know about one service.
public struct DeploymentSpec: Sendable, Hashable, Codable {
    public var service: String
    public var region: String
    public var traffic: Traffic
    public var fleet: Fleet
    public var steps: [Step]
    public var checks: Checks
    public var promotion: Promotion
    public var notify: Notify?
    /// Commands run at named points of the release (`hooks`); nil in records written before hooks existed, and when
    /// the file has none.
    public var hooks: Hooks?

    public init(service: String, region: String, traffic: Traffic, fleet: Fleet, steps: [Step], checks: Checks, promotion: Promotion,
                notify: Notify? = nil, hooks: Hooks? = nil) {
        self.notify = notify
        self.hooks = hooks
        self.service = service
        self.region = region
        self.traffic = traffic
        self.fleet = fleet
        self.steps = steps
        self.checks = checks
        self.promotion = promotion
    }

    /// Where the traffic is shifted: listeners' default actions and listener rules, all moved together.
    ///
    /// The single keys of older files (`listener_arn`, optionally narrowed to one `rule_arn`) are kept as they were
    /// written; `listenerArns`/`ruleArns` are set only when the file uses the list keys, so records stored before
    /// several forwards could be named decode and mean what they meant.
    public struct Traffic: Sendable, Hashable, Codable {
        /// The primary forward (ALB: the listener): `listener_arn`, else the first of `listener_arns`, else the listener of the first rule.
        /// The test route's rule goes on it unless `checks.http.test_route.listener_arn` says otherwise.
        public var primaryForward: String
        public var ruleArn: String?
        /// Where the fleets receive traffic, blue's first (ALB, Route 53: the two target groups; shared: the one pool).
        public var pools: [String]
        /// Every listener whose default action is shifted, when the file uses the list keys.
        public var listenerArns: [String]?
        /// Every rule whose forward action is shifted, when the file uses the list keys.
        public var ruleArns: [String]?
        /// Two whole stacks behind Route 53 weighted records (`traffic.route53`): then no listener is shifted
        /// (`primaryForward` is empty, `forwards` none) and `pools` are the records' target groups, in file order.
        public var route53: Route53Traffic?
        /// Blue and green behind one target group (`traffic.shared`, the scale-out pattern): the share moves by
        /// instance counts; `primaryForward` is empty, `forwards` none, and `pools` holds the one target group.
        public var shared: SharedTraffic?
        /// `traffic.settle`: how long a confirmed listener change takes to reach every load balancer node; nil when the
        /// file leaves it to the default (and in records written before it existed).
        public var settle: TimeSpan?

        /// The settle of a file that names none. ALB nodes apply a listener or rule change seconds after the API
        /// accepts it; AWS publishes no figure, and users measure from a few seconds to about ten (argo-rollouts
        /// #4595, #3926, #3333; aws-load-balancer-controller #1719): 15 s is the longest of those with half again.
        public static let defaultSettle = TimeSpan.seconds(15)
        /// The longest `traffic.settle` a file may ask for.
        public static let maxSettle = TimeSpan.minutes(10)

        /// Stored under the AWS names records always had.
        enum CodingKeys: String, CodingKey {
            case primaryForward = "listenerArn", ruleArn, pools = "targetGroups", listenerArns, ruleArns, route53, shared, settle
        }

        public init(primaryForward: String, ruleArn: String? = nil, pools: [String], listenerArns: [String]? = nil, ruleArns: [String]? = nil,
                    route53: Route53Traffic? = nil, shared: SharedTraffic? = nil, settle: TimeSpan? = nil) {
            self.settle = settle
            self.shared = shared
            self.primaryForward = primaryForward
            self.ruleArn = ruleArn
            self.pools = pools
            self.listenerArns = listenerArns
            self.ruleArns = ruleArns
            self.route53 = route53
        }

        /// The traffic of two stacks moved by their Route 53 weighted records.
        public init(route53: Route53Traffic, settle: TimeSpan? = nil) {
            self.init(primaryForward: "", pools: route53.records.map(\.targetGroup), route53: route53, settle: settle)
        }

        /// Blue and green behind one target group, moved by instance counts.
        public init(shared: SharedTraffic, settle: TimeSpan? = nil) {
            self.init(primaryForward: "", pools: [shared.targetGroup], shared: shared, settle: settle)
        }

        /// Every forward action this release shifts, in the file's order (listeners first); none with Route 53 or a
        /// shared target group.
        public var forwards: [TrafficForward] {
            if route53 != nil || shared != nil { return [] }
            if listenerArns != nil || ruleArns != nil {
                return (listenerArns ?? []).map(TrafficForward.listener) + (ruleArns ?? []).map(TrafficForward.rule)
            }
            return [ruleArn.map(TrafficForward.rule) ?? .listener(primaryForward)]
        }
    }

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

    public struct Fleet: Sendable, Hashable, Codable {
        /// What to do when blue also stands in target groups (or classic load balancers) outside the shifted pair.
        public enum OtherPools: String, Sendable, Hashable, Codable, CaseIterable {
            /// `plan` and `start` refuse, naming them.
            case refuse
            /// Green joins them when it is promoted (and, being deleted, leaves them on a rollback).
            case joinAtPromotion = "join_at_promotion"
        }
        /// What happens to the launch template's default version.
        public enum TemplateDefault: String, Sendable, Hashable, Codable, CaseIterable {
            /// Left alone.
            case keep
            /// Green's version becomes the default at promotion (for tools that read the default, such as Terraform).
            case promote
        }

        /// How green comes to exist.
        public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
            /// Green is a new group cloned from blue, deleted on rollback or once blue's successor is retired.
            case clone
            /// Green is the idle one of two standing groups (`fleet.pair`), owned by another tool such as Terraform:
            /// no group is ever created or deleted, only updated and scaled.
            case pair
        }

        public var blueGroupName: String?
        public var capacityTimeout: TimeSpan
        public var otherPools: OtherPools
        public var templateDefault: TemplateDefault
        public var mode: Mode
        /// The two standing groups of `fleet.mode: pair`, as the file names them (empty in clone mode).
        public var pair: [String]
        public init(blueGroupName: String? = nil, capacityTimeout: TimeSpan = .minutes(10), otherPools: OtherPools = .refuse,
                    templateDefault: TemplateDefault = .keep, mode: Mode = .clone, pair: [String] = []) {
            self.blueGroupName = blueGroupName
            self.capacityTimeout = capacityTimeout
            self.otherPools = otherPools
            self.templateDefault = templateDefault
            self.mode = mode
            self.pair = pair
        }

        /// Stored under the AWS names records always had.
        enum CodingKeys: String, CodingKey {
            case blueGroupName = "blueAutoScalingGroup", capacityTimeout, otherPools = "otherTargetGroups", templateDefault = "launchTemplateDefault", mode, pair
        }

        // Records stored before these keys existed decode with the defaults.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            blueGroupName = try c.decodeIfPresent(String.self, forKey: .blueGroupName)
            capacityTimeout = try c.decode(TimeSpan.self, forKey: .capacityTimeout)
            otherPools = try c.decodeIfPresent(OtherPools.self, forKey: .otherPools) ?? .refuse
            templateDefault = try c.decodeIfPresent(TemplateDefault.self, forKey: .templateDefault) ?? .keep
            mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? .clone
            pair = try c.decodeIfPresent([String].self, forKey: .pair) ?? []
        }
    }

    /// One entry of `steps`: a green weight held for a bake time, or a manual gate.
    public enum Step: Sendable, Hashable, Codable, CustomStringConvertible {
        case weight(Int, bake: TimeSpan)
        case pause

        public var weight: Int? {
            if case .weight(let w, _) = self { return w }
            return nil
        }

        public var description: String {
            switch self {
            case .weight(let w, let bake): return "\(w)% for \(bake)"
            case .pause: return "pause"
            }
        }
    }

    public struct Checks: Sendable, Hashable, Codable {
        public var interval: TimeSpan
        public var healthyTimeout: TimeSpan
        public var maxUnhealthyTargets: Int
        public var alarms: [String]
        public var http: HTTPProbe?
        /// The cloud's metric checks (`checks.metrics`; AWS: CloudWatch's, `MetricCheck` in the AWS provider), kept
        /// as the cloud encodes them: the core judges their results, never their queries.
        public var metrics: JSONValue
        public init(interval: TimeSpan = .seconds(10), healthyTimeout: TimeSpan = .minutes(5), maxUnhealthyTargets: Int = 0, alarms: [String] = [], http: HTTPProbe? = nil,
                    metrics: JSONValue = .none) {
            self.interval = interval
            self.healthyTimeout = healthyTimeout
            self.maxUnhealthyTargets = maxUnhealthyTargets
            self.alarms = alarms
            self.http = http
            self.metrics = metrics
        }

        /// Records stored before metric checks existed have no `metrics`: they had none.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            interval = try c.decode(TimeSpan.self, forKey: .interval)
            healthyTimeout = try c.decode(TimeSpan.self, forKey: .healthyTimeout)
            maxUnhealthyTargets = try c.decode(Int.self, forKey: .maxUnhealthyTargets)
            alarms = try c.decode([String].self, forKey: .alarms)
            http = try c.decodeIfPresent(HTTPProbe.self, forKey: .http)
            metrics = try c.decodeIfPresent(JSONValue.self, forKey: .metrics) ?? .none
        }
    }

    public struct HTTPProbe: Sendable, Hashable, Codable {
        public var url: String
        public var expectStatus: [Int]
        public var timeout: TimeSpan
        public var failureThreshold: Int
        /// When set, the release puts a listener rule in front of everything that sends requests carrying this
        /// header to green's target group only, and the probe sends it: green is probed whichever target group it is.
        public var testRoute: TestRoute?
        public init(url: String, expectStatus: [Int] = [200], timeout: TimeSpan = .seconds(2), failureThreshold: Int = 3, testRoute: TestRoute? = nil) {
            self.url = url
            self.expectStatus = expectStatus
            self.timeout = timeout
            self.failureThreshold = failureThreshold
            self.testRoute = testRoute
        }
    }

    /// The test route of `checks.http.test_route`: `<header>: green` reaches green for the length of the release.
    public struct TestRoute: Sendable, Hashable, Codable {
        public static let defaultHeader = "X-Switchyard-Route"
        /// The header's value; fixed, so a person can probe green by hand with the same header.
        public static let value = "green"
        public var header: String
        /// The forward (ALB: the listener) that gets the rule; nil means `traffic.listener_arn` (the primary one).
        public var forward: String?
        /// Stored under the AWS names records always had.
        enum CodingKeys: String, CodingKey { case header, forward = "listenerArn" }
        public init(header: String = TestRoute.defaultHeader, forward: String? = nil) {
            self.header = header
            self.forward = forward
        }
    }

    public struct Promotion: Sendable, Hashable, Codable {
        public var blueRetention: TimeSpan
        public init(blueRetention: TimeSpan = .zero) { self.blueRetention = blueRetention }
    }

    /// Webhooks told about every state change and step: plain JSON, or Slack's `{"text": …}`.
    public struct Notify: Sendable, Hashable, Codable {
        public enum Format: String, Sendable, Hashable, Codable, CaseIterable { case json, slack }
        public struct Webhook: Sendable, Hashable, Codable {
            public var url: String
            public var format: Format
            public init(url: String, format: Format = .json) {
                self.url = url
                self.format = format
            }
        }
        public var webhooks: [Webhook]
        /// Per attempt.
        public var timeout: TimeSpan
        /// Attempts after the first, for a 5xx, a timeout or a connection error.
        public var retries: Int
        public init(webhooks: [Webhook], timeout: TimeSpan = .seconds(2), retries: Int = 2) {
            self.webhooks = webhooks
            self.timeout = timeout
            self.retries = retries
        }
    }

    /// The weight steps only, in order, without manual gates.
    public var weightSteps: [(weight: Int, bake: TimeSpan)] {
        steps.compactMap { if case .weight(let w, let b) = $0 { return (w, b) } else { return nil } }
    }

    /// The test route, if the HTTP probe asks for one.
    public var testRoute: TestRoute? { checks.http?.testRoute }

    /// The listener that carries the test route's rule.
    public var testRouteForward: String? { testRoute.map { $0.forward ?? traffic.primaryForward } }

    /// The sum of every step's bake time.
    public var totalBake: TimeSpan {
        weightSteps.reduce(.zero) { $0 + $1.bake }
    }
}
