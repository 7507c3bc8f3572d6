import Foundation

/// An AMI as DescribeImages reports it.
public struct EC2Image: Sendable, Hashable {
    public var imageId: String
    public var state: String
    public var architecture: String
    public var name: String?
}

/// One version of a launch template, with its raw data so it can be copied exactly.
public struct LaunchTemplateVersion: Sendable, Hashable {
    public var templateId: String
    public var templateName: String
    public var versionNumber: Int
    public var versionDescription: String?
    public var isDefault: Bool
    public var imageId: String?
    /// The `launchTemplateData` element as EC2 returned it.
    public var data: XMLNode
}

/// An instance as DescribeInstances reports it.
public struct EC2Instance: Sendable, Hashable {
    public var instanceId: String
    public var imageId: String
    public var state: String
    public var tags: [String: String]
}

/// The EC2 calls Switchyard makes (EC2 query protocol, version 2016-11-15).
public struct EC2: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// Images by id, in one call; never unfiltered (an unfiltered call lists thousands of public images).
    /// The ids go in an `image-id` filter, not `ImageId`: EC2 fails the whole call with `InvalidAMIID.NotFound` when one
    /// of several `ImageId`s is gone (a deregistered blue AMI), while the filter simply leaves it out of the answer.
    public func describeImages(ids: [String]) async throws -> [EC2Image] {
        let ids = Array(Set(ids.filter { !$0.isEmpty })).sorted()
        guard !ids.isEmpty else { return [] }
        var parameters = ["Filter.1.Name": "image-id"]
        parameters.merge(QueryEncoding.ec2List("Filter.1.Value", ids))
        let result = try await client.call(.ec2, action: "DescribeImages", parameters: parameters)
        return result.all("imagesSet/item").map { item in
            EC2Image(imageId: item.value("imageId") ?? "", state: item.value("imageState") ?? "",
                     architecture: item.value("architecture") ?? "", name: item.value("name"))
        }
    }

    /// Versions of a launch template: the given ones (numbers, `$Latest`, `$Default`), or all when `versions` is empty;
    /// with `imageId`, only versions that launch that image (EC2's `image-id` filter).
    public func describeLaunchTemplateVersions(templateId: String, versions: [String], imageId: String? = nil) async throws -> [LaunchTemplateVersion] {
        var parameters = ["LaunchTemplateId": templateId]
        parameters.merge(QueryEncoding.ec2List("LaunchTemplateVersion", versions))
        if let imageId {
            parameters["Filter.1.Name"] = "image-id"
            parameters["Filter.1.Value.1"] = imageId
        }
        let pages = try await client.paginate(.ec2, action: "DescribeLaunchTemplateVersions", parameters: parameters,
                                              tokenField: "NextToken", nextTokenField: "nextToken")
        return pages.flatMap { $0.all("launchTemplateVersionSet/item") }.map(Self.version(from:))
    }

    static func version(from item: XMLNode) -> LaunchTemplateVersion {
        let data = item.child("launchTemplateData") ?? XMLNode(name: "launchTemplateData")
        return LaunchTemplateVersion(
            templateId: item.value("launchTemplateId") ?? "", templateName: item.value("launchTemplateName") ?? "",
            versionNumber: item.int("versionNumber") ?? 0, versionDescription: item.value("versionDescription"),
            isDefault: item.bool("defaultVersion") ?? false, imageId: data.value("imageId"), data: data)
    }

    /// Creates a version whose data is `data` (read from another version) with only the ImageId changed.
    /// The full data is sent, not just `SourceVersion`, because emulators ignore SourceVersion.
    public func createLaunchTemplateVersion(templateId: String, sourceVersion: Int, copying data: XMLNode, imageId: String,
                                            description: String, clientToken: String) async throws -> LaunchTemplateVersion {
        var parameters = LaunchTemplateData.parameters(from: data, imageId: imageId)
        parameters["LaunchTemplateId"] = templateId
        parameters["SourceVersion"] = String(sourceVersion)
        parameters["VersionDescription"] = description
        parameters["ClientToken"] = clientToken
        let result = try await client.call(.ec2, action: "CreateLaunchTemplateVersion", parameters: parameters)
        guard let item = result.child("launchTemplateVersion") else {
            throw AWSError(code: .internalFailure, message: "no launchTemplateVersion in the response", status: 200,
                           requestId: result.value("requestId"), service: .ec2, action: "CreateLaunchTemplateVersion")
        }
        return Self.version(from: item)
    }

    /// Instances by id.
    public func describeInstances(ids: [String]) async throws -> [EC2Instance] {
        guard !ids.isEmpty else { return [] }
        let pages = try await client.paginate(.ec2, action: "DescribeInstances", parameters: QueryEncoding.ec2List("InstanceId", ids),
                                              tokenField: "NextToken", nextTokenField: "nextToken")
        return pages.flatMap { $0.all("reservationSet/item") }.flatMap { $0.all("instancesSet/item") }.map { item in
            var tags: [String: String] = [:]
            for tag in item.all("tagSet/item") { tags[tag.value("key") ?? ""] = tag.value("value") ?? "" }
            return EC2Instance(instanceId: item.value("instanceId") ?? "", imageId: item.value("imageId") ?? "",
                               state: item.value("instanceState/name") ?? "", tags: tags)
        }
    }
}

