import Foundation

/// How far AWS's clock is from this machine's, in seconds (positive: AWS is ahead). Every request is signed with this
/// machine's time plus the offset. One per process by default: a wrong clock is the machine's, whichever service
/// noticed it first.
public final class ClockOffset: @unchecked Sendable {
    public static let shared = ClockOffset()

    private let lock = NSLock()
    private var offset: TimeInterval = 0

    public init(_ seconds: TimeInterval = 0) { offset = seconds }

    public var seconds: TimeInterval {
        get { lock.withLock { offset } }
        set { lock.withLock { offset = newValue } }
    }
}

/// Clock skew, as the AWS SDKs correct it (JS v3 `getUpdatedSystemClockOffset`, Java v2 `ClockSkewAdjuster`, Go v2
/// `retry` clock-skew errors): an answer that refuses a request for its time carries AWS's own time in its `Date`
/// header; the offset between that and this machine's clock signs the next attempt.
public enum ClockSkew {
    /// The codes AWS answers a request signed too far from its time with (the JS v3 SDK's `CLOCK_SKEW_ERROR_CODES`):
    /// query APIs and Route 53 `SignatureDoesNotMatch` ("Signature expired"), S3 `RequestTimeTooSkewed`, EC2 and the
    /// common errors `RequestExpired` (EC2 also `AuthFailure`), JSON APIs `InvalidSignatureException`.
    public static let codes: Set<String> = [
        "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", "InvalidSignatureException", "SignatureDoesNotMatch",
        "AuthFailure",
    ]

    /// A code counts as skew only when AWS's time is at least this far from the time the request was signed with
    /// (Go v2 and Java v2: 4 minutes; AWS refuses requests 5 minutes off): a `SignatureDoesNotMatch` from a right clock is a
    /// wrong key, and is reported as one.
    public static let threshold: TimeInterval = 240

    /// AWS's time as the answer gives it: its `Date` header, else the time its "Signature expired" or "Signature not
    /// yet current" message names (`… (20260623T121000Z - 5 min.)`).
    public static func awsTime(dateHeader: String?, message: String) -> Date? {
        if let header = dateHeader, let date = httpDate(header) { return date }
        guard let open = message.range(of: "(", options: .backwards) else { return nil }
        let stamp = message[open.upperBound...].prefix(16)
        return amzDate(String(stamp))
    }

    /// The new offset (AWS's time minus this machine's) when `code` and AWS's time say the request was signed with a
    /// wrong clock; nil when it was not (no skew code, no time in the answer, or a time within the threshold).
    /// - Parameters:
    ///   - signedWith: the time the request was signed with (this machine's time plus the offset of the moment).
    ///   - localNow: this machine's time when the answer came.
    public static func correction(code: String, awsTime: Date?, signedWith: Date, localNow: Date) -> TimeInterval? {
        guard codes.contains(code), let awsTime, abs(awsTime.timeIntervalSince(signedWith)) >= threshold else { return nil }
        return awsTime.timeIntervalSince(localNow)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 7231's preferred form, which AWS sends).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    /// `20260623T121000Z`, as X-Amz-Date.
    static func amzDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)
    }

    /// "20m03s behind" or "1h02m ahead": this machine's clock against AWS's, for people.
    public static func describe(offset: TimeInterval) -> String {
        let seconds = Int(abs(offset).rounded())
        let span = seconds >= 3600 ? "\(seconds / 3600)h\(String(format: "%02d", (seconds % 3600) / 60))m"
            : seconds >= 60 ? "\(seconds / 60)m\(String(format: "%02d", seconds % 60))s" : "\(seconds)s"
        return "\(span) \(offset > 0 ? "behind" : "ahead of")"
    }

    /// ISO 8601 UTC to the second, for messages.
    static func stamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// AWS refused a request for its time even after Switchyard signed it again with AWS's own clock: the machine's
/// clock is wrong (or moving), not the keys.
public struct ClockSkewError: Error, Sendable, CustomStringConvertible {
    public var service: AWSService
    public var action: String
    /// This machine's time and AWS's (from its answer) when the corrected attempt was refused.
    public var localTime: Date
    public var awsTime: Date
    /// The offset the corrected attempt was signed with.
    public var offset: TimeInterval
    public var error: AWSError

    public var description: String {
        "\(service.signingName) \(action): AWS refused the request for its time even after Switchyard signed it again with AWS's "
            + "clock (offset \(ClockSkew.describe(offset: offset)) AWS): this machine's clock says \(ClockSkew.stamp(localTime)), "
            + "AWS's says \(ClockSkew.stamp(awsTime)). The clock is wrong or jumping, not the keys: set it right (NTP, chrony, "
            + "systemd-timesyncd) and run the command again. AWS said: \(error.code): \(error.message)"
    }
}
