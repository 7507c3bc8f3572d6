import AWS
import Orchestrator

// The AWS provider's errors by kind of failure (`ProviderFailure`), for the CLI's exit codes. The AWS module's own
// configuration and credential errors are classified here too: that module knows nothing of the orchestrator.

extension PlanError: ProviderFailure {
    public var failureKind: FailureKind { .badInput }
}

extension ListenerClaimed: ProviderFailure {
    public var failureKind: FailureKind { .conflict }
}

extension ClaimUnconfirmed: ProviderFailure {
    public var failureKind: FailureKind { .conflict }
}

extension Route53TrafficError: ProviderFailure {
    /// The file and the records disagree (bad input); anything else is a failure.
    public var failureKind: FailureKind { isFileMismatch ? .badInput : .failed }
}

extension ConfigurationError: ProviderFailure {
    public var failureKind: FailureKind { .badInput }
}

extension CredentialsError: ProviderFailure {
    public var failureKind: FailureKind { .badInput }
}

extension AWSError: ProviderFailure {
    public var failureKind: FailureKind { .failed }
    public var failureMessage: String { "AWS refused the request: \(self)" }
}
