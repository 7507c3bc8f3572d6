import Foundation
import SwitchyardCore

/// `/metrics` in the Prometheus text exposition format (version 0.0.4): HELP and TYPE before each family, label
/// values escaped, one family's samples together.
public enum MetricsText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A label value with `\`, `"` and newlines escaped, as the format asks.
    public static func escape(_ value: String) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func labels(_ pairs: [(String, String)]) -> String {
        pairs.isEmpty ? "" : "{" + pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// One metric family.
    struct Family {
        var name: String
        var type: String
        var help: String
        var samples: [(labels: [(String, String)], value: String)] = []

        var text: String {
            var lines = ["# HELP \(name) \(help)", "# TYPE \(name) \(type)"]
            lines += samples.map { "\(name)\(MetricsText.labels($0.labels)) \($0.value)" }
            return lines.joined(separator: "\n")
        }
    }

    /// Every family: the releases from the board, then the server's own.
    public static func render(_ snapshot: ReleaseBoard.Snapshot, requests: [RequestCounter.Key: Int], now: Date = Date()) -> String {
        releases(snapshot) + server(snapshot, requests: requests, now: now)
    }

    /// The families of the releases: they change only when the board does, so a scrape can reuse them.
    public static func releases(_ snapshot: ReleaseBoard.Snapshot) -> String {
        var info = Family(name: "switchyard_release_info", type: "gauge",
                          help: "The latest release of each service: always 1, its deployment, AMI and state in the labels.")
        var green = Family(name: "switchyard_release_green_weight", type: "gauge",
                           help: "Green's share of the traffic in percent, as last confirmed, of the latest release of each service.")
        var phase = Family(name: "switchyard_release_phase", type: "gauge",
                           help: "1 for the state the latest release of each service is in, 0 for every other state.")
        var active = Family(name: "switchyard_release_active", type: "gauge",
                            help: "1 while the latest release of the service is not over (not completed, rolled back or failed).")
        var failures = Family(name: "switchyard_check_failures_total", type: "counter",
                              help: "Checks that rolled a release back or paused it, by service and kind (http, alarm, metric, target_health, hook, resume).")
        var rollbacks = Family(name: "switchyard_rollbacks_total", type: "counter", help: "Releases that ended rolled back, by service.")
        var deployments = Family(name: "switchyard_deployments_total", type: "counter", help: "Releases started, by service.")
        for s in snapshot.services {
            if let d = s.latest {
                let base = [("service", s.name), ("deployment", d.id)]
                info.samples.append((base + [("ami", d.image), ("state", d.state.rawValue)], "1"))
                green.samples.append((base, String(d.greenWeight)))
                for state in DeploymentState.allCases {
                    phase.samples.append((base + [("phase", state.rawValue)], state == d.state ? "1" : "0"))
                }
                active.samples.append(([("service", s.name)], d.state.isTerminal ? "0" : "1"))
            }
            for kind in s.checkFailures.keys.sorted() {
                failures.samples.append(([("service", s.name), ("kind", kind)], String(s.checkFailures[kind] ?? 0)))
            }
            rollbacks.samples.append(([("service", s.name)], String(s.rollbacks)))
            deployments.samples.append(([("service", s.name)], String(s.deployments)))
        }
        return [info, green, phase, active, failures, rollbacks, deployments].map(\.text).joined(separator: "\n") + "\n"
    }

    /// The server's own families: its request counts and how fresh its reading of the store is.
    public static func server(_ snapshot: ReleaseBoard.Snapshot, requests: [RequestCounter.Key: Int], now: Date) -> String {
        var served = Family(name: "switchyard_serve_requests_total", type: "counter",
                            help: "Requests this server answered, by route and status code.")
        for key in requests.keys.sorted(by: { ($0.route, $0.code) < ($1.route, $1.code) }) {
            served.samples.append(([("route", key.route), ("code", String(key.code))], String(requests[key] ?? 0)))
        }
        var refresh = Family(name: "switchyard_serve_state_refresh_seconds", type: "gauge",
                             help: "How long the last read of the state store's changes took.")
        refresh.samples.append(([], String(format: "%.6f", snapshot.refreshSeconds)))
        var age = Family(name: "switchyard_serve_state_age_seconds", type: "gauge",
                         help: "Seconds since the state store was last read (the metrics above are that old).")
        age.samples.append(([], snapshot.refreshedAt.map { String(format: "%.3f", max(0, now.timeIntervalSince($0))) } ?? "NaN"))
        return [served, refresh, age].map(\.text).joined(separator: "\n") + "\n"
    }
}

/// The server's own request counts, by route and status code.
public final class RequestCounter: @unchecked Sendable {
    public struct Key: Hashable, Sendable {
        public var route: String
        public var code: Int
    }

    private let lock = NSLock()
    private var counts: [Key: Int] = [:]

    public init() {}

    public func count(route: String, code: Int) {
        lock.lock()
        counts[Key(route: route, code: code), default: 0] += 1
        lock.unlock()
    }

    public var all: [Key: Int] {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }
}
