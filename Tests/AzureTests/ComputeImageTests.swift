import Foundation
import HTTP
import Testing
@testable import Azure

@Suite struct ComputeImageTests {
    static let version = "/subscriptions/sub/resourceGroups/images/providers/Microsoft.Compute/galleries/g/images/web/versions/1.4.0"
    static let managed = "/subscriptions/sub/resourceGroups/images/providers/Microsoft.Compute/images/web-1.4.0"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anImageIdIsAGalleryVersionOrAManagedImageAndNothingElse() {
        #expect(ComputeImages.kind(of: Self.version) == .galleryImageVersion)
        #expect(ComputeImages.kind(of: Self.managed) == .managedImage)
        #expect(ComputeImages.kind(of: Self.version.lowercased()) == .galleryImageVersion, "ARM's ids compare case-insensitively")
        for id in ["ami-0123456789abcdef0", "/subscriptions/sub/resourceGroups/images/providers/Microsoft.Compute/galleries/g/images/web",
                   Self.managed + "/extra"] {
            #expect(ComputeImages.kind(of: id) == nil, "\(id)")
        }
    }

    @Test func aGalleryVersionServesTheRegionsItIsReplicatedToUntilItsEndOfLife() async throws {
        let body: [String: Any] = ["id": Self.version, "name": "1.4.0", "location": "westeurope", "properties": [
            "provisioningState": "Succeeded",
            "publishingProfile": ["targetRegions": [["name": "West Europe"], ["name": "North Europe"]], "endOfLifeDate": "2027-06-01T00:00:00+00:00"]]]
        let arm = FakeARM(["GET \(Self.version)": [FakeARM.answer(200, body)]])
        let image = try await ComputeImages(arm: client(arm)).image(id: Self.version)
        #expect(arm.requests.first?.url.query == "api-version=\(ComputeImages.galleryApiVersion)")
        #expect(image.kind == .galleryImageVersion && image.regions == ["westeurope", "northeurope"])
        #expect(image.refusal(location: "westeurope", now: Self.now) == nil)
        #expect(image.refusal(location: "eastus", now: Self.now)?.contains("is not replicated to eastus (its target regions: westeurope, northeurope)") == true)
        #expect(image.refusal(location: "westeurope", now: Date(timeIntervalSince1970: 1_900_000_000))?.contains("passed its end-of-life date") == true)
        var building = image
        building.provisioningState = "Creating"
        #expect(building.refusal(location: "westeurope", now: Self.now)?.contains("is Creating, not Succeeded") == true)
    }

    @Test func aManagedImageServesItsOwnRegionAndAMissingOneIsARMsRefusal() async throws {
        let arm = FakeARM([
            "GET \(Self.managed)": [FakeARM.answer(200, ["id": Self.managed, "location": "westeurope", "properties": ["provisioningState": "Succeeded"]])],
            "GET \(Self.version)": [FakeARM.answer(404, ["error": ["code": "ResourceNotFound", "message": "The Resource was not found."]])],
        ])
        let images = ComputeImages(arm: client(arm))
        let image = try await images.image(id: Self.managed)
        #expect(arm.requests.first?.url.query == "api-version=\(ComputeImages.imagesApiVersion)")
        #expect(image.refusal(location: "West Europe", now: Self.now) == nil)
        #expect(image.refusal(location: "northeurope", now: Self.now)?.contains("makes scale sets only in its own region") == true)
        await #expect(throws: ARMError.self) { _ = try await images.image(id: Self.version) }
        do {
            _ = try await images.image(id: Self.version)
        } catch let error as ARMError {
            #expect(error.code == "ResourceNotFound" && error.status == 404)
        }
        await #expect(throws: ARMError.self) { _ = try await images.image(id: "ami-0123456789abcdef0") }
        #expect(arm.requests.allSatisfy { $0.url.path != "ami-0123456789abcdef0" }, "an id of neither kind is refused before it is sent")
    }
}
