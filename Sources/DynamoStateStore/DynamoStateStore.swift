import AWS
import Foundation
import StateStore
import SwitchyardCore

/// Why the DynamoDB state table cannot be used.
public enum DynamoStateError: Error, Sendable, CustomStringConvertible {
    case tableNotFound(table: String, region: String)
    case wrongSchema(table: String, region: String, detail: String)
    case notActive(table: String, region: String, status: String, waited: TimeInterval)

    public var description: String {
        switch self {
        case .tableNotFound(let table, let region):
            return "DynamoDB table \(table) not found in \(region): create it with `switchyard state init dynamodb://\(table)?region=\(region)`"
        case .wrongSchema(let table, let region, let detail):
            return "DynamoDB table \(table) in \(region) is not a Switchyard state table (\(detail)); see docs/state-dynamodb.md for its key schema and indexes"
        case .notActive(let table, let region, let status, let waited):
            return "DynamoDB table \(table) in \(region) is still \(status) after \(Int(waited))s; run `switchyard state init` again later"
        }
    }
}

/// The team's state in one DynamoDB table (docs/state-dynamodb.md): the same guarantees as the state file, made by
/// conditional writes and `TransactWriteItems`, so runners on different machines share one history.
///
/// `@unchecked Sendable`: it holds only immutable values and the client, which is Sendable.
public final class DynamoStateStore: StateStore, @unchecked Sendable {
    public let table: String
    let dynamo: DynamoDB
    public var location: String { "dynamodb://\(table)?region=\(dynamo.client.configuration.region)" }

    /// A store on `table`, reached with `client` (its region, credentials and `AWS_ENDPOINT_URL_DYNAMODB`). Nothing is
    /// sent until the first operation; a missing table then fails with `DynamoStateError.tableNotFound`.
    public init(table: String, client: AWSClient) {
        self.table = table
        self.dynamo = DynamoDB(client: client)
    }

    /// Runs one operation's calls, telling a missing table apart from every other error.
    func run<T>(_ body: @escaping @Sendable (DynamoDB) async throws -> T) throws -> T {
        let dynamo = self.dynamo
        do {
            return try Blocking.run { try await body(dynamo) }
        } catch let error as AWSError where error.code == .resourceNotFound {
            throw DynamoStateError.tableNotFound(table: table, region: dynamo.client.configuration.region)
        }
    }

    // MARK: - Deployments

    @discardableResult
    public func insert(_ d: Deployment, log: LogEntry, actor: String, at: Date, lease: LeaseHolder?, ttl: TimeInterval) throws -> Deployment {
        var d = d
        d.version = 1
        let stored = d
        let table = self.table
        try run { dynamo in
            var items: [DynamoTransactItem] = []
            var guardIndex: Int?
            if !stored.state.isTerminal {
                guardIndex = items.count
                items.append(.put(DynamoPut(tableName: table, item: Self.guardItem(stored), condition: "attribute_not_exists(PK)")))
            }
            items.append(.put(DynamoPut(tableName: table, item: try Items.meta(stored, version: 1), condition: "attribute_not_exists(PK)")))
            items.append(.put(DynamoPut(tableName: table, item: try Items.event(stored, log, actor: actor, at: at, version: 1))))
            items.append(.put(DynamoPut(tableName: table, item: Layout.blueKey(stored.service, stored.plan.blue.group))))
            var leaseIndex: Int?
            if let lease {
                let (put, _) = try await Self.leasePut(dynamo, table: table, service: stored.service, deploymentId: stored.id, holder: lease,
                                                       at: at, ttl: ttl)
                leaseIndex = items.count
                items.append(.put(put))
            }
            do {
                try await dynamo.transactWriteItems(items)
            } catch let failure as DynamoDBConditionFailure {
                let failed = Set(failure.failedItems)
                if let guardIndex, failed.contains(guardIndex) {
                    throw try await Self.activeError(dynamo, table: table, service: stored.service)
                }
                if let leaseIndex, failed.contains(leaseIndex) {
                    throw try await Self.heldError(dynamo, table: table, service: stored.service, at: at)
                }
                throw failure
            }
        }
        return d
    }

