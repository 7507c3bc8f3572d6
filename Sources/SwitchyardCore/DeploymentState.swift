/// The states of a deployment, as named in the product contract.
public enum DeploymentState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case pending
    case launching
    case waitingForCapacity = "waiting_for_capacity"
    case checkingHealth = "checking_health"
    case shifting
    case paused
    case promoting
    case completed
    case rollingBack = "rolling_back"
    case rolledBack = "rolled_back"
    case failed

    /// Completed, rolled back and failed deployments never change state again.
    public var isTerminal: Bool {
        switch self {
        case .completed, .rolledBack, .failed: return true
        default: return false
        }
    }

    /// Whether a stored deployment in this state may move to `next`. Terminal states are final, with two operator
    /// exceptions that only `switchyard rollback` asks for: undoing a `completed` release while blue is retained, and
    /// retrying the rollback of a `failed` one.
    public func allows(_ next: DeploymentState) -> Bool {
        if next == self || !isTerminal { return true }
        return next == .rollingBack && (self == .completed || self == .failed)
    }

    public var description: String { rawValue }
}
