import AWS
import Foundation
import StateStore
import SwitchyardCore

/// The single-table design (docs/state-dynamodb.md): every item's keys and the attributes the indexes read.
enum Layout {
    static let hashKey = "PK"
    static let rangeKey = "SK"
    /// `<createdAt>#<id>`: the sort key of every deployment index, so newest first is creation time, then id.
    static let created = "created"

    enum Index: String, CaseIterable {
        /// Deployments of a service (`svc`).
        case byService = "by-service"
        /// Deployments in a state (`st`).
        case byState = "by-state"
        /// Deployments of an AMI (`ami`).
        case byAMI = "by-ami"
        /// Every deployment (`kind` = `deployment`): the whole history in time order.
        case byTime = "by-time"
        /// Only the active deployments (`activeKey`, absent on final ones): sparse.
        case active
        /// Only deployments with housekeeping left (`chore` = `retained-blue` or `test-route`): sparse.
        case chores
        /// Every event (`evtKind` = `event`) by time (`evtAt` = `<at>#<deployment>#<seq>`), for `export`.
        case events

        var hashAttribute: String {
            switch self {
            case .byService: return "svc"
            case .byState: return "st"
            case .byAMI: return "ami"
            case .byTime: return "kind"
            case .active: return "activeKey"
            case .chores: return "chore"
            case .events: return "evtKind"
            }
        }

        var rangeAttribute: String { self == .events ? "evtAt" : Layout.created }
    }

    static let schema = DynamoTableSchema(hashKey: hashKey, rangeKey: rangeKey, indexes: Index.allCases.map {
        DynamoTableSchema.Index(name: $0.rawValue, hashKey: $0.hashAttribute, rangeKey: $0.rangeAttribute)
    })

    static func key(_ pk: String, _ sk: String) -> DynamoItem { [hashKey: .s(pk), rangeKey: .s(sk)] }
    static func deployment(_ id: String) -> String { "DEP#\(id)" }
    static func service(_ name: String) -> String { "SVC#\(name)" }
    static func meta(_ id: String) -> DynamoItem { key(deployment(id), "META") }
    static func guardKey(_ service: String) -> DynamoItem { key(Self.service(service), "ACTIVE") }
    static func leaseKey(_ service: String) -> DynamoItem { key(Self.service(service), "LEASE") }
    static func blueKey(_ service: String, _ group: String) -> DynamoItem { key(Self.service(service), "BLUE#\(group)") }

    /// Events sort by the record version that wrote them, then by position (copied trails are version 0, in order).
    static let eventIdScale: Int64 = 1_000_000
    static func eventSortKey(version: Int, position: Int = 0) -> String { String(format: "EVT#%010d.%06d", version, position) }
    static func requestSortKey(_ seq: Int64) -> String { String(format: "REQ#%010lld", seq) }
}

/// Turning records, events, requests and leases into items and back.
enum Items {
    static func createdKey(_ d: Deployment) -> String { "\(StoredTime.text(d.createdAt))#\(d.id)" }

    static func chore(_ d: Deployment) -> String? {
        if d.state == .completed && d.blueRetiredAt == nil { return "retained-blue" }
        if d.state == .failed && d.plan.spec.testRoute != nil && !d.reached(.testRouteRemoved) { return "test-route" }
        return nil
    }

    /// The deployment's record and the attributes its indexes and summaries read. `version` is the stored version.
    static func meta(_ d: Deployment, version: Int) throws -> DynamoItem {
        var record = d
        record.version = nil
        var item = Layout.meta(d.id)
        item["record"] = .s(String(decoding: try RecordCoding.encoder.encode(record), as: UTF8.self))
        item["version"] = .number(version)
        item["svc"] = .s(d.service)
        item["st"] = .s(d.state.rawValue)
        item["ami"] = .s(d.image)
        item["kind"] = .s("deployment")
        item[Layout.created] = .s(createdKey(d))
        item["updatedAt"] = .s(StoredTime.text(d.updatedAt))
        item["actor"] = .s(d.actor)
        item["id"] = .s(d.id)
        if !d.state.isTerminal { item["activeKey"] = .s("active") }
        if let chore = chore(d) { item["chore"] = .s(chore) }
        return item
    }

    static func deployment(_ item: DynamoItem) throws -> Deployment {
        let id = item["id"]?.string ?? item[Layout.hashKey]?.string ?? "?"
        guard let text = item["record"]?.string else { throw StateStoreError.corruptRecord(id: id, detail: "the item has no record attribute") }
        var d: Deployment
        do {
            d = try RecordCoding.decoder.decode(Deployment.self, from: Data(text.utf8))
        } catch {
            throw StateStoreError.corruptRecord(id: id, detail: String(describing: error))
        }
        try RecordCoding.checkFormat(d, id: id)
        d.version = item["version"]?.int ?? 1
        return d
    }

