import AWSProvider
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

    @Test func theSampleGivesTheOneBuildOfTheLastRunWithAnAMIForTheRegionAndRefusesTwo() throws {
        let m = try PackerManifest.parse(Self.sample, path: "deployments/packer-manifest.json")
        #expect(m.builds.count == 3)
        // eu-west-1: only `web` of the last run has one (`web-arm64`, last in the file, is us-east-1 alone).
        let (ami, build) = try m.ami(region: "eu-west-1", build: nil)
        #expect(ami == "ami-0fedcba9876543210" && build.name == "web")
        let error = #expect(throws: PackerManifestError.self) { try m.ami(region: "us-east-1", build: nil) }
        #expect(error?.description == "deployments/packer-manifest.json: 2 builds of the last run have an AMI for us-east-1, the deployment "
            + "file's region: `web` (ami-0123456789abcdef0), `web-arm64` (ami-0aaaabbbbccccdddd); choose one with --packer-build NAME")
        #expect(try m.ami(region: "us-east-1", build: "web").ami == "ami-0123456789abcdef0")
        #expect(try m.ami(region: "us-east-1", build: "web-arm64").ami == "ami-0aaaabbbbccccdddd")
        #expect(try m.ami(region: "eu-west-1", build: "web").ami == "ami-0fedcba9876543210")
    }

    @Test func aLaterBuildOfAnotherRegionIsNotTaken() throws {
        let m = try manifest(#"{"builds":[{"name":"web","artifact_id":"us-east-1:ami-11111111","packer_run_uuid":"r"},"#
            + #"{"name":"web-eu","artifact_id":"eu-west-1:ami-22222222","packer_run_uuid":"r"}],"last_run_uuid":"r"}"#)
        #expect(try m.ami(region: "us-east-1", build: nil).ami == "ami-11111111")
        #expect(try m.ami(region: "eu-west-1", build: nil).ami == "ami-22222222")
        let error = #expect(throws: PackerManifestError.self) { try m.ami(region: "ap-south-1", build: nil) }
        #expect(error?.description == "m.json: no build of the last run has an AMI for ap-south-1, the deployment file's region (they have AMIs for eu-west-1, us-east-1)")
    }

    @Test func oneRegionAndOneBuild() throws {
        let m = try manifest(#"{"builds":[{"name":"app","builder_type":"amazon-ebs","artifact_id":"us-west-2:ami-0123456789abcdef0"}]}"#)
        #expect(try m.ami(region: "us-west-2", build: nil).ami == "ami-0123456789abcdef0")
    }

    @Test func withoutRunIdsEveryBuildCountsAndTheNewestOfANameWins() throws {
        let m = try manifest(#"{"builds":[{"name":"a","artifact_id":"us-east-1:ami-11111111"},{"name":"a","artifact_id":"us-east-1:ami-33333333"},"#
            + #"{"name":"b","artifact_id":"us-east-1:ami-22222222"}]}"#)
        let error = #expect(throws: PackerManifestError.self) { try m.ami(region: "us-east-1", build: nil) }
        #expect(error?.description.contains("`a` (ami-33333333), `b` (ami-22222222); choose one with --packer-build NAME") == true)
        #expect(try m.ami(region: "us-east-1", build: "a").ami == "ami-33333333")
        let one = try manifest(#"{"builds":[{"name":"a","artifact_id":"us-east-1:ami-11111111"},{"name":"a","artifact_id":"us-east-1:ami-22222222"}]}"#)
        #expect(try one.ami(region: "us-east-1", build: nil).ami == "ami-22222222")
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
        let spec = try DeploymentFile.parseAWS(Self.example("web.yaml"), path: "deployments/web.yaml")
        #expect(spec.steps.contains(.pause))
        #expect(spec.notify?.webhooks.count == 2 && spec.checks.http != nil && !spec.checks.alarms.isEmpty)
        #expect(HookPoint.allCases.allSatisfy { !(spec.hooks?[$0] ?? []).isEmpty }, "every hook point")
        #expect(spec.traffic.settle == DeploymentSpec.Traffic.defaultSettle)
        // The metric checks, one of each rule: a ready-made one, a ratio to blue, Mann-Whitney over an expression, bounds.
        #expect(try spec.checks.metricChecks().map(\.name) == ["alb_5xx_rate", "latency", "error_rate", "cpu"])
        #expect(spec.fleet.mode == .clone)
    }

    @Test func theDemoTemplateIsValid() throws {
        let spec = try DeploymentFile.parseAWS(Self.example("demo.yaml"), path: "deployments/demo.yaml")
        #expect(spec.service == "demo" && spec.weightSteps.map(\.weight) == [10, 50, 100])
    }
}

@Suite struct AzurePackerManifestTests {
    func manifest(_ text: String) throws -> PackerManifest { try PackerManifest.parse(Data(text.utf8), path: "m.json") }

    /// Packer's azure-arm builder writes the image's resource id as its artifact_id: the last run's one azure-arm
    /// build gives it, an amazon-ebs build beside it does not count, several need --packer-build.
    @Test func anAzureArmBuildGivesItsImagesResourceId() throws {
        let image = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/web/versions/1.4.0"
        let m = try manifest(#"{"builds":[{"name":"old","builder_type":"azure-arm","artifact_id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/web-1.3","packer_run_uuid":"q"},"#
            + #"{"name":"web","builder_type":"azure-arm","artifact_id":"\#(image)","packer_run_uuid":"r"},"#
            + #"{"name":"web-aws","builder_type":"amazon-ebs","artifact_id":"us-east-1:ami-11111111","packer_run_uuid":"r"}],"last_run_uuid":"r"}"#)
        #expect(try m.azureImage(build: nil).image == image)
        #expect(try m.azureImage(build: "old").image.hasSuffix("/images/web-1.3"))
        #expect(throws: PackerManifestError.self) { try m.azureImage(build: "web-aws") }
        let two = try manifest(#"{"builds":[{"name":"a","builder_type":"azure-arm","artifact_id":"\#(image)"},{"name":"b","builder_type":"azure-arm","artifact_id":"\#(image)"}]}"#)
        #expect { try two.azureImage(build: nil) } throws: { "\($0)".contains("2 azure-arm builds of the last run: `a`, `b`; choose one with --packer-build NAME") }
        let none = try manifest(#"{"builds":[{"name":"web-aws","builder_type":"amazon-ebs","artifact_id":"us-east-1:ami-11111111"}]}"#)
        #expect { try none.azureImage(build: nil) } throws: { "\($0)".contains("no build of the last run is an azure-arm build") }
    }
}
