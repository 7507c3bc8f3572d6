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
    /// The cloud the release runs in (`provider:`), as its format is registered (`ProviderFormats`); nil for the
    /// default one (AWS), so the records of every release before a second cloud existed read as they were written.
    public var provider: String?

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

    /// Where the traffic is shifted, as the core keeps it: the pools the fleets receive traffic in (blue's first), the
    /// settle, and the backend's own settings, which only its provider reads (`settings`; AWS: listeners and rules,
    /// `route53`, `shared`). In the record the settings' keys sit beside the core's in one `traffic` object, so the
    /// bytes are those every switchyard wrote.
    public struct Traffic: Sendable, Hashable, Codable {
        /// Where the fleets receive traffic, blue's first (AWS ALB, Route 53: the two target groups; shared: the one pool).
        public var pools: [String]
        /// `traffic.settle`: how long a confirmed change takes to reach every node that routes it; nil when the file
        /// leaves it to the default (and in records written before it existed).
        public var settle: TimeSpan?
        /// The backend's settings by record key, as its provider encodes them; which backend it is follows from them
        /// (`kind`, by the registered backends' section keys).
        public var settings: [String: JSONValue]

        /// The settle of a file that names none. Load balancer nodes apply a listener or rule change seconds after the
        /// API accepts it; AWS publishes no figure, and users measure from a few seconds to about ten (argo-rollouts
        /// #4595, #3926, #3333; aws-load-balancer-controller #1719): 15 s is the longest of those with half again.
        public static let defaultSettle = TimeSpan.seconds(15)
        /// The longest `traffic.settle` a file may ask for.
        public static let maxSettle = TimeSpan.minutes(10)

        public init(pools: [String], settle: TimeSpan? = nil, settings: [String: JSONValue]) {
            self.pools = pools
            self.settle = settle
            self.settings = settings
        }

        /// The core's keys, under the names records always had.
        static let poolsKey = "targetGroups", settleKey = "settle"

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyCodingKey.self)
            pools = try c.decode([String].self, forKey: AnyCodingKey(Self.poolsKey))
            settle = try c.decodeIfPresent(TimeSpan.self, forKey: AnyCodingKey(Self.settleKey))
            var settings: [String: JSONValue] = [:]
            for key in c.allKeys where key.stringValue != Self.poolsKey && key.stringValue != Self.settleKey {
                let value = try c.decode(JSONValue.self, forKey: key)
                // A key written as null is a key not written: Codable's optionals read either the same way.
                if value != .null { settings[key.stringValue] = value }
            }
            self.settings = settings
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: AnyCodingKey.self)
            try c.encode(pools, forKey: AnyCodingKey(Self.poolsKey))
            try c.encodeIfPresent(settle, forKey: AnyCodingKey(Self.settleKey))
            for (key, value) in settings where key != Self.poolsKey && key != Self.settleKey { try c.encode(value, forKey: AnyCodingKey(key)) }
        }
    }

    /// A coding key by name, for objects whose keys are data (a backend's settings beside the core's keys).
    struct AnyCodingKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
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

    /// The sum of every step's bake time.
    public var totalBake: TimeSpan {
        weightSteps.reduce(.zero) { $0 + $1.bake }
    }
}
