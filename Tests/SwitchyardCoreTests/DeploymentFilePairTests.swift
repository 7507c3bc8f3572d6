import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct DeploymentFilePairTests {
    @Test func pairModeReadsTheTwoGroups() throws {
        let spec = try DeploymentFile.parseAWS(file(extra: "fleet:\n  mode: pair\n  pair: [web-blue, web-green]\n"), path: "web.yaml")
        #expect(spec.fleet.mode == .pair)
        #expect(spec.fleet.pair == ["web-blue", "web-green"])
    }

    @Test func theDefaultModeIsCloneWithNoPair() throws {
        let spec = try DeploymentFile.parseAWS(file(), path: "web.yaml")
        #expect(spec.fleet.mode == .clone && spec.fleet.pair.isEmpty)
    }

    @Test func pairProblemsNameTheLineAndTheKey() {
        expectIssue(file(extra: "fleet:\n  mode: twins\n"), line: 13, key: "fleet.mode", "must be one of clone, pair (got \"twins\")")
        expectIssue(file(extra: "fleet:\n  mode: pair\n"), line: 13, key: "fleet.pair", "is required with fleet.mode: pair")
        expectIssue(file(extra: "fleet:\n  pair: [a, b]\n"), line: 13, key: "fleet.pair", "is only used with fleet.mode: pair")
        expectIssue(file(extra: "fleet:\n  mode: pair\n  pair: [a]\n"), line: 14, key: "fleet.pair", "must name exactly two Auto Scaling groups (got 1)")
        expectIssue(file(extra: "fleet:\n  mode: pair\n  pair: [a, b, c]\n"), line: 14, key: "fleet.pair", "(got 3)")
        expectIssue(file(extra: "fleet:\n  mode: pair\n  pair:\n    - web\n    - web\n"), line: 16, key: "fleet.pair[2]", "names web twice")
        expectIssue(file(extra: "fleet:\n  mode: pair\n  pair: [a, 3]\n"), line: 14, key: "fleet.pair[2]", "must be a string, got integer 3")
        expectIssue(file(extra: "fleet:\n  mode: pair\n  pair: web\n"), line: 14, key: "fleet.pair", "must be a list")
        expectIssue(file(extra: "fleet:\n  mode: pair\n  pair: [a, b]\n  blue_auto_scaling_group: a\n"), line: 15,
                    key: "fleet.blue_auto_scaling_group", "cannot be used with fleet.mode: pair")
    }

    /// The Terraform example's deployment file stays valid (the Terraform itself is not tested here).
    @Test func theTerraformExampleFileIsAValidPairFile() throws {
        let text = ExampleFileTests.example("terraform/web-pair.yaml")
        #expect(!text.isEmpty)
        let spec = try DeploymentFile.parseAWS(text, path: "deployments/terraform/web-pair.yaml")
        #expect(spec.fleet.mode == .pair && spec.fleet.pair == ["web-blue", "web-green"])
    }

    @Test func recordsStoredBeforePairModeDecodeAsClone() throws {
        let json = #"{"capacityTimeout": 600000}"#
        let fleet = try JSONDecoder().decode(DeploymentSpec.Fleet.self, from: Data(json.utf8))
        #expect(fleet.mode == .clone && fleet.pair.isEmpty)
    }
}