    static func summary(_ item: DynamoItem) -> DeploymentSummary {
        let created = item[Layout.created]?.string ?? ""
        return DeploymentSummary(
            id: item["id"]?.string ?? "", service: item["svc"]?.string ?? "", ami: item["ami"]?.string ?? "",
            state: item["st"]?.string.flatMap(DeploymentState.init(rawValue:)) ?? .failed,
            createdAt: StoredTime.parse(String(created.prefix { $0 != "#" })) ?? .distantPast,
            updatedAt: item["updatedAt"]?.string.flatMap(StoredTime.parse) ?? .distantPast, actor: item["actor"]?.string ?? "")
    }

    static func event(_ d: Deployment, _ log: LogEntry, actor: String, at: Date, version: Int, position: Int = 0) throws -> DynamoItem {
        let sortKey = Layout.eventSortKey(version: version, position: position)
        var item = Layout.key(Layout.deployment(d.id), sortKey)
        item["at"] = .s(StoredTime.text(at))
        item["from"] = .s(log.from.rawValue)
        item["to"] = .s(log.to.rawValue)
        item["message"] = .s(log.message)
        item["actor"] = .s(actor)
        item["details"] = .s(String(decoding: try RecordCoding.encoder.encode(log.details), as: UTF8.self))
        item["svc"] = .s(d.service)
        item["amiId"] = .s(d.image)
        item["deploymentId"] = .s(d.id)
        item["evtKind"] = .s("event")
        item["evtAt"] = .s("\(StoredTime.text(at))#\(d.id)#\(sortKey)")
        return item
    }

    static func storedEvent(_ item: DynamoItem) -> StoredEvent {
        let sortKey = item[Layout.rangeKey]?.string ?? ""
        let parts = sortKey.dropFirst(4).split(separator: ".")
        let id = (parts.first.flatMap { Int64($0) } ?? 0) * Layout.eventIdScale + (parts.dropFirst().first.flatMap { Int64($0) } ?? 0)
        return StoredEvent(
            id: id, deploymentId: item["deploymentId"]?.string ?? "",
            at: item["at"]?.string.flatMap(StoredTime.parse) ?? Date(timeIntervalSince1970: 0),
            from: item["from"]?.string.flatMap(DeploymentState.init(rawValue:)) ?? .pending,
            to: item["to"]?.string.flatMap(DeploymentState.init(rawValue:)) ?? .pending,
            message: item["message"]?.string ?? "", actor: item["actor"]?.string ?? "",
            details: (try? RecordCoding.decoder.decode([String: String].self, from: Data((item["details"]?.string ?? "{}").utf8))) ?? [:])
    }

    static func request(deploymentId: String, seq: Int64, kind: OperatorRequest.Kind, reason: String?, actor: String, at: Date) -> DynamoItem {
        var item = Layout.key(Layout.deployment(deploymentId), Layout.requestSortKey(seq))
        item["requestKind"] = .s(kind.rawValue)
        if let reason { item["reason"] = .s(reason) }
        item["actor"] = .s(actor)
        item["at"] = .s(StoredTime.text(at))
        return item
    }

    static func request(_ item: DynamoItem, deploymentId: String) -> OperatorRequest? {
        guard let sortKey = item[Layout.rangeKey]?.string, let seq = Int64(sortKey.dropFirst(4)),
              let kind = item["requestKind"]?.string.flatMap(OperatorRequest.Kind.init(rawValue:)) else { return nil }
        return OperatorRequest(id: seq, deploymentId: deploymentId, kind: kind, reason: item["reason"]?.string, actor: item["actor"]?.string ?? "",
                               at: item["at"]?.string.flatMap(StoredTime.parse) ?? Date(timeIntervalSince1970: 0))
    }

    static func lease(service: String, deploymentId: String, holder: LeaseHolder, at: Date, ttl: TimeInterval) -> DynamoItem {
        var item = Layout.leaseKey(service)
        item["deploymentId"] = .s(deploymentId)
        item["holder"] = .s(holder.id)
        item["pid"] = .number(Int(holder.pid))
        item["host"] = .s(holder.host)
        item["actor"] = .s(holder.actor)
        item["acquiredAt"] = .s(StoredTime.text(at))
        item["heartbeatAt"] = .s(StoredTime.text(at))
        item["expiresAt"] = .s(StoredTime.text(at.addingTimeInterval(ttl)))
        return item
    }

    static func lease(_ item: DynamoItem, service: String) -> Lease? {
        guard let id = item["deploymentId"]?.string, let holder = item["holder"]?.string else { return nil }
        func date(_ name: String) -> Date { item[name]?.string.flatMap(StoredTime.parse) ?? .distantPast }
        return Lease(service: service, deploymentId: id,
                     holder: LeaseHolder(id: holder, pid: Int32(item["pid"]?.int ?? 0), host: item["host"]?.string ?? "",
                                         actor: item["actor"]?.string ?? ""),
                     acquiredAt: date("acquiredAt"), heartbeatAt: date("heartbeatAt"), expiresAt: date("expiresAt"))
    }
}
