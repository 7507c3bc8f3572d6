import AWSProvider
import Foundation
import SwitchyardCore
import Testing

/// The core keeps a file's `traffic` as its pools, its settle and the backend's settings; the record's bytes are the
/// ones switchyards wrote when the core held AWS's types, and a record's backend is the one registered for its keys.
@Suite struct TrafficSettingsTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `traffic` objects as the core with AWS's types encoded them (0.2): ALB with a rule, Route 53, a shared
    /// Classic Load Balancer with a settle.
    static let written: [(kind: TrafficBackendKind, json: String)] = [
        (.alb, #"{"listenerArn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2","ruleArn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3","targetGroups":["tg-a","tg-b"]}"#),
        (.alb, #"{"listenerArn":"arn:L1","listenerArns":["arn:L1","arn:L2"],"ruleArns":[],"targetGroups":["tg-a","tg-b"]}"#),
        (.route53, #"{"listenerArn":"","route53":{"hostedZoneId":"Z1","recordName":"app.example.com","recordType":"A","records":[{"setIdentifier":"blue","target":"a.elb.amazonaws.com","targetGroup":"tg-a"},{"setIdentifier":"green","target":"b.elb.amazonaws.com","targetGroup":"tg-b"}]},"settle":20000,"targetGroups":["tg-a","tg-b"]}"#),
        (.shared, #"{"listenerArn":"","settle":5000,"shared":{"loadBalancerName":"web-clb","targetGroup":"loadbalancer/web-clb"},"targetGroups":["loadbalancer/web-clb"]}"#),
    ]

    @Test func aRecordsTrafficReadsBackAsItsBackendAndIsWrittenByteForByte() throws {
        AWSTrafficBackends.register()
        for (kind, json) in Self.written {
            let traffic = try JSONDecoder().decode(DeploymentSpec.Traffic.self, from: Data(json.utf8))
            #expect(traffic.kind == kind, "\(json)")
            #expect(String(decoding: try Self.encoder.encode(traffic), as: UTF8.self) == json)
        }
    }

    /// What the AWS provider builds is what the core with AWS's types built: the same keys and values.
    @Test func theProvidersSettingsAreTheKeysTheRecordAlwaysHad() throws {
        let records = [DeploymentSpec.Route53Record(setIdentifier: "blue", target: "a.elb.amazonaws.com", targetGroup: "tg-a"),
                       DeploymentSpec.Route53Record(setIdentifier: "green", target: "b.elb.amazonaws.com", targetGroup: "tg-b")]
        let built: [DeploymentSpec.Traffic] = [
            .init(primaryForward: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2",
                  ruleArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3", pools: ["tg-a", "tg-b"]),
            .init(primaryForward: "arn:L1", pools: ["tg-a", "tg-b"], listenerArns: ["arn:L1", "arn:L2"], ruleArns: []),
            .init(route53: .init(hostedZoneId: "Z1", recordName: "app.example.com", recordType: "A", records: records), settle: .seconds(20)),
            .init(shared: .init(classicLoadBalancer: "web-clb"), settle: .seconds(5)),
        ]
        for (traffic, (kind, json)) in zip(built, Self.written) {
            #expect(String(decoding: try Self.encoder.encode(traffic), as: UTF8.self) == json)
            #expect(traffic.kind == kind && traffic.traits.kind == kind)
        }
        #expect(built[2].route53?.records == records && built[2].forwards.isEmpty)
        #expect(built[3].shared?.loadBalancerName == "web-clb" && built[3].poolNamed("loadbalancer/web-clb") == "Classic Load Balancer web-clb")
        #expect(built[1].forwards == [.listener("arn:L1"), .listener("arn:L2")])
    }

    /// A backend the core never heard of: registered with its own section key, a record holding that key is its,
    /// and the core asks it (not AWS) how its pools read and what hooks get.
    @Test func aBackendRegisteredByAnotherProviderIsChosenByItsSectionKey() throws {
        AWSTrafficBackends.register()
        let kind = TrafficBackendKind(rawValue: "toy_weights")
        TrafficBackends.register(TrafficBackend(
            traits: TrafficTraits(kind: kind, settlesByTTL: true, hasTestRoute: false, splitName: "toy weights", fencedName: "the toy is"),
            recordSection: "toyWeights", poolNamed: { "toy pool \($0)" },
            hookEnvironment: { traffic in ["TOY_PROFILE": traffic.settings["toyWeights"].flatMap { if case .object(let o) = $0, case .string(let p)? = o["profile"] { p } else { nil } } ?? ""] }))
        let json = #"{"targetGroups":["a","b"],"toyWeights":{"profile":"web-tm"}}"#
        let traffic = try JSONDecoder().decode(DeploymentSpec.Traffic.self, from: Data(json.utf8))
        #expect(traffic.kind == kind && traffic.traits.settlesByTTL && traffic.poolNamed("a") == "toy pool a")
        #expect(traffic.backend.hookEnvironment(traffic) == ["TOY_PROFILE": "web-tm"])
        #expect(String(decoding: try Self.encoder.encode(traffic), as: UTF8.self) == json)
        // Without the section, the record is still AWS's plain backend.
        #expect(try JSONDecoder().decode(DeploymentSpec.Traffic.self, from: Data(#"{"listenerArn":"arn:L","targetGroups":["a","b"]}"#.utf8)).kind == .alb)
    }
}
