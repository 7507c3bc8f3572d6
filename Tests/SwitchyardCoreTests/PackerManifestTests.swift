import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct PackerManifestTests {
    static var sample: Data {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("deployments/packer-manifest.json").path) {
            url.deleteLastPathComponent()
        }
        return FileManager.default.contents(atPath: url.appendingPathComponent("deployments/packer-manifest.json").path) ?? Data()
    }

    func manifest(_ text: String) throws -> PackerManifest { try PackerManifest.parse(Data(text.utf8), path: "m.json") }

    @Test func theSampleGivesTheLastBuildOfTheLastRunForEachRegion() throws {
        let m = try PackerManifest.parse(Self.sample, path: "deployments/packer-manifest.json")
        #expect(m.builds.count == 3)
        let (ami, build) = try m.ami(region: "us-east-1", build: nil)
        #expect(ami == "ami-0aaaabbbbccccdddd" && build.name == "web-arm64")
        #expect(try m.ami(region: "us-east-1", build: "web").ami == "ami-0123456789abcdef0")
        #expect(try m.ami(region: "eu-west-1", build: "web").ami == "ami-0fedcba9876543210")
    }

    @Test func oneRegionAndOneBuild() throws {
        let m = try manifest(#"{"builds":[{"name":"app","builder_type":"amazon-ebs","artifact_id":"us-west-2:ami-0123456789abcdef0"}]}"#)
        #expect(try m.ami(region: "us-west-2", build: nil).ami == "ami-0123456789abcdef0")
    }

    @Test func withoutRunIdsTheLastBuildInTheFileWins() throws {
        let m = try manifest(#"{"builds":[{"name":"a","artifact_id":"us-east-1:ami-11111111"},{"name":"b","artifact_id":"us-east-1:ami-22222222"}]}"#)
        #expect(try m.ami(region: "us-east-1", build: nil).ami == "ami-22222222")
        #expect(try m.ami(region: "us-east-1", build: "a").ami == "ami-11111111")
    }

    @Test func everyWayOfNotHavingTheAMIIsNamed() throws {
        let sample = try PackerManifest.parse(Self.sample, path: "p.json")
        var error = #expect(throws: PackerManifestError.self) { try sample.ami(region: "ap-south-1", build: "web") }
        #expect(error?.description == "p.json: build `web` has no AMI for ap-south-1, the deployment file's region (it has AMIs for eu-west-1, us-east-1)")
        error = #expect(throws: PackerManifestError.self) { try sample.ami(region: "us-east-1", build: "api") }
        #expect(error?.description == "p.json has no build named `api` (it has `web`, `web-arm64`)")
        error = #expect(throws: PackerManifestError.self) { try manifest(#"{"builds":[]}"#).ami(region: "us-east-1", build: nil) }
        #expect(error?.description == "m.json lists no builds")
        error = #expect(throws: PackerManifestError.self) { try manifest("not json") }
        #expect(error?.description.hasPrefix("m.json is not JSON") == true)
        error = #expect(throws: PackerManifestError.self) { try manifest(#"{"artifacts":[]}"#) }
        #expect(error?.description == "m.json is not a Packer manifest: it has no `builds` list")
        error = #expect(throws: PackerManifestError.self) { try manifest(#"{"builds":[{"name":"docker"}]}"#) }
        #expect(error?.description == "m.json: builds[0] has no artifact_id")
        error = #expect(throws: PackerManifestError.self) {
            try manifest(#"{"builds":[{"name":"img","artifact_id":"sha256:abc"}]}"#).ami(region: "us-east-1", build: nil)
        }
        #expect(error?.description == "m.json: build `img` has no AMI for us-east-1, the deployment file's region (it has no AMI at all)")
    }
}

@Suite struct ExampleFileTests {
    static func example(_ name: String) -> String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("deployments/\(name)").path) {
            url.deleteLastPathComponent()
        }
        return (try? String(contentsOf: url.appendingPathComponent("deployments/\(name)"), encoding: .utf8)) ?? ""
    }

    @Test func theFullExampleUsesEveryKeyAndIsValid() throws {
        let spec = try DeploymentFile.parse(Self.example("web.yaml"), path: "deployments/web.yaml")
        #expect(spec.steps.contains(.pause))
        #expect(spec.notify?.webhooks.count == 2 && spec.checks.http != nil && !spec.checks.alarms.isEmpty)
        #expect(HookPoint.allCases.allSatisfy { !(spec.hooks?[$0] ?? []).isEmpty }, "every hook point")
        #expect(spec.traffic.settle == DeploymentSpec.Traffic.defaultSettle)
    }

    @Test func theDemoTemplateIsValid() throws {
        let spec = try DeploymentFile.parse(Self.example("demo.yaml"), path: "deployments/demo.yaml")
        #expect(spec.service == "demo" && spec.weightSteps.map(\.weight) == [10, 50, 100])
    }
}
