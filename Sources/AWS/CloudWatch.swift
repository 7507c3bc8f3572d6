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
    public func describeAlarms(names: [String]) async throws -> [MetricAlarm] {
        guard !names.isEmpty else { return [] }
        var parameters = QueryEncoding.memberList("AlarmNames", names)
        parameters.merge(QueryEncoding.memberList("AlarmTypes", ["CompositeAlarm", "MetricAlarm"]))
        let pages = try await client.paginate(.cloudWatch, action: "DescribeAlarms", parameters: parameters)
        return pages.flatMap { $0.all("MetricAlarms/member") + $0.all("CompositeAlarms/member") }.map {
            MetricAlarm(name: $0.value("AlarmName") ?? "", state: $0.value("StateValue") ?? "",
                        stateReason: $0.value("StateReason"), stateUpdatedTimestamp: $0.value("StateUpdatedTimestamp"))
        }
    }
}
