import ArgumentParser
import Foundation
import StateStore
import SwitchyardCore

/// `switchyard state copy FROM TO`: moves a team's history to another store once (a state file to DynamoDB).
struct StateCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every deployment with its audit trail from one state store to another (e.g. a state file to DynamoDB).",
        discussion: """
            FROM and TO are state URLs: sqlite:///path/state.db or dynamodb://TABLE?region=REGION. FROM is only read. \
            Pending rollback/promote requests of active deployments come along; leases do not (resume an active release \
            against TO). A deployment TO already holds, identical, is skipped, so a copy can be run again; if TO holds \
            any of them differently, nothing is copied (exit 1). Prints what was copied.

            An active deployment (not finished) is refused (exit 2), for it would be active in both stores: --move \
            copies it and marks it in FROM as moved to TO, so that `resume`, `rollback` and `promote` there refuse it, \
            naming TO. One that a live process runs is refused (exit 4).
            """)

    @Argument(help: ArgumentHelp("Where the history is now (a state URL).", valueName: "from")) var from: String
    @Argument(help: ArgumentHelp("Where it goes (a state URL).", valueName: "to")) var to: String
    @Flag(name: .customLong("move"), help: "Move active deployments: FROM records each as moved to TO and refuses to go on with it.")
    var move = false

    func validate() throws {
        do {
            let (source, target) = try locations()
            if source == target { throw ValidationError("FROM and TO are the same store (\(source)); give two different ones") }
        } catch let error as StateLocationError {
            throw ValidationError(error.description)
        }
    }

    func locations() throws -> (StateLocation, StateLocation) {
        (try StateLocation.parse(from, source: "FROM"), try StateLocation.parse(to, source: "TO"))
    }

    func run() async throws {
        try await Failure.reporting {
            let (sourceLocation, targetLocation) = try locations()
            if let path = sourceLocation.sqlitePath, !FileManager.default.fileExists(atPath: path) {
                throw UsageError("FROM: no state file at \(path)")
            }
            let source = try sourceLocation.open(writing: move)
            let now = Date()
            // Before TO is opened (or created): a refused copy leaves no trace.
            let moving = try StateCopy.activeToMove(in: source, move: move, now: now)
            let target = try targetLocation.open(writing: true)
            let counts = try StateCopy.run(from: source, to: target) { soFar in
                Console.error("… \(Spelling.count(soFar.deployments + soFar.alreadyThere, "deployment")) so far")
            }
            Console.out("copied \(Spelling.count(counts.deployments, "deployment")) (\(Spelling.count(counts.events, "event")), "
                + "\(Spelling.count(counts.requests, "pending request"))) "
                + "from \(sourceLocation) to \(targetLocation)"
                + (counts.alreadyThere > 0 ? "; \(counts.alreadyThere) \(counts.alreadyThere == 1 ? "was" : "were") there already, identical, and "
                    + "\(counts.alreadyThere == 1 ? "was" : "were") left alone" : ""))
            try StateCopy.markMoved(moving, in: source, to: targetLocation.description, actor: Session.actor, at: now)
            if !moving.isEmpty {
                Console.out("moved \(Spelling.count(moving.count, "active deployment")) (\(moving.map(\.id).joined(separator: ", "))): "
                    + "\(sourceLocation) records \(moving.count == 1 ? "it" : "each") as moved; resume \(moving.count == 1 ? "it" : "them") "
                    + "with --state \(targetLocation)")
            }
            return .success
        }
    }
}
