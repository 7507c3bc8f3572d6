import SwitchyardCore
import Testing
import Yams

/// The core reads its sections with any cloud's part of the file: here a small cloud whose traffic is one `pool` and
/// whose fleet is one `group`, placed by `location`. Nothing of AWS is in it, so what passes here is the core's alone.
struct ToyCloud: ProviderFileFormat {
    let schema: [String: [String]] = ["": ["location"], "traffic": ["pool", "settle"], "fleet": ["group"], "checks": ["gauge"]]
    let requiredKeys = ["location"]

    func location(_ reader: inout FileReader, _ top: [String: Node]) -> String? { reader.string(top["location"], "location") }

    func traffic(_ reader: inout FileReader, _ mapping: Node.Mapping, location: String?) -> DeploymentSpec.Traffic? {
        let f = reader.fields(mapping, at: "traffic", required: ["pool"])
        let settle = reader.settle(f["settle"])
        guard let pool = reader.string(f["pool"], "traffic.pool") else { return nil }
        return DeploymentSpec.Traffic(shared: DeploymentSpec.SharedTraffic(targetGroup: pool), settle: settle)
    }

    func fleet(_ reader: inout FileReader, _ node: Node?) -> DeploymentSpec.Fleet? {
        var fleet = DeploymentSpec.Fleet()
        guard let node else { return fleet }
        guard let m = reader.mapping(node, "fleet") else { return nil }
        fleet.blueGroupName = reader.string(reader.fields(m, at: "fleet")["group"], "fleet.group")
        return fleet
    }

    func checks(_ reader: inout FileReader, _ f: [String: Node], into checks: inout DeploymentSpec.Checks) {
        if let name = reader.string(f["gauge"], "checks.gauge") { checks.alarms = [name] }
    }

    func testRouteForward(_ reader: inout FileReader, _ f: [String: Node], key: String) -> String? { nil }

    func crossCheck(_ reader: inout FileReader, top: [String: Node], traffic: DeploymentSpec.Traffic, checks: DeploymentSpec.Checks) {
        if checks.alarms == ["forbidden"] { reader.add(top["checks"], "checks.gauge", "is forbidden with this traffic") }
    }
}

@Suite struct ProviderFileFormatTests {
    static let file = """
        service: web
        location: moon-base-1
        traffic:
          pool: p-1
          settle: 3s
        fleet:
          group: web-blue
        steps:
          - weight: 50
            bake: 1m
          - weight: 100
        checks:
          interval: 5s
          gauge: latency
        hooks:
          before_traffic:
            - run: [./smoke]
        """

    @Test func theCoreReadsItsSectionsBesideAnotherCloudsOwn() throws {
        let spec = try DeploymentFile.parse(Self.file, path: "web.yaml", format: ToyCloud())
        #expect(spec.service == "web" && spec.region == "moon-base-1")
        #expect(spec.traffic.pools == ["p-1"] && spec.traffic.settle == .seconds(3))
        #expect(spec.fleet.blueGroupName == "web-blue" && spec.checks.alarms == ["latency"] && spec.checks.interval == .seconds(5))
        #expect(spec.steps.count == 2 && spec.hooks?.beforeTraffic.first?.run == ["./smoke"])
    }

    @Test func anotherCloudsKeysAreUnknownHereAndItsOwnArePlacedAndReferenced() throws {
        // AWS's keys mean nothing to this cloud: `region` and `listener_arn` are unknown, and a key of its own in the
        // wrong section names where it belongs in its schema.
        let text = Self.file.replacingOccurrences(of: "location: moon-base-1", with: "region: us-east-1\npool: p-2")
            .replacingOccurrences(of: "  pool: p-1", with: "  listener_arn: x")
        let error = try #require(throws: DeploymentFileError.self) { try DeploymentFile.parse(text, path: "web.yaml", format: ToyCloud()) }
        let byKey = Dictionary(error.issues.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["region"]?.problem.hasPrefix("unknown key") == true)
        #expect(byKey["pool"]?.problem == "unknown key: did you mean `traffic.pool`?")
        #expect(byKey["pool"]?.reference == "docs/deployment-file.md#traffic-pool")
        #expect(byKey["traffic.listener_arn"]?.problem.hasPrefix("unknown key") == true)
        #expect(byKey["location"]?.problem == "required key is missing")
        #expect(byKey["traffic.pool"]?.problem == "required key is missing")
    }

    @Test func theCloudsCrossCheckRunsOnceItsSectionsRead() throws {
        let text = Self.file.replacingOccurrences(of: "gauge: latency", with: "gauge: forbidden")
        let error = try #require(throws: DeploymentFileError.self) { try DeploymentFile.parse(text, path: "web.yaml", format: ToyCloud()) }
        #expect(error.issues.map(\.key) == ["checks.gauge"])
    }

    @Test func aCloudsTopLevelKeysComeRightAfterServiceInTheSchema() {
        let top = FileSchema(adding: ToyCloud()).sections[""] ?? []
        #expect(top.prefix(3) == ["service", "location", "traffic"])
        #expect(FileSchema(adding: ToyCloud()).sections["checks"]?.last == "gauge")
    }
}
