import Foundation
import HTTP
import Testing
@testable import Azure

/// One scale set VM as ARM answers it with `$expand=instanceView` (the shapes of azure-mgmt-compute's
/// VirtualMachineScaleSetVM and VirtualMachineScaleSetVMInstanceView).
func scaleSetVM(_ id: String, provisioning: String = "Succeeded", power: String? = "running", health: String? = nil,
                latest: Bool = true, image: String = "/subscriptions/s/resourceGroups/img/providers/Microsoft.Compute/galleries/g/images/web/versions/1.4.0") -> [String: Any] {
    var statuses: [[String: Any]] = [["code": "ProvisioningState/\(provisioning.lowercased())", "level": "Info"]]
    if let power { statuses.append(["code": "PowerState/\(power)", "level": "Info"]) }
    var view: [String: Any] = ["statuses": statuses]
    if let health { view["vmHealth"] = ["status": ["code": "HealthState/\(health)", "level": "Info"]] }
    return ["id": "\(vmss)/virtualMachines/\(id)", "instanceId": id,
            "properties": ["provisioningState": provisioning, "latestModelApplied": latest, "instanceView": view,
                           "storageProfile": ["imageReference": ["id": image]]]]
}

@Suite struct ScaleSetMembersTests {
    static let listing = "GET \(vmss)/virtualMachines"

    @Test func everyPageIsReadAndAnInstanceServesOnlyProvisionedRunningAndHealthyWhereTheExtensionReports() async throws {
        let next = "http://127.0.0.1:9\(vmss)/virtualMachines?api-version=2026-04-01&$expand=instanceView&$skiptoken=3"
        let arm = FakeARM([Self.listing: [
            FakeARM.answer(200, ["value": [scaleSetVM("0", health: "healthy"), scaleSetVM("1", health: "initializing"),
                                           scaleSetVM("10", provisioning: "Creating", power: "starting")], "nextLink": next]),
            FakeARM.answer(200, ["value": [scaleSetVM("2", health: "unhealthy"), scaleSetVM("3", health: "unknown"),
                                           scaleSetVM("4", provisioning: "Failed", power: nil, latest: false)]]),
        ]])
        let capacity = try await ScaleSetMembers.read(client(arm), scaleSet: vmss)
        #expect(capacity.members.map(\.instanceId) == ["0", "1", "2", "3", "4", "10"], "in instance order, both pages")
        #expect(capacity.members.filter(\.inService).map(\.instanceId) == ["0"])
        #expect(capacity.failing.map(\.instanceId) == ["2", "4"], "unhealthy and failed are evidence; initializing, unknown and creating are not")
        #expect(capacity.outdated.map(\.instanceId) == ["4"])
        #expect(capacity.summary == "1/6 in service (1 running healthy, 1 running initializing, 1 running unhealthy, 1 running unknown, 1 Failed, 1 Creating)")
        let urls = arm.requests.map(\.url.absoluteString)
        #expect(urls.count == 2 && urls[0].contains("api-version=2026-04-01") && urls[0].contains("$expand=instanceView") && urls[1] == next)
        // Without the Application Health extension, provisioning and power alone decide.
        let bare = try ScaleSetMembers.parse(page: try JSONSerialization.data(withJSONObject: ["value": [scaleSetVM("0"), scaleSetVM("1", power: "stopped")]]), scaleSet: vmss)
        #expect(bare.map(\.inService) == [true, false] && bare.allSatisfy { $0.health == nil && !$0.failing })
    }

    @Test func aNextLinkOffARMsHostOrOneThatRepeatsIsNotFollowed() async throws {
        let foreign = FakeARM([Self.listing: [FakeARM.answer(200, ["value": [scaleSetVM("0")], "nextLink": "https://evil.example/steal?x=1"])]])
        await #expect(throws: ARMError.self) { _ = try await ScaleSetMembers.read(client(foreign), scaleSet: vmss) }
        #expect(foreign.requests.count == 1, "the bearer token never goes to another host")
        let same = "http://127.0.0.1:9\(vmss)/virtualMachines?api-version=2026-04-01&$skiptoken=1"
        let looping = FakeARM([Self.listing: [FakeARM.answer(200, ["value": [scaleSetVM("0")], "nextLink": same])]])
        do {
            _ = try await ScaleSetMembers.read(client(looping), scaleSet: vmss)
            Issue.record("a repeating nextLink was followed forever")
        } catch let error as ARMError {
            #expect(error.code == "RunawayNextLink" && looping.requests.count == 2)
        }
    }

    @Test func anAnswerThatIsNotAnInstanceListingNamesTheScaleSetAndWhat() throws {
        #expect(throws: ScaleSetReadError(scaleSet: vmss, problem: "the instance listing is not an object with a value list")) {
            try ScaleSetMembers.parse(page: Data("[]".utf8), scaleSet: vmss)
        }
        let odd = try JSONSerialization.data(withJSONObject: ["value": [scaleSetVM("7", health: "sleepy")]])
        #expect(throws: ScaleSetReadError.self) { try ScaleSetMembers.parse(page: odd, scaleSet: vmss) }
        let noId = try JSONSerialization.data(withJSONObject: ["value": [["id": "x", "properties": [:] as [String: Any]]]])
        #expect(throws: ScaleSetReadError.self) { try ScaleSetMembers.parse(page: noId, scaleSet: vmss) }
    }
}
