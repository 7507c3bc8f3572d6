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

    public init(service: String, region: String, traffic: Traffic, fleet: Fleet, steps: [Step], checks: Checks, promotion: Promotion,
                notify: Notify? = nil) {
        self.notify = notify
        self.service = service
        self.region = region
        self.traffic = traffic
        self.fleet = fleet
        self.steps = steps
        self.checks = checks
        self.promotion = promotion
    }

    /// Where the traffic is shifted: a listener's default action, or one of its rules.
    public struct Traffic: Sendable, Hashable, Codable {
        public var listenerArn: String
        public var ruleArn: String?
        public var targetGroups: [String]
        public init(listenerArn: String, ruleArn: String? = nil, targetGroups: [String]) {
            self.listenerArn = listenerArn
            self.ruleArn = ruleArn
            self.targetGroups = targetGroups
        }
    }

    public struct Fleet: Sendable, Hashable, Codable {
        /// What to do when blue also stands in target groups (or classic load balancers) outside the shifted pair.
        public enum OtherTargetGroups: String, Sendable, Hashable, Codable, CaseIterable {
            /// `plan` and `start` refuse, naming them.
            case refuse
            /// Green joins them when it is promoted (and, being deleted, leaves them on a rollback).
            case joinAtPromotion = "join_at_promotion"
        }
        /// What happens to the launch template's default version.
        public enum LaunchTemplateDefault: String, Sendable, Hashable, Codable, CaseIterable {
            /// Left alone.
            case keep
            /// Green's version becomes the default at promotion (for tools that read the default, such as Terraform).
            case promote
        }

        public var blueAutoScalingGroup: String?
        public var capacityTimeout: TimeSpan
        public var otherTargetGroups: OtherTargetGroups
        public var launchTemplateDefault: LaunchTemplateDefault
        public init(blueAutoScalingGroup: String? = nil, capacityTimeout: TimeSpan = .minutes(10), otherTargetGroups: OtherTargetGroups = .refuse,
                    launchTemplateDefault: LaunchTemplateDefault = .keep) {
            self.blueAutoScalingGroup = blueAutoScalingGroup
            self.capacityTimeout = capacityTimeout
            self.otherTargetGroups = otherTargetGroups
            self.launchTemplateDefault = launchTemplateDefault
        }

        // Records stored before these keys existed decode with the defaults.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            blueAutoScalingGroup = try c.decodeIfPresent(String.self, forKey: .blueAutoScalingGroup)
            capacityTimeout = try c.decode(TimeSpan.self, forKey: .capacityTimeout)
            otherTargetGroups = try c.decodeIfPresent(OtherTargetGroups.self, forKey: .otherTargetGroups) ?? .refuse
            launchTemplateDefault = try c.decodeIfPresent(LaunchTemplateDefault.self, forKey: .launchTemplateDefault) ?? .keep
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
        public init(interval: TimeSpan = .seconds(10), healthyTimeout: TimeSpan = .minutes(5), maxUnhealthyTargets: Int = 0, alarms: [String] = [], http: HTTPProbe? = nil) {
            self.interval = interval
            self.healthyTimeout = healthyTimeout
            self.maxUnhealthyTargets = maxUnhealthyTargets
            self.alarms = alarms
            self.http = http
        }
    }

    public struct HTTPProbe: Sendable, Hashable, Codable {
        public var url: String
        public var expectStatus: [Int]
        public var timeout: TimeSpan
        public var failureThreshold: Int
        public init(url: String, expectStatus: [Int] = [200], timeout: TimeSpan = .seconds(2), failureThreshold: Int = 3) {
            self.url = url
            self.expectStatus = expectStatus
            self.timeout = timeout
            self.failureThreshold = failureThreshold
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

    /// The sum of every step's bake time.
    public var totalBake: TimeSpan {
        weightSteps.reduce(.zero) { $0 + $1.bake }
    }
}
