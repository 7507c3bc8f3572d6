import Foundation

/// Where a Route 53 alias record points: a load balancer's DNS name in the load balancer's own hosted zone.
public struct Route53AliasTarget: Sendable, Hashable, Codable {
    public var hostedZoneId: String
    public var dnsName: String
    public var evaluateTargetHealth: Bool

    public init(hostedZoneId: String, dnsName: String, evaluateTargetHealth: Bool = false) {
        self.hostedZoneId = hostedZoneId
        self.dnsName = dnsName
        self.evaluateTargetHealth = evaluateTargetHealth
    }
}

/// One resource record set as Route 53 lists it: enough to write a weighted record back unchanged but its weight.
public struct ResourceRecordSet: Sendable, Hashable {
    public var name: String
    public var type: String
    public var setIdentifier: String?
    public var weight: Int?
    /// Absent on alias records (moto answers 0 there).
    public var ttl: Int?
    public var values: [String]
    public var aliasTarget: Route53AliasTarget?
    public var healthCheckId: String?

    public init(name: String, type: String, setIdentifier: String? = nil, weight: Int? = nil, ttl: Int? = nil, values: [String] = [],
                aliasTarget: Route53AliasTarget? = nil, healthCheckId: String? = nil) {
        self.name = name
        self.type = type
        self.setIdentifier = setIdentifier
        self.weight = weight
        self.ttl = ttl
        self.values = values
        self.aliasTarget = aliasTarget
        self.healthCheckId = healthCheckId
    }

    /// What the record points at: the alias target's DNS name, else its first value.
    public var target: String { aliasTarget?.dnsName ?? values.first ?? "" }

    static func decode(_ node: XMLNode) -> ResourceRecordSet {
        ResourceRecordSet(
            name: node.value("Name") ?? "", type: node.value("Type") ?? "", setIdentifier: node.value("SetIdentifier"),
            weight: node.int("Weight"), ttl: node.child("AliasTarget") == nil ? node.int("TTL") : nil,
            values: node.all("ResourceRecords/ResourceRecord").compactMap { $0.value("Value") },
            aliasTarget: node.child("AliasTarget").map {
                Route53AliasTarget(hostedZoneId: $0.value("HostedZoneId") ?? "", dnsName: $0.value("DNSName") ?? "",
                                   evaluateTargetHealth: $0.bool("EvaluateTargetHealth") ?? false)
            },
            healthCheckId: node.value("HealthCheckId"))
    }

    /// The `<ResourceRecordSet>` element, members in the order of the API's shape.
    var xml: String {
        var out = "<ResourceRecordSet>" + XMLWriter.element("Name", name) + XMLWriter.element("Type", type)
        if let setIdentifier { out += XMLWriter.element("SetIdentifier", setIdentifier) }
        if let weight { out += XMLWriter.element("Weight", String(weight)) }
        if let alias = aliasTarget {
            out += "<AliasTarget>" + XMLWriter.element("HostedZoneId", alias.hostedZoneId) + XMLWriter.element("DNSName", alias.dnsName)
                + XMLWriter.element("EvaluateTargetHealth", alias.evaluateTargetHealth ? "true" : "false") + "</AliasTarget>"
        } else {
            if let ttl { out += XMLWriter.element("TTL", String(ttl)) }
            out += "<ResourceRecords>" + values.map { "<ResourceRecord>" + XMLWriter.element("Value", $0) + "</ResourceRecord>" }.joined()
                + "</ResourceRecords>"
        }
        if let healthCheckId { out += XMLWriter.element("HealthCheckId", healthCheckId) }
        return out + "</ResourceRecordSet>"
    }
}

/// A change batch's progress: `PENDING` until every Route 53 name server has it, then `INSYNC`.
public struct Route53ChangeInfo: Sendable, Hashable {
    /// The bare id (`C2682N5HXP0BZ4`), without `/change/`.
    public var id: String
    public var status: String

    public init(id: String, status: String) {
        self.id = id
        self.status = status
    }

    public var isInSync: Bool { status == "INSYNC" }

