import Foundation

/// A CloudWatch metric alarm's state.
public struct MetricAlarm: Sendable, Hashable {
    public var name: String
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    public var state: String
    public var stateReason: String?
    public var stateUpdatedTimestamp: String?
}

/// The CloudWatch calls Switchyard makes (query protocol, version 2010-08-01).
public struct CloudWatch: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    /// Alarms by name, metric and composite alike, in whatever state: the caller filters (emulators ignore StateValue
    /// alongside AlarmNames). Without `AlarmTypes`, CloudWatch answers metric alarms only, so a composite alarm would
    /// look as if it did not exist.
    /// `AlarmNames` holds at most 100 names (the service model's limit), so more are asked in calls of 100.
    public func describeAlarms(names: [String]) async throws -> [MetricAlarm] {
        var pages: [XMLNode] = []
        for start in stride(from: 0, to: names.count, by: Self.maxAlarmNamesPerCall) {
            var parameters = QueryEncoding.memberList("AlarmNames", Array(names[start..<min(start + Self.maxAlarmNamesPerCall, names.count)]))
            parameters.merge(QueryEncoding.memberList("AlarmTypes", ["CompositeAlarm", "MetricAlarm"]))
            pages += try await client.paginate(.cloudWatch, action: "DescribeAlarms", parameters: parameters)
        }
        return pages.flatMap { $0.all("MetricAlarms/member") + $0.all("CompositeAlarms/member") }.map {
            MetricAlarm(name: $0.value("AlarmName") ?? "", state: $0.value("StateValue") ?? "",
                        stateReason: $0.value("StateReason"), stateUpdatedTimestamp: $0.value("StateUpdatedTimestamp"))
        }
    }
}

/// One query of a `GetMetricData` call: a metric and statistic, or a metric-math expression over other queries' ids.
public struct MetricDataQuery: Sendable, Hashable {
    /// A metric with its dimensions, period (seconds) and statistic (`Sum`, `p99`, …).
    public struct Stat: Sendable, Hashable {
        public var namespace: String
        public var metricName: String
        public var dimensions: [(name: String, value: String)]
        public var period: Int
        public var stat: String

        public init(namespace: String, metricName: String, dimensions: [(name: String, value: String)], period: Int, stat: String) {
            self.namespace = namespace
            self.metricName = metricName
            self.dimensions = dimensions
            self.period = period
            self.stat = stat
        }

        public static func == (a: Stat, b: Stat) -> Bool {
            a.namespace == b.namespace && a.metricName == b.metricName && a.period == b.period && a.stat == b.stat
                && a.dimensions.map(\.name) == b.dimensions.map(\.name) && a.dimensions.map(\.value) == b.dimensions.map(\.value)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(namespace)
            hasher.combine(metricName)
            hasher.combine(period)
            hasher.combine(stat)
            for dimension in dimensions { hasher.combine(dimension.name); hasher.combine(dimension.value) }
        }
    }

    public enum Body: Sendable, Hashable {
        case stat(Stat)
        case expression(String)
    }

    /// Unique in the call; starts with a lower-case letter (CloudWatch's rule).
    public var id: String
    public var body: Body
    /// False for the metrics an expression reads but whose own series nobody needs.
    public var returnData: Bool
    public var label: String?

    public init(id: String, body: Body, returnData: Bool = true, label: String? = nil) {
        self.id = id
        self.body = body
        self.returnData = returnData
        self.label = label
    }

    /// The query-protocol parameters under `prefix` (`MetricDataQueries.member.N`), as botocore's model names them.
    func parameters(prefix: String) -> [String: String] {
        var out = ["\(prefix).Id": id, "\(prefix).ReturnData": returnData ? "true" : "false"]
        if let label { out["\(prefix).Label"] = label }
        switch body {
        case .stat(let stat):
            out["\(prefix).MetricStat.Metric.Namespace"] = stat.namespace
            out["\(prefix).MetricStat.Metric.MetricName"] = stat.metricName
            for (index, dimension) in stat.dimensions.enumerated() {
                out["\(prefix).MetricStat.Metric.Dimensions.member.\(index + 1).Name"] = dimension.name
                out["\(prefix).MetricStat.Metric.Dimensions.member.\(index + 1).Value"] = dimension.value
            }
            out["\(prefix).MetricStat.Period"] = String(stat.period)
            out["\(prefix).MetricStat.Stat"] = stat.stat
        case .expression(let expression):
            out["\(prefix).Expression"] = expression
        }
        return out
    }
}

/// One query's answer: its data points in time order.
public struct MetricDataResult: Sendable, Hashable {
    public var id: String
    public var label: String?
    /// ISO 8601, as CloudWatch writes them.
    public var timestamps: [String]
    public var values: [Double]
    /// `Complete`, or `PartialData` when CloudWatch cut the series short, or `InternalError`/`Forbidden`.
    public var statusCode: String
}

extension CloudWatch {
    /// The most queries one `GetMetricData` call may carry.
    public static let maxQueriesPerCall = 500
    /// The most names one `DescribeAlarms` takes in `AlarmNames`.
    public static let maxAlarmNamesPerCall = 100

    /// Every query's data points between `start` and `end`, oldest first, in one call (more only past 500 queries or
    /// when CloudWatch pages the answer): a tick's metric checks cost one request, not one per check.
    public func getMetricData(queries: [MetricDataQuery], start: Date, end: Date) async throws -> [MetricDataResult] {
        guard !queries.isEmpty else { return [] }
        var byId: [String: MetricDataResult] = [:]
        var order: [String] = []
        for chunk in stride(from: 0, to: queries.count, by: Self.maxQueriesPerCall).map({ Array(queries[$0..<min($0 + Self.maxQueriesPerCall, queries.count)]) }) {
            let pages = try await client.paginate(.cloudWatch, action: "GetMetricData", parameters: Self.getMetricDataParameters(chunk, start: start, end: end))
            for result in pages.flatMap(Self.metricDataResults) {
                if var known = byId[result.id] {
                    known.timestamps += result.timestamps
                    known.values += result.values
                    known.statusCode = result.statusCode
                    byId[result.id] = known
                } else {
                    byId[result.id] = result
                    order.append(result.id)
                }
            }
        }
        return order.compactMap { byId[$0] }
    }

    /// The request's parameters: the queries in order, the window in whole seconds (ISO 8601, UTC), oldest first.
    static func getMetricDataParameters(_ queries: [MetricDataQuery], start: Date, end: Date) -> [String: String] {
        var parameters = ["StartTime": timestamp(start), "EndTime": timestamp(end), "ScanBy": "TimestampAscending"]
        for (index, query) in queries.enumerated() { parameters.merge(query.parameters(prefix: "MetricDataQueries.member.\(index + 1)")) }
        return parameters
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
    }

    /// The results of one page; a value that is not a number is dropped with its timestamp rather than read as 0.
    static func metricDataResults(_ page: XMLNode) -> [MetricDataResult] {
        page.all("MetricDataResults/member").map { member in
            let stamps = member.all("Timestamps/member").map(\.text)
            let raw = member.all("Values/member").map { Double($0.text) }
            let pairs = zip(stamps, raw).compactMap { stamp, value in value.map { (stamp, $0) } }
            return MetricDataResult(id: member.value("Id") ?? "", label: member.value("Label"), timestamps: pairs.map(\.0), values: pairs.map(\.1),
                                    statusCode: member.value("StatusCode") ?? "")
        }
    }
}
