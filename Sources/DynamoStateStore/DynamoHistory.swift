import AWS
import Foundation
import StateStore
import SwitchyardCore

/// The audit trail, history pages and `export` on the DynamoDB table.
extension DynamoStateStore {
    public func events(deploymentId: String) throws -> [StoredEvent] {
        let query = DynamoQuery(tableName: table, keyCondition: "PK = :pk AND begins_with(SK, :evt)",
                                names: DynamoNames(values: [":pk": .s(Layout.deployment(deploymentId)), ":evt": .s("EVT#")]), consistentRead: true)
        return try run { try await $0.queryAll(query) }.map(Items.storedEvent)
    }

    /// The narrowest index for the query, its key condition (with the time window on the sort key) and the rest as a filter.
    func historyQuery(_ query: HistoryQuery) -> DynamoQuery {
        let index: Layout.Index
        let hash: String
        if let service = query.service { (index, hash) = (.byService, service) }
        else if let ami = query.ami { (index, hash) = (.byAMI, ami) }
        else if query.states.count == 1, let state = query.states.first { (index, hash) = (.byState, state.rawValue) }
        else { (index, hash) = (.byTime, "deployment") }
        var names = DynamoNames(names: ["#h": index.hashAttribute], values: [":h": .s(hash)])
        var key = "#h = :h"
        if query.since != nil || query.until != nil { names.names["#c"] = Layout.created }
        if let since = query.since { names.values[":since"] = .s(StoredTime.text(since)) }
        if let until = query.until { names.values[":until"] = .s(StoredTime.text(until)) }
        switch (query.since, query.until) {
        case (.some, .some): key += " AND #c BETWEEN :since AND :until"
        case (.some, nil): key += " AND #c >= :since"
        case (nil, .some): key += " AND #c < :until"
        case (nil, nil): break
        }
        var filters: [String] = []
        if let service = query.service, index != .byService {
            names.names["#svc"] = "svc"
            names.values[":svc"] = .s(service)
            filters.append("#svc = :svc")
        }
        if let ami = query.ami, index != .byAMI {
            names.names["#ami"] = "ami"
            names.values[":ami"] = .s(ami)
            filters.append("#ami = :ami")
        }
        if !query.states.isEmpty, index != .byState {
            names.names["#st"] = "st"
            for (n, state) in query.states.enumerated() { names.values[":st\(n)"] = .s(state.rawValue) }
            filters.append("#st IN (\(query.states.indices.map { ":st\($0)" }.joined(separator: ", ")))")
        }
        return DynamoQuery(tableName: table, indexName: index.rawValue, keyCondition: key,
                           filter: filters.isEmpty ? nil : filters.joined(separator: " AND "), names: names, ascending: false)
    }

    public func history(_ query: HistoryQuery) throws -> (deployments: [Deployment], total: Int) {
        let request = historyQuery(query)
        return (try historyPage(query), try run { try await $0.count(request) })
    }

    public func historyPage(_ query: HistoryQuery) throws -> [Deployment] {
        let request = historyQuery(query)
        let items = try run { try await $0.queryAll(request, limit: query.offset + query.limit) }
        return try items.dropFirst(query.offset).map(Items.deployment)
    }

    public func historySummaries(_ query: HistoryQuery) throws -> (deployments: [DeploymentSummary], more: Bool) {
        let request = historyQuery(query)
        let items = try run { try await $0.queryAll(request, limit: query.offset + query.limit + 1) }
        let page = items.dropFirst(query.offset)
        return (page.prefix(query.limit).map(Items.summary), page.count > query.limit)
    }

    public func exportEvents(since: Date?, until: Date?, service: String?, _ body: (ExportedEvent) throws -> Void) throws {
        var names = DynamoNames(names: ["#h": Layout.Index.events.hashAttribute, "#at": Layout.Index.events.rangeAttribute],
                                values: [":h": .s("event")])
        var key = "#h = :h"
        if let since { names.values[":since"] = .s(StoredTime.text(since)) }
        if let until { names.values[":until"] = .s(StoredTime.text(until)) }
        switch (since, until) {
        case (.some, .some): key += " AND #at BETWEEN :since AND :until"
        case (.some, nil): key += " AND #at >= :since"
        case (nil, .some): key += " AND #at < :until"
        case (nil, nil): names.names["#at"] = nil
        }
        var filter: String?
        if let service {
            names.names["#svc"] = "svc"
            names.values[":svc"] = .s(service)
            filter = "#svc = :svc"
        }
        var query = DynamoQuery(tableName: table, indexName: Layout.Index.events.rawValue, keyCondition: key, filter: filter, names: names)
        // Page by page, so the whole log is never held.
        while true {
            let page = try run { [query] in try await $0.query(query) }
            for item in page.items {
                try body(ExportedEvent(event: Items.storedEvent(item), service: item["svc"]?.string ?? "", ami: item["amiId"]?.string ?? ""))
            }
            guard let next = page.lastEvaluatedKey else { return }
            query.startKey = next
        }
    }
}