    static func guardItem(_ d: Deployment) -> DynamoItem {
        var item = Layout.guardKey(d.service)
        item["deploymentId"] = .s(d.id)
        item["since"] = .s(StoredTime.text(d.createdAt))
        return item
    }

    /// The refusal naming the service's active deployment, read after the guard's condition failed.
    static func activeError(_ dynamo: DynamoDB, table: String, service: String) async throws -> Error {
        guard let held = try await dynamo.getItem(table: table, key: Layout.guardKey(service)), let id = held["deploymentId"]?.string else {
            return DynamoDBConditionFailure(action: "TransactWriteItems", message: "the active deployment of \(service) changed meanwhile; try again")
        }
        let record = try await dynamo.getItem(table: table, key: Layout.meta(id)).map(Items.deployment)
        return StateStoreError.activeDeploymentExists(id: id, state: record?.state ?? .pending,
                                                      since: record?.createdAt ?? held["since"]?.string.flatMap(StoredTime.parse) ?? Date())
    }

    @discardableResult
    public func save(_ d: Deployment, log: LogEntry?, actor: String, at: Date, holder: LeaseHolder?) throws -> Deployment {
        let expected = d.version ?? 1
        var saved = d
        saved.version = expected + 1
        let next = saved
        let table = self.table
        try run { dynamo in
            let allowed = DeploymentState.allCases.filter { $0.allows(next.state) }
            var values: DynamoItem = [":v": .number(expected)]
            for (index, state) in allowed.enumerated() { values[":s\(index)"] = .s(state.rawValue) }
            let meta = try Items.meta(next, version: expected + 1)
            var sets: [String] = []
            var names: [String: String] = ["#version": "version", "#st": "st"]
            for (index, (name, value)) in meta.sorted(by: { $0.key < $1.key }).enumerated() where name != Layout.hashKey && name != Layout.rangeKey {
                names["#a\(index)"] = name
                values[":a\(index)"] = value
                sets.append("#a\(index) = :a\(index)")
            }
            let removable = ["activeKey", "chore"].filter { meta[$0] == nil }
            for name in removable { names["#\(name)"] = name }
            let update = "SET " + sets.joined(separator: ", ") + (removable.isEmpty ? "" : " REMOVE " + removable.map { "#\($0)" }.joined(separator: ", "))
            let condition = "#version = :v AND #st IN (\(allowed.indices.map { ":s\($0)" }.joined(separator: ", ")))"
            var items: [DynamoTransactItem] = [.update(DynamoUpdate(tableName: table, key: Layout.meta(next.id), update: update, condition: condition,
                                                                    names: DynamoNames(names: names, values: values)))]
            var leaseIndex: Int?
            if let holder {
                leaseIndex = items.count
                items.append(.conditionCheck(DynamoDelete(tableName: table, key: Layout.leaseKey(next.service), condition: "#holder = :h",
                                                          names: DynamoNames(names: ["#holder": "holder"], values: [":h": .s(holder.id)]))))
            }
            if let log { items.append(.put(DynamoPut(tableName: table, item: try Items.event(next, log, actor: actor, at: at, version: expected + 1)))) }
            var guardIndex: Int?
            if next.state.isTerminal {
                // The service may take a new deployment: this one's guard goes, if it is this one's (a final record saved
                // again, by gc, may find another deployment's guard there).
                if let held = try await dynamo.getItem(table: table, key: Layout.guardKey(next.service)), held["deploymentId"] == .s(next.id) {
                    items.append(.delete(DynamoDelete(tableName: table, key: Layout.guardKey(next.service), condition: "#dep = :id",
                                                      names: DynamoNames(names: ["#dep": "deploymentId"], values: [":id": .s(next.id)]))))
                }
            } else if next.state == .rollingBack {
                // Undoing a final release makes it active again; the guard is only ever this deployment's or absent.
                guardIndex = items.count
                items.append(.put(DynamoPut(tableName: table, item: Self.guardItem(next), condition: "attribute_not_exists(PK) OR #dep = :id",
                                            names: DynamoNames(names: ["#dep": "deploymentId"], values: [":id": .s(next.id)]))))
            }
            do {
                try await dynamo.transactWriteItems(items)
            } catch let failure as DynamoDBConditionFailure {
                let failed = Set(failure.failedItems)
                if let leaseIndex, failed.contains(leaseIndex) { throw LeaseError.lost(service: next.service, deploymentId: next.id) }
                if failed.contains(0) { throw try await Self.saveRefusal(dynamo, table: table, next, expected: expected) }
                if let guardIndex, failed.contains(guardIndex) { throw try await Self.activeError(dynamo, table: table, service: next.service) }
                throw failure
            }
        }
        return saved
    }

