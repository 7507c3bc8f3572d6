import Foundation
import SQLiteStateStore
import StateStore
import SwitchyardCore

let t0 = Date(timeIntervalSince1970: 1_800_000_000)

func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-dashboard-\(UUID().uuidString)").appendingPathComponent("state.db").path
}

func sample(id: String = "20270115-080000-0001", service: String = "web", state: DeploymentState = .pending,
            steps: [DeploymentSpec.Step] = [.weight(10, bake: .seconds(30)), .pause, .weight(100, bake: .zero)]) -> Deployment {
    let spec = DeploymentSpec(
        service: service, region: "us-east-1",
        traffic: .init(pools: ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1",
                              "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2"],
                       settings: ["listenerArn": .string("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2")]),
        fleet: .init(), steps: steps,
        checks: .init(alarms: ["web-5xx"], http: .init(url: "http://127.0.0.1:9/healthz")), promotion: .init())
    let blue = BlueFleet(group: "\(service)-blue", pool: spec.traffic.pools[0], templateId: "lt-1",
                         templateName: service, templateVersion: 3, image: "ami-11111111", architecture: "x86_64",
                         minSize: 2, maxSize: 4, desiredCapacity: 2)
    let plan = ReleasePlan(spec: spec, image: "ami-22222222", blue: blue, greenPool: spec.traffic.pools[1],
                           greenGroup: "switchyard-\(service)-\(id)")
    var d = Deployment(id: id, plan: plan, fileDigest: "digest", actor: "alice@laptop", now: t0)
    d.state = state
    return d
}

func event(_ id: Int64, _ at: TimeInterval, _ from: DeploymentState, _ to: DeploymentState, _ message: String,
           _ details: [String: String] = [:], deployment: String = "20270115-080000-0001") -> StoredEvent {
    StoredEvent(id: id, deploymentId: deployment, at: t0.addingTimeInterval(at), from: from, to: to, message: message, actor: "alice@laptop", details: details)
}

func weight(_ id: Int64, _ at: TimeInterval, green: Int, settle: TimeInterval = 0, to state: DeploymentState = .shifting) -> StoredEvent {
    var details = ["green_weight": String(green), "blue_weight": String(100 - green), "confirmed_at": StoredTime.text(t0.addingTimeInterval(at))]
    if settle > 0 { details["live_at"] = StoredTime.text(t0.addingTimeInterval(at + settle)) }
    return event(id, at, state, state, "weights blue \(100 - green)% / green \(green)%", details)
}
