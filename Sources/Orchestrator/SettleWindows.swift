import Foundation
import SwitchyardCore

/// How long a cloud's reads may lag its writes, as the operator sets it for every provider: the read window
/// (`SWITCHYARD_READ_SETTLE`) a read that disagrees with a write of this process is read again through, and the tag
/// settle (`SWITCHYARD_TAG_SETTLE`) a fence's claim reads its own mark back through. Each is a duration from 0 to 1m;
/// anything else is the default (the CLI refuses a bad value before any command runs: docs/environment.md).
public enum SettleWindows {
    /// `SWITCHYARD_READ_SETTLE`, else `ReadConsistency.defaultWindow`.
    public static let read: TimeInterval = duration("SWITCHYARD_READ_SETTLE") ?? ReadConsistency.defaultWindow
    /// `SWITCHYARD_TAG_SETTLE`, else 2 s.
    public static let tag: TimeInterval = duration("SWITCHYARD_TAG_SETTLE") ?? 2

    static func duration(_ name: String) -> TimeInterval? {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty, let span = TimeSpan(parsing: text),
              span.milliseconds >= 0, span.milliseconds <= 60_000 else { return nil }
        return span.seconds
    }
}
