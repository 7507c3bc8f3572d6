import Foundation
import HTTP

/// The image a release ships, as ARM shows it: an Azure Compute Gallery image version
/// (`…/galleries/G/images/I/versions/V`) or a managed image (`…/Microsoft.Compute/images/NAME`).
public struct ComputeImage: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case galleryImageVersion = "gallery image version"
        case managedImage = "managed image"
    }

    public var id: String
    public var kind: Kind
    /// `provisioningState`: a scale set is made only from a `Succeeded` image.
    public var provisioningState: String
    /// Where a scale set can be made from it, as ARM's region names lower-cased without spaces (`westeurope`): a
    /// gallery version's target regions, a managed image's own location.
    public var regions: [String]
    /// A gallery version's `publishingProfile.endOfLifeDate`, when it has one.
    public var endOfLife: Date?

    public init(id: String, kind: Kind, provisioningState: String, regions: [String], endOfLife: Date? = nil) {
        self.id = id
        self.kind = kind
        self.provisioningState = provisioningState
        self.regions = regions.map(Self.region)
        self.endOfLife = endOfLife
    }

    /// `West Europe` and `westeurope` are one region.
    public static func region(_ name: String) -> String { name.lowercased().replacingOccurrences(of: " ", with: "") }

    /// Why a scale set in `location` cannot be made from this image now; nil when it can.
    public func refusal(location: String, now: Date) -> String? {
        if provisioningState.lowercased() != "succeeded" {
            return "the \(kind.rawValue) \(id) is \(provisioningState), not Succeeded: a scale set cannot be made from it yet"
        }
        if !regions.contains(Self.region(location)) {
            return kind == .managedImage
                ? "the managed image \(id) is in \(regions.joined(separator: ", ")), and a managed image makes scale sets only in its own region (\(Self.region(location)) here)"
                : "the gallery image version \(id) is not replicated to \(Self.region(location)) (its target regions: \(regions.joined(separator: ", "))): add the region to its publishing profile"
        }
        if let endOfLife, endOfLife <= now {
            return "the gallery image version \(id) passed its end-of-life date (\(ISO8601DateFormatter().string(from: endOfLife)))"
        }
        return nil
    }
}

/// Reads images (api-versions pinned per resource type, as the stand-in's azure-mgmt-compute sends them).
public struct ComputeImages: Sendable {
    public static let galleryApiVersion = "2026-03-03"
    public static let imagesApiVersion = "2026-04-01"
    let arm: ARMClient

    public init(arm: ARMClient) { self.arm = arm }

    static let galleryPattern = #"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/galleries/[^/]+/images/[^/]+/versions/[^/]+$"#
    static let managedPattern = #"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/images/[^/]+$"#

    /// What an image id names, nil when it is neither kind (ARM's ids compare case-insensitively).
    public static func kind(of id: String) -> ComputeImage.Kind? {
        if id.range(of: galleryPattern, options: [.regularExpression, .caseInsensitive]) != nil { return .galleryImageVersion }
        if id.range(of: managedPattern, options: [.regularExpression, .caseInsensitive]) != nil { return .managedImage }
        return nil
    }

    /// The image an id names, in one GET; ARM's refusal (`ResourceNotFound`, `AuthorizationFailed`) as it answered.
    public func image(id: String) async throws -> ComputeImage {
        guard let kind = Self.kind(of: id) else {
            throw ARMError(method: "GET", path: id, status: 0, code: "InvalidImageId",
                           message: "not a gallery image version's or a managed image's resource id", requestId: nil, attempts: 0)
        }
        let answer = try await arm.send("GET", id, apiVersion: kind == .galleryImageVersion ? Self.galleryApiVersion : Self.imagesApiVersion)
        guard let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any],
              let properties = object["properties"] as? [String: Any] else {
            throw ARMError(method: "GET", path: id, status: answer.status, code: "UnreadableAnswer", message: "the image's answer is not a JSON object with properties",
                           requestId: answer.header("x-ms-request-id"), attempts: 1)
        }
        let state = properties["provisioningState"] as? String ?? "Unknown"
        switch kind {
        case .managedImage:
            return ComputeImage(id: object["id"] as? String ?? id, kind: kind, provisioningState: state,
                                regions: [object["location"] as? String].compactMap { $0 })
        case .galleryImageVersion:
            let publishing = properties["publishingProfile"] as? [String: Any] ?? [:]
            var regions = (publishing["targetRegions"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            // A version with no target regions listed is replicated to its own location only.
            if regions.isEmpty, let location = object["location"] as? String { regions = [location] }
            let endOfLife = (publishing["endOfLifeDate"] as? String).flatMap { text -> Date? in
                let formatter = ISO8601DateFormatter()
                if let date = formatter.date(from: text) { return date }
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                return formatter.date(from: text)
            }
            return ComputeImage(id: object["id"] as? String ?? id, kind: kind, provisioningState: state, regions: regions, endOfLife: endOfLife)
        }
    }
}
