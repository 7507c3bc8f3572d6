import AWS
import Orchestrator
import SwitchyardCore

/// The traffic backends, by the kind the file's `traffic:` section chose (`DeploymentSpec.Traffic.kind`): one line
/// each. Adding a backend is a section in the parser's `trafficSections`, a kind with its traits, a router, and a
/// line here (docs/traffic-backends.md).
public enum TrafficBackends {
    public typealias Make = @Sendable (DeploymentSpec, AWSClients, DeploymentClock) -> any TrafficRouter

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
        guard let make = registered[spec.traffic.kind] else { preconditionFailure("no traffic backend registered for \(spec.traffic.kind)") }
        return make(spec, aws, clock)
    }
}