    static func decode(_ root: XMLNode) -> Route53ChangeInfo? {
        guard let info = root.child("ChangeInfo"), let id = info.value("Id") else { return nil }
        return Route53ChangeInfo(id: Route53.bareId(id), status: info.value("Status") ?? "")
    }
}

/// Route 53 (REST-XML, global): weighted records are read, changed in one batch, and the change waited on.
public struct Route53: Sendable {
    public static let namespace = "https://route53.amazonaws.com/doc/2013-04-01/"
    static let version = "2013-04-01"

    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// `Z123` from `/hostedzone/Z123` or `Z123`; `C1` from `/change/C1`: ids come both ways from consoles and APIs.
    public static func bareId(_ id: String) -> String {
        let trimmed = id.trimmingCharacters(in: .whitespaces)
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    /// A DNS name as Route 53 compares it: lower case, with the final dot.
    public static func fqdn(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? lower : lower + "."
    }

    /// Sends one change batch of `UPSERT`s (applied by Route 53 all together or not at all).
    public func upsert(hostedZoneId: String, records: [ResourceRecordSet], comment: String? = nil) async throws -> Route53ChangeInfo {
        let body = Self.changeBatchXML(upserts: records, comment: comment)
        let root = try await client.rest(.route53, action: "ChangeResourceRecordSets", method: "POST",
                                         path: "/\(Self.version)/hostedzone/\(Self.bareId(hostedZoneId))/rrset/", body: Data(body.utf8))
        guard let info = Route53ChangeInfo.decode(root) else { throw Self.malformed("ChangeResourceRecordSets", "no ChangeInfo/Id") }
        return info
    }

    /// A change's status.
    public func getChange(id: String) async throws -> Route53ChangeInfo {
        let root = try await client.rest(.route53, action: "GetChange", method: "GET", path: "/\(Self.version)/change/\(Self.bareId(id))")
        guard let info = Route53ChangeInfo.decode(root) else { throw Self.malformed("GetChange", "no ChangeInfo/Id") }
        return info
    }

    /// Every record set of one name and type (each weighted one has its own set identifier), page by page.
    public func recordSets(hostedZoneId: String, name: String, type: String) async throws -> [ResourceRecordSet] {
        let zone = Self.bareId(hostedZoneId)
        let wanted = Self.fqdn(name)
        var start: (name: String, type: String, identifier: String?) = (wanted, type, nil)
        var found: [ResourceRecordSet] = []
        for _ in 0..<100 {
            var query = [("name", start.name), ("type", start.type)]
            if let identifier = start.identifier { query.append(("identifier", identifier)) }
            let page = try await client.rest(.route53, action: "ListResourceRecordSets", method: "GET",
                                             path: "/\(Self.version)/hostedzone/\(zone)/rrset", query: query)
            // The list runs on past the name into the rest of the zone: only this name and type count.
            found += page.all("ResourceRecordSets/ResourceRecordSet").map(ResourceRecordSet.decode)
                .filter { Self.fqdn($0.name) == wanted && $0.type == type }
            guard page.bool("IsTruncated") == true, let next = page.value("NextRecordName"), Self.fqdn(next) == wanted,
                  page.value("NextRecordType") == type else { return found }
            let identifier = page.value("NextRecordIdentifier")
            // A page that would start where this one did (no identifier to go on from) would repeat itself.
            if identifier == nil || identifier == start.identifier { return found }
            start = (next, type, identifier)
        }
        return found
    }

    /// The request document of ChangeResourceRecordSets with one UPSERT per record.
    static func changeBatchXML(upserts: [ResourceRecordSet], comment: String?) -> String {
        let changes = upserts.map { "<Change><Action>UPSERT</Action>\($0.xml)</Change>" }.joined()
        return #"<?xml version="1.0" encoding="UTF-8"?>"# + "<ChangeResourceRecordSetsRequest xmlns=\"\(namespace)\"><ChangeBatch>"
            + (comment.map { XMLWriter.element("Comment", $0) } ?? "") + "<Changes>\(changes)</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"
    }

    static func malformed(_ action: String, _ problem: String) -> AWSError {
        AWSError(code: .internalFailure, message: "the answer has \(problem)", status: 200, requestId: nil, service: .route53, action: action,
                 isAWSErrorBody: false)
    }
}