/// The EC2 calls of launch-template housekeeping and of the architecture of a deregistered AMI.
extension EC2 {
    /// The architectures each instance type supports (`x86_64`, `arm64`, …); DescribeInstanceTypes answers this when
    /// blue's AMI is gone.
    public func architectures(ofInstanceTypes types: [String]) async throws -> [String: [String]] {
        let types = Array(Set(types.filter { !$0.isEmpty })).sorted()
        guard !types.isEmpty else { return [:] }
        let pages = try await client.paginate(.ec2, action: "DescribeInstanceTypes", parameters: QueryEncoding.ec2List("InstanceType", types),
                                              tokenField: "NextToken", nextTokenField: "nextToken")
        var out: [String: [String]] = [:]
        for item in pages.flatMap({ $0.all("instanceTypeSet/item") }) {
            guard let type = item.value("instanceType") else { continue }
            out[type] = item.all("processorInfo/supportedArchitectures/item").map(\.text)
        }
        return out
    }

    /// DeleteLaunchTemplateVersions for the given version numbers.
    public static func deleteVersionsRequest(templateId: String, versions: [Int]) -> AWSRequest {
        var p = QueryEncoding.ec2List("LaunchTemplateVersion", versions.sorted().map(String.init))
        p["LaunchTemplateId"] = templateId
        return AWSRequest(.ec2, "DeleteLaunchTemplateVersions", p)
    }

    /// Deletes versions; the numbers EC2 could not delete come back with its reason (a version in use, the default).
    public func deleteLaunchTemplateVersions(templateId: String, versions: [Int]) async throws -> [Int: String] {
        guard !versions.isEmpty else { return [:] }
        let result = try await client.send(Self.deleteVersionsRequest(templateId: templateId, versions: versions))
        var failed: [Int: String] = [:]
        for item in result.all("unsuccessfullyDeletedLaunchTemplateVersionSet/item") {
            guard let number = item.int("versionNumber") else { continue }
            failed[number] = item.value("responseError/message") ?? item.value("responseError/code") ?? "not deleted"
        }
        return failed
    }

    /// ModifyLaunchTemplate making `version` the template's default.
    public static func setDefaultVersionRequest(templateId: String, version: Int) -> AWSRequest {
        AWSRequest(.ec2, "ModifyLaunchTemplate", ["LaunchTemplateId": templateId, "SetDefaultVersion": String(version)])
    }
}

/// Turns the `launchTemplateData` EC2 returns into the `LaunchTemplateData.*` parameters it accepts.
/// Response names are lowerCamel (`securityGroupIdSet`, lists of `item`); request names are UpperCamel with `.N` lists.
/// The renames come from botocore's EC2 model (ResponseLaunchTemplateData against RequestLaunchTemplateData).
public enum LaunchTemplateData {
    static let renames = ["groupSet": "SecurityGroupId", "licenseSet": "LicenseSpecification"]
    /// Fields EC2 reports but does not accept back.
    static let responseOnly: Set<String> = ["isPrimaryIpv6", "managed", "hiddenByDefault"]

    public static func parameters(from data: XMLNode, imageId: String) -> [String: String] {
        var out: [String: String] = [:]
        flatten(data, prefix: "LaunchTemplateData", into: &out)
        out["LaunchTemplateData.ImageId"] = imageId
        return out
    }

    private static func flatten(_ node: XMLNode, prefix: String, into out: inout [String: String]) {
        for child in node.children {
            if responseOnly.contains(child.name) || (node.name == "metadataOptions" && child.name == "state") { continue }
            let name = requestName(child.name)
            let path = "\(prefix).\(name)"
            // A `…Set` is a list; AWS names its entries `item`, moto sometimes names them by type (`groupId`).
            let items = child.children("item")
            if child.name.hasSuffix("Set") || (!items.isEmpty && items.count == child.children.count) {
                for (index, item) in child.children.enumerated() {
                    let itemPath = "\(path).\(index + 1)"
                    if item.children.isEmpty { out[itemPath] = item.text } else { flatten(item, prefix: itemPath, into: &out) }
                }
            } else if child.children.isEmpty {
                out[path] = child.text
            } else {
                flatten(child, prefix: path, into: &out)
            }
        }
    }

    static func requestName(_ responseName: String) -> String {
        if let renamed = renames[responseName] { return renamed }
        var name = responseName
        if name.hasSuffix("Set") { name.removeLast(3) }
        return name.prefix(1).uppercased() + name.dropFirst()
    }
}
