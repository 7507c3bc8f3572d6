import AWS
import Orchestrator
import SwitchyardCore

/// AWS's traffic backends, by the kind the file's `traffic:` section chose (`DeploymentSpec.Traffic.kind`): one entry
/// each, with what the core asks of it (`TrafficBackend`) and the router that moves it. Adding a backend is a section
/// in the parser's `trafficSections`, a kind, an entry here and a router (docs/traffic-backends.md).
public enum AWSTrafficBackends {
    public typealias Make = @Sendable (DeploymentSpec, AWSClients, DeploymentClock) -> any TrafficRouter

    /// What the core asks of each backend.
    public static let backends: [TrafficBackend] = [
        TrafficBackend(
            traits: TrafficTraits(kind: .alb, settlesByTTL: false, hasTestRoute: true, splitName: "listener", fencedName: "the listener is",
                                  changeAudit: "CloudTrail's ModifyListener/ModifyRule events name who changed it"),
            recordSection: nil, poolNamed: { "target group \($0)" }),
        TrafficBackend(
            traits: TrafficTraits(
                kind: .route53, settlesByTTL: true, hasTestRoute: false,
                testRouteRefusal: "does not apply with traffic.route53: green is a whole stack with its own load balancer, "
                    + "so the probe reaches it at its own endpoint (see checks.http.url) and no listener rule is needed",
                pairRefusal: "pair does not apply with traffic.route53 yet: a pair release has only been proven behind one load balancer's "
                    + "listener; use the default fleet mode (clone) with Route 53",
                splitName: "Route 53 records", fencedName: "the stacks' target groups are",
                changeAudit: "CloudTrail's ChangeResourceRecordSets events name who changed it"),
            recordSection: DeploymentSpec.Traffic.AWSKey.route53, poolNamed: { "target group \($0)" }),
        TrafficBackend(
            traits: TrafficTraits(
                kind: .shared, settlesByTTL: false, hasTestRoute: false,
                testRouteRefusal: "does not apply with traffic.shared: blue and green stand in one target group, so no listener rule can "
                    + "send a header's requests to green alone; the probe's url must name green's own endpoint",
                pairRefusal: "pair does not apply with traffic.shared: the scale-out pattern creates green beside blue in the shared "
                    + "target group and scales the two; use the default fleet mode (clone)",
                splitByCounts: true, splitName: "shared load balancer", fencedName: "the shared target group or load balancer is"),
            recordSection: DeploymentSpec.Traffic.AWSKey.shared, poolNamed: DeploymentSpec.SharedTraffic.named,
            poolDisplay: DeploymentSpec.SharedTraffic.display,
            hookEnvironment: { traffic in
                // A Classic Load Balancer is no target group: its name goes by itself, and the target-group variables
                // are empty rather than a pool id no target-group call would take.
                guard let name = traffic.shared?.loadBalancerName else { return [:] }
                return ["SWITCHYARD_LOAD_BALANCER_NAME": name, "SWITCHYARD_GREEN_TARGET_GROUP": "", "SWITCHYARD_BLUE_TARGET_GROUP": ""]
            },
            recordFormat: { traffic in
                // A switchyard that knows no shared target group would read such a record as an ALB release with no
                // listener: 2. One whose pool is a Classic Load Balancer: 3 (a switchyard that knows only 2 would read
                // its pool id as a target group's ARN).
                traffic.shared?.loadBalancerName == nil ? 2 : 3
            }),
    ]

    /// The traits of one of AWS's backends, from the table above (a router says them without the registry).
    public static func traits(_ kind: TrafficBackendKind) -> TrafficTraits {
        guard let backend = backends.first(where: { $0.kind == kind }) else { preconditionFailure("\(kind) is no AWS traffic backend") }
        return backend.traits
    }

    /// Registers AWS's backends with the core; the CLI does it at start, a test suite in its support. Idempotent.
    public static func register() { _ = registration }
    private static let registration: Void = {
        for backend in backends { TrafficBackends.register(backend) }
        CloudWords.register(words)
    }()

    /// How the core's messages call AWS's things.
    public static let words = CloudWords(
        id: ProviderFormats.defaultName, name: "AWS", pool: "target group", template: "launch template", image: "AMI",
        hookNames: ["SWITCHYARD_IMAGE": "SWITCHYARD_AMI", "SWITCHYARD_GREEN_POOL": "SWITCHYARD_GREEN_TARGET_GROUP",
                    "SWITCHYARD_BLUE_POOL": "SWITCHYARD_BLUE_TARGET_GROUP", "SWITCHYARD_GREEN_FLEET": "SWITCHYARD_GREEN_ASG",
                    "SWITCHYARD_BLUE_FLEET": "SWITCHYARD_BLUE_ASG", "SWITCHYARD_LOCATION": "SWITCHYARD_REGION"])

    static let registered: [TrafficBackendKind: Make] = [
        .alb: { spec, aws, clock in ALBTrafficRouter(elb: aws.elb, forwards: spec.traffic.forwards, clock: clock) },
        .route53: { spec, aws, clock in
            // The kind is route53 exactly when the file's `traffic.route53` is set (`DeploymentSpec.Traffic.kind`).
            guard let records = spec.traffic.route53 else { preconditionFailure("traffic kind route53 without traffic.route53") }
            return Route53TrafficRouter(route53: aws.route53, records: records, clock: clock, elb: aws.elb)
        },
        .shared: { spec, aws, _ in
            guard let shared = spec.traffic.shared else { preconditionFailure("traffic kind shared without traffic.shared") }
            return SharedTrafficRouter(aws: aws, shared: shared)
        },
    ]

    /// The router for the spec's traffic.
    public static func router(for spec: DeploymentSpec, aws: AWSClients, clock: DeploymentClock) -> any TrafficRouter {
        register()
        guard let make = registered[spec.traffic.kind] else { preconditionFailure("no traffic backend registered for \(spec.traffic.kind)") }
        return make(spec, aws, clock)
    }
}
