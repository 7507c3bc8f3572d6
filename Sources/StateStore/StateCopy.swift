import Foundation
import SwitchyardCore

/// `switchyard state copy FROM TO`: moves a team's history from one store to another, through the protocol only, so
/// it works between any two backends.
public enum StateCopy {
    /// What a copy did.
    public struct Counts: Sendable, Hashable {
        public var deployments = 0
        public var events = 0
        public var requests = 0
        /// Deployments the target already held, identical, so left alone (a copy run again).
        public var alreadyThere = 0
        public init() {}
    }

    /// A deployment of the source that the target holds differently: nothing was copied.
    public struct Conflicts: Error, Sendable, CustomStringConvertible {
        public var problems: [String]
        public var description: String {
            ([problems.count == 1 ? "the target already holds 1 of these deployments, differently; nothing was copied:"
                : "the target already holds \(problems.count) of these deployments, differently; nothing was copied:"]
                + problems.prefix(20).map { "  " + $0 } + (problems.count > 20 ? ["  … and \(problems.count - 20) more"] : [])).joined(separator: "\n")
        }
    }

    /// Copies every deployment with its audit trail, and the pending requests of the active ones (a finished
    /// deployment's request is never handled). Leases are not copied: a copied active release is resumed by
    /// whoever runs it next. When the target already holds deployments, every one is compared first, and any that
    /// differs stops the copy before anything is written. `pageSize` bounds what is held at once.
    public static func run(from source: any StateStore, to target: any StateStore, pageSize: Int = 500,
                           progress: (Counts) -> Void = { _ in }) throws -> Counts {
        if try !target.historySummaries(HistoryQuery(limit: 1)).deployments.isEmpty {
            var problems: [String] = []
            try eachPage(of: source, pageSize: pageSize) { d in
                guard let here = try target.deployment(id: d.id) else { return }
                if let difference = ImportComparison.difference(here: here, trail: try target.events(deploymentId: d.id), source: d,
                                                                 sourceTrail: try source.events(deploymentId: d.id)) {
                    problems.append("\(d.id): \(difference)")
                }
            }
            if !problems.isEmpty { throw Conflicts(problems: problems) }
        }
        var counts = Counts()
        try eachPage(of: source, pageSize: pageSize) { d in
            let events = try source.events(deploymentId: d.id)
            let requests = d.state.isTerminal ? [] : try source.pendingRequests(deploymentId: d.id)
            switch try target.importDeployment(d, events: events, requests: requests) {
            case .imported:
                counts.deployments += 1
                counts.events += events.count
                counts.requests += requests.count
            case .alreadyThere:
                counts.alreadyThere += 1
            }
            if (counts.deployments + counts.alreadyThere) % pageSize == 0 { progress(counts) }
        }
        return counts
    }

    /// Every deployment of the store, oldest page last, `pageSize` records at a time.
    static func eachPage(of store: any StateStore, pageSize: Int, _ body: (Deployment) throws -> Void) throws {
        var page = 1
        while true {
            let (deployments, total) = try store.history(HistoryQuery(limit: pageSize, page: page))
            for d in deployments { try body(d) }
            if deployments.count < pageSize || page * pageSize >= total { return }
            page += 1
        }
    }
}
