import Foundation
import SwitchyardCore

/// The part of `plan --json` that shows which commands the release will run.
extension JSONViews.PlanView {
    /// One hook as the file gave it, with its defaults filled in.
    struct Hook: Encodable {
        let run: [String]
        let timeout_ms: Int64
        let on_failure: String

        init(_ hook: SwitchyardCore.Hook) {
            run = hook.run
            timeout_ms = hook.timeout.milliseconds
            on_failure = hook.onFailure.rawValue
        }
    }
}
