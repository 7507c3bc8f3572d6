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

    /// States in which green may carry traffic, so checks must run.
    public var greenMayTakeTraffic: Bool {
        self == .shifting || self == .paused || self == .promoting
    }

    public var description: String { rawValue }
}
