/// What kind of failure a provider's error is, as the provider knows it: the CLI turns the kind into its exit code
/// (docs/commands.md#exit-codes), so it need not know any cloud's error types. An error that is none of these is a
/// plain failure (exit 1).
public enum FailureKind: Sendable, Equatable {
    /// The input is wrong (the file names a listener that does not exist, credentials or a region that cannot be
    /// used): exit 2, and nothing was changed.
    case badInput
    /// Someone else holds the traffic (another release's claim on it): exit 4.
    case conflict
    /// Anything else the provider met: exit 1.
    case failed
}

/// An error that says its own kind of failure, and how it reads as a sentence.
public protocol ProviderFailure: Error {
    var failureKind: FailureKind { get }
    /// The error as the user reads it after `error: ` (the cloud's refusal, said as one).
    var failureMessage: String { get }
}

extension ProviderFailure {
    public var failureMessage: String { String(describing: self) }
}

/// A stored deployment's world could not be read as its plan describes it (the traffic or a fleet the plan names
/// is not as the provider expects): found at run time, not in any input, so a failure (exit 1), not bad usage.
public struct ObservationRefused: ProviderFailure, CustomStringConvertible {
    public var deploymentId: String
    public var reason: String

    public init(deploymentId: String, reason: String) {
        self.deploymentId = deploymentId
        self.reason = reason
    }

    public var failureKind: FailureKind { .failed }
    public var description: String { "could not read what deployment \(deploymentId) runs on: \(reason)" }
}
