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

    /// Active deployments in the source, which a plain copy would leave active in both stores: two runners could then
    /// resume them side by side. Refused unless the copy moves them (`state copy --move`).
    public struct ActiveNotMoved: Error, Sendable, CustomStringConvertible {
        public var ids: [String]
        public var description: String {
            "the source holds \(ids.count == 1 ? "an active deployment" : "\(ids.count) active deployments") (\(ids.joined(separator: ", "))): "
                + "a copy would leave \(ids.count == 1 ? "it" : "them") active in both stores, where two runners could resume "
                + "\(ids.count == 1 ? "it" : "them") side by side. Copy with --move (the source then records where each went, and "
                + "refuses to resume it), or let \(ids.count == 1 ? "it" : "them") finish first"
        }
    }

    /// An active deployment that a live process runs in the source: it cannot be moved from under that process.
    public struct RunByLiveProcess: Error, Sendable, CustomStringConvertible {
        public var id: String
        public var runner: String
        public var description: String {
            "deployment \(id) is run by a live process (\(runner)): it cannot be moved from under it; stop it (Ctrl-C, it is "
                + "resumable) or let it finish, then copy again"
        }
    }

    /// The source's active deployments not moved yet; with `move`, none may be run by a live process.
    public static func activeToMove(in source: any StateStore, move: Bool, now: Date) throws -> [Deployment] {
        let active = try source.deployments(service: nil, limit: 10_000, activeOnly: true).filter { $0.movedTo == nil }
        guard !active.isEmpty else { return [] }
        guard move else { throw ActiveNotMoved(ids: active.map(\.id)) }
        for d in active {
            if let lease = try source.lease(deploymentId: d.id), lease.isLive(at: now) {
                throw RunByLiveProcess(id: d.id, runner: lease.describe(at: now))
            }
        }
        return active
    }

    /// Marks each moved deployment in the source, one fenced save each (conditional on the version read): it names
    /// the store it went to, and its trail says so.
    public static func markMoved(_ moved: [Deployment], in source: any StateStore, to destination: String, actor: String, at now: Date) throws {
        for d in moved {
            var marked = d
            marked.movedTo = destination
            marked.movedAt = now
            try source.save(marked, log: LogEntry(from: d.state, to: d.state, message: "moved to \(destination) by `switchyard state copy --move`: "
                + "resume it there (`switchyard resume \(d.id) --state \(destination)`)", details: ["moved_to": destination]),
                            actor: actor, at: now, holder: nil)
        }
    }

    /// Copies every deployment with its audit trail, and the pending requests of the active ones (a finished
    /// deployment's request is never handled). Leases are not copied: a copied active release is resumed by
    /// whoever runs it next. Every record of the source is read once before anything is written, so one the copy
    /// cannot read (in a newer record format, or damaged) stops it with the target as it was; when the target already
    /// holds deployments, each is compared on that pass too, and any that differs stops the copy the same way.
    /// `pageSize` bounds what is held at once.
    public static func run(from source: any StateStore, to target: any StateStore, pageSize: Int = 500,
                           progress: (Counts) -> Void = { _ in }) throws -> Counts {
        let compare = try !target.historySummaries(HistoryQuery(limit: 1)).deployments.isEmpty
        do {
            var problems: [String] = []
            try eachPage(of: source, pageSize: pageSize) { d in
                guard compare, d.movedTo == nil, let here = try target.deployment(id: d.id) else { return }
                if let difference = ImportComparison.difference(here: here, trail: try target.events(deploymentId: d.id), source: d,
                                                                 sourceTrail: try source.events(deploymentId: d.id)) {
                    problems.append("\(d.id): \(difference)")
                }
            }
            if !problems.isEmpty { throw Conflicts(problems: problems) }
        }
        var counts = Counts()
        try eachPage(of: source, pageSize: pageSize) { d in
            // Moved away by an earlier `--move`: it lives on in the store it went to, never copied again.
            guard d.movedTo == nil else { return }
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
