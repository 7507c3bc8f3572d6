import ArgumentParser
import DynamoStateStore
import Foundation
import Orchestrator
import SQLiteStateStore
import StateStore
import SwitchyardCore

/// The exit codes of the product contract.
enum Exit: Int32 {
    case success = 0
    case failed = 1
    case usage = 2
    case rolledBack = 3
    case conflict = 4
    case interrupted = 5

    static func forState(_ state: DeploymentState) -> Exit {
        switch state {
        case .completed: return .success
        case .rolledBack: return .rolledBack
        case .failed: return .failed
        default: return .interrupted
        }
    }

    var code: ExitCode { ExitCode(rawValue) }
}

/// Maps any error to its exit code and one readable paragraph. Only the CLI does this.
enum Failure {
    static func exit(for error: Error) -> Exit {
        switch error {
        case is DeploymentFileError, is UsageError, is ValidationError, is RollbackRefused, is PackerManifestError,
             is StateLocationError, is UserConfigError, is StateCopy.ActiveNotMoved, is MovedAway:
            return .usage
        case is StateCopy.RunByLiveProcess:
            return .conflict
        case let error as DynamoStateError:
            // A table of another schema is a fault in the world, not in the command line (docs/commands.md#state-init).
            if case .wrongSchema = error { return .failed }
            return .usage
        case let error as LeaseError:
            if case .held = error { return .conflict }
            return .failed
        case is Interrupted, is DetachedAtGate, is StoppedEarly:
            return .interrupted
        case is FencedOut, is TrafficUnsettled, is MovedAwayActive:
            return .conflict
        case let error as ProviderFailure:
            // The provider says what its own errors are (Sources/AWSProvider/AWSFailures.swift).
            switch error.failureKind {
            case .badInput: return .usage
            case .conflict: return .conflict
            case .failed: return .failed
            }
        case let error as SQLiteError where error.isBusy:
            // Another process holds the state file's write lock (docs/commands.md#exit-codes).
            return .conflict
        case let error as StateStoreError:
            if case .activeDeploymentExists = error { return .conflict }
            return .failed
        default:
            return .failed
        }
    }

    static func message(for error: Error) -> String {
        switch error {
        case let error as ProviderFailure:
            return error.failureMessage
        default:
            return String(describing: error)
        }
    }

    /// Runs a command body; on error prints `error: …` on stderr and exits with the mapped code.
    static func reporting(_ body: () async throws -> Exit) async throws {
        let outcome: Result<Exit, Error>
        do {
            outcome = .success(try await body())
        } catch {
            outcome = .failure(error)
        }
        // Webhooks queued during the command get their chance, bounded by notify.timeout.
        await Session.notifier.flush()
        let result: Exit
        do {
            result = try outcome.get()
        } catch let exit as ExitCode {
            throw exit
        } catch let detached as DetachedAtGate {
            let d = detached.deployment
            let gate = d.handChange == nil ? (d.hookPause == nil ? "a manual gate" : "a failed hook (on_failure: pause)") : "a change of traffic by hand"
            Console.error("deployment \(d.id) waits at \(gate) at blue \(d.blueWeight)% / green \(d.greenWeight)%; "
                + "continue with `switchyard promote \(d.id)` (or watch it with `switchyard resume \(d.id)`)")
            throw Exit.interrupted.code
        } catch let stopped as Interrupted {
            let d = stopped.deployment
            Console.error("deployment \(d.id) interrupted by \(stopped.signal) in state \(d.state) at blue \(d.blueWeight)% / green \(d.greenWeight)%; "
                + "continue with `switchyard resume \(d.id)`")
            throw Exit.interrupted.code
        } catch {
            Console.error("error: \(message(for: error))")
            throw exit(for: error).code
        }
        if result != .success { throw result.code }
    }
}

/// A deployment `state copy --move` moved to another store: nothing goes on from the record it left behind (exit 2).
struct MovedAway: Error, CustomStringConvertible {
    var deployment: Deployment
    var command: String

    /// Refuses to go on with a moved deployment, naming where it went.
    static func refuse(_ d: Deployment, command: String) throws {
        if d.movedTo != nil { throw MovedAway(deployment: d, command: command) }
    }

    var description: String {
        let to = deployment.movedTo ?? "another store"
        return "deployment \(deployment.id) was moved to \(to) by `switchyard state copy --move`"
            + (deployment.movedAt.map { " at \(Console.time($0))" } ?? "")
            + "; this store no longer runs it: `switchyard \(command) \(deployment.id) --state \(to)`"
    }
}

/// `start` in a store that an active release of the service was moved out of: it still holds the service, in the
/// store it went to (exit 4, as any active release does); the commands that go on with it name that store.
struct MovedAwayActive: Error, CustomStringConvertible {
    var deployment: Deployment

    var description: String {
        let (id, to) = (deployment.id, deployment.movedTo ?? "another store")
        return "deployment \(id) of this service is still active (\(deployment.state.rawValue), started \(StoredTime.text(deployment.createdAt))) "
            + "in \(to), where `switchyard state copy --move` moved it" + (deployment.movedAt.map { " at \(Console.time($0))" } ?? "")
            + ". Wait for it, or `switchyard resume \(id) --state \(to)` / `switchyard rollback \(id) --state \(to)`."
    }
}

/// A failure already explained in words (exit 1).
struct UnexpectedFailure: Error, CustomStringConvertible {
    var description: String
}
