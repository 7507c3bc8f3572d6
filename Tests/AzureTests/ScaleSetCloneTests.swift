import Foundation
import Testing
@testable import Azure

let bluePool = "/subscriptions/sub/resourceGroups/web-prod/providers/Microsoft.Network/loadBalancers/web-a/backendAddressPools/web-a"
let greenPool = "/subscriptions/sub/resourceGroups/web-prod/providers/Microsoft.Network/loadBalancers/web-b/backendAddressPools/web-b"
let newImage = "/subscriptions/sub/resourceGroups/images/providers/Microsoft.Compute/galleries/g/images/web/versions/1.4.0"

/// Blue as ARM's GET shows it: the body a team PUT, plus what ARM computes, minus what it never returns.
func blueScaleSet(mode: String = "Uniform", pooled: Bool = true) -> Data {
    let ip: [String: Any] = ["name": "ipconfig", "properties": ["primary": true, "subnet": ["id": "/subscriptions/sub/.../subnets/web"],
                                                                "loadBalancerBackendAddressPools": pooled ? [["id": bluePool]] : []]]
    let model: [String: Any] = [
        "id": "/subscriptions/sub/resourceGroups/web-prod/providers/Microsoft.Compute/virtualMachineScaleSets/web-blue", "name": "web-blue",
        "type": "Microsoft.Compute/virtualMachineScaleSets", "location": "westeurope", "zones": ["1", "2"], "etag": "\"3\"",
        "sku": ["name": "Standard_D2s_v5", "tier": "Standard", "capacity": 4], "tags": ["team": "web"],
        "identity": ["type": "SystemAssigned, UserAssigned", "principalId": "p", "tenantId": "t",
                     "userAssignedIdentities": ["/subscriptions/sub/.../userAssignedIdentities/web": ["principalId": "q", "clientId": "c"]]],
        "properties": [
            "orchestrationMode": mode, "overprovision": false, "upgradePolicy": ["mode": "Manual"],
            "provisioningState": "Succeeded", "uniqueId": "5c1d…", "timeCreated": "2026-12-01T10:00:00Z",
            "virtualMachineProfile": [
                "osProfile": ["computerNamePrefix": "web", "adminUsername": "azureuser",
                              "linuxConfiguration": ["disablePasswordAuthentication": true]],
                "storageProfile": ["imageReference": ["id": "/subscriptions/sub/.../versions/1.3.0"],
                                   "osDisk": ["createOption": "FromImage", "managedDisk": ["storageAccountType": "Premium_LRS"]]],
                "networkProfile": ["networkInterfaceConfigurations": [["name": "nic", "properties": ["primary": true, "ipConfigurations": [ip]]]]],
                "extensionProfile": ["extensions": [["name": "HealthExtension", "id": "x", "properties": [
                    "publisher": "Microsoft.ManagedServices", "type": "ApplicationHealthLinux", "provisioningState": "Succeeded",
                    "settings": ["protocol": "http", "port": 80, "requestPath": "/healthz"]]]]],
            ]]]
    return (try? JSONSerialization.data(withJSONObject: model)) ?? Data()
}

@Suite struct ScaleSetCloneTests {
    @Test func greenIsBlueButForTheImageItsNamesAndItsBackendPoolAndSaysWhatCannotBeCopied() throws {
        let clone = try ScaleSetClone(blue: blueScaleSet(), image: newImage, computerNamePrefix: "webg", backendPools: [greenPool],
                                      tags: ["switchyard:deployment": "d1"])
        try BodyFixtures.expectMatches(clone.body, "compute.VirtualMachineScaleSet.green.json")
        let body = try #require(try JSONSerialization.jsonObject(with: clone.body) as? [String: Any])
        #expect(Set(body.keys) == ["location", "sku", "zones", "identity", "tags", "properties"], "no id, name, type or etag of blue's")
        #expect((body["sku"] as? [String: Any])?["capacity"] as? Int == 4 && body["zones"] as? [String] == ["1", "2"])
        #expect(body["tags"] as? [String: String] == ["team": "web", "switchyard:deployment": "d1"])
        let identity = try #require(body["identity"] as? [String: Any])
        #expect(identity["principalId"] == nil && identity["tenantId"] == nil)
        #expect((identity["userAssignedIdentities"] as? [String: [String: Any]])?.values.allSatisfy(\.isEmpty) == true)
        let properties = try #require(body["properties"] as? [String: Any])
        for key in ["provisioningState", "uniqueId", "timeCreated"] { #expect(properties[key] == nil, "\(key) is ARM's to compute") }
        let vm = try #require(properties["virtualMachineProfile"] as? [String: Any])
        #expect(((vm["storageProfile"] as? [String: Any])?["imageReference"] as? [String: String]) == ["id": newImage])
        #expect((vm["osProfile"] as? [String: Any])?["computerNamePrefix"] as? String == "webg")
        let text = String(decoding: clone.body, as: UTF8.self)
        #expect(text.contains(greenPool) && !text.contains(bluePool), "green's NICs stand in green's pool only")
        #expect(text.contains("\"requestPath\":\"/healthz\"") && !text.contains("\"provisioningState\""))
        #expect(clone.notCopied.count == 2 && clone.notCopied[0].hasPrefix("osProfile.customData") && clone.notCopied[1].hasPrefix("extension HealthExtension"),
                "\(clone.notCopied)")
    }

    @Test func aFlexibleScaleSetOrOneInNoBackendPoolIsRefusedSayingWhy() {
        #expect(throws: ScaleSetClone.Problem.flexible) {
            _ = try ScaleSetClone(blue: blueScaleSet(mode: "Flexible"), image: newImage, computerNamePrefix: "webg", backendPools: [greenPool])
        }
        #expect(throws: ScaleSetClone.Problem.noBackendPool) {
            _ = try ScaleSetClone(blue: blueScaleSet(pooled: false), image: newImage, computerNamePrefix: "webg", backendPools: [greenPool])
        }
        #expect(throws: ScaleSetClone.Problem.noBackendPool) {
            _ = try ScaleSetClone(blue: blueScaleSet(), image: newImage, computerNamePrefix: "webg", backendPools: [])
        }
        #expect(throws: ScaleSetClone.Problem.self) { _ = try ScaleSetClone(blue: Data("{}".utf8), image: newImage, computerNamePrefix: "g", backendPools: [greenPool]) }
    }
}
