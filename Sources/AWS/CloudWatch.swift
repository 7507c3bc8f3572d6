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

    /// Alarms by name, in whatever state: the caller filters (emulators ignore StateValue alongside AlarmNames).
    public func describeAlarms(names: [String]) async throws -> [MetricAlarm] {
        guard !names.isEmpty else { return [] }
        let pages = try await client.paginate(.cloudWatch, action: "DescribeAlarms", parameters: QueryEncoding.memberList("AlarmNames", names))
        return pages.flatMap { $0.all("MetricAlarms/member") }.map {
            MetricAlarm(name: $0.value("AlarmName") ?? "", state: $0.value("StateValue") ?? "",
                        stateReason: $0.value("StateReason"), stateUpdatedTimestamp: $0.value("StateUpdatedTimestamp"))
        }
    }
}
