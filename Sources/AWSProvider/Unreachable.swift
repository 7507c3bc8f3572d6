import AWS
import Foundation
import Orchestrator

/// Which failures mean only that AWS could not be reached for now, so the work is worth trying again later: no answer
/// within the call's deadline, throttling or a 5xx past the call's retries, a group busy past its limit, a deleted
/// group still listed. A refusal (access denied, validation, a clock AWS will not take) is not: it needs a person.
public enum Unreachable {
    public static func isUnreachable(_ error: Error) -> Bool {
        switch error {
        case is AWSUnreachable, is TransportError:
            return true
        case let error as AWSError:
            if error.code.isThrottling { return true }
            if error.service == .autoScaling, RetryPolicy.busyCodes.contains(error.code.rawValue) { return true }
            return error.status >= 500 && error.isAWSErrorBody
        case is DeletionError:
            return true
        default:
            return false
        }
    }
}