    /// Why the record's condition failed: gone, moved on (another writer), or final.
    static func saveRefusal(_ dynamo: DynamoDB, table: String, _ d: Deployment, expected: Int) async throws -> Error {
        guard let item = try await dynamo.getItem(table: table, key: Layout.meta(d.id)) else { return StateStoreError.unknownDeployment(d.id) }
        let version = item["version"]?.int ?? 1
        if version != expected { return StateStoreError.staleRecord(id: d.id, expected: expected, found: version) }
        let stored = item["st"]?.string.flatMap(DeploymentState.init(rawValue:)) ?? d.state
        return StateStoreError.terminalStateIsFinal(id: d.id, state: stored, attempted: d.state)
    }

    public func deployment(id: String) throws -> Deployment? {
        let table = self.table
        return try run { try await $0.getItem(table: table, key: Layout.meta(id)).map(Items.deployment) }
    }

    /// Newest-first deployments from an index, `limit` at most, after `filter`.
    func fromIndex(_ index: Layout.Index, _ value: String, filter: String? = nil, names: DynamoNames = DynamoNames(),
                   limit: Int? = nil) throws -> [DynamoItem] {
        var all = names
        all.names["#h"] = index.hashAttribute
        all.values[":h"] = .s(value)
        let query = DynamoQuery(tableName: table, indexName: index.rawValue, keyCondition: "#h = :h", filter: filter, names: all, ascending: false)
        return try run { try await $0.queryAll(query, limit: limit) }
    }

    public func deployments(service: String?, limit: Int, activeOnly: Bool) throws -> [Deployment] {
        let items: [DynamoItem]
        switch (service, activeOnly) {
        case (nil, false): items = try fromIndex(.byTime, "deployment", limit: limit)
        case (let service?, false): items = try fromIndex(.byService, service, limit: limit)
        case (nil, true): items = try fromIndex(.active, "active", limit: limit)
        case (let service?, true):
            items = try fromIndex(.active, "active", filter: "#svc = :svc", names: DynamoNames(names: ["#svc": "svc"], values: [":svc": .s(service)]),
                                  limit: limit)
        }
        return try items.map(Items.deployment)
    }

    public func retainedBlues(service: String?) throws -> [Deployment] {
        try chores("retained-blue", service: service)
    }

    public func leftoverTestRoutes(service: String?) throws -> [Deployment] {
        try chores("test-route", service: service)
    }

    private func chores(_ kind: String, service: String?) throws -> [Deployment] {
        let items = if let service {
            try fromIndex(.chores, kind, filter: "#svc = :svc", names: DynamoNames(names: ["#svc": "svc"], values: [":svc": .s(service)]))
        } else {
            try fromIndex(.chores, kind)
        }
        return try items.map(Items.deployment)
    }

    public func blueGroups(service: String) throws -> Set<String> {
        let query = DynamoQuery(tableName: table, keyCondition: "PK = :pk AND begins_with(SK, :blue)",
                                names: DynamoNames(values: [":pk": .s(Layout.service(service)), ":blue": .s("BLUE#")]), consistentRead: true)
        let items = try run { try await $0.queryAll(query) }
        return Set(items.compactMap { $0[Layout.rangeKey]?.string.map { String($0.dropFirst(5)) } })
    }

    public func latest(service: String, states: [DeploymentState]) throws -> Deployment? {
        guard !states.isEmpty else { return nil }
        var values: DynamoItem = [:]
        for (index, state) in states.enumerated() { values[":s\(index)"] = .s(state.rawValue) }
        let filter = "#st IN (\(states.indices.map { ":s\($0)" }.joined(separator: ", ")))"
        return try fromIndex(.byService, service, filter: filter, names: DynamoNames(names: ["#st": "st"], values: values), limit: 1)
            .first.map(Items.deployment)
    }
}
