import Foundation

/// One logical AWS call's attempts: retries by the policy within the call's deadline, Auto Scaling's busy answers
/// waited out, clock skew corrected once, expired credentials fetched again once; every wait said.
extension AWSClient {
    /// One attempt of a call: its 1-based number, and how long it may wait for its answer (the per-request timeout, or
    /// what is left of the call's deadline, whichever is shorter).
    struct Attempt {
        var number: Int
        var timeout: TimeInterval
    }

    /// A clock correction an answer asked for: the offset to sign with from now on, and both clocks.
    struct SkewCorrection {
        var offset: TimeInterval
        var awsTime: Date
        var localTime: Date
    }

    struct AttemptFailure: Error {
        var error: Error
        var retryAfter: TimeInterval?
        var temporaryKeys = false
        var skew: SkewCorrection?

        /// `ExpiredToken` (query APIs) and `ExpiredTokenException` (JSON APIs) say the session token is too old.
        /// `RequestExpired` is what EC2 answers to an expired session token too, though it also means clock skew (the
        /// Java SDK files it under clock skew): it counts only for temporary keys, and only when the answer's time does
        /// not show a skewed clock (that is corrected first).
        var isExpiredCredentials: Bool {
            guard let error = error as? AWSError else { return false }
            switch error.code.rawValue {
            case "ExpiredToken", "ExpiredTokenException": return true
            case "RequestExpired": return temporaryKeys
            default: return false
            }
        }
    }

    /// The time requests are signed with: this machine's, moved by the offset learnt from AWS's answers.
    func signingDate() -> Date { now().addingTimeInterval(clock.seconds) }

    /// The failure of an attempt AWS answered with a non-2xx status, with the clock correction it asks for, if any.
    func failure(_ error: Error, response: HTTPResponse, signedWith: Date, temporaryKeys: Bool) -> AttemptFailure {
        var failure = AttemptFailure(error: error, retryAfter: response.header("Retry-After").flatMap(TimeInterval.init), temporaryKeys: temporaryKeys)
        if let aws = error as? AWSError {
            let awsTime = ClockSkew.awsTime(dateHeader: response.header("Date"), message: aws.message)
            let local = now()
            if let offset = ClockSkew.correction(code: aws.code.rawValue, awsTime: awsTime, signedWith: signedWith, localNow: local), let awsTime {
                failure.skew = SkewCorrection(offset: offset, awsTime: awsTime, localTime: local)
            }
        }
        return failure
    }

    /// Runs `attempt` until it succeeds, the retry policy or the call's deadline gives up, or an error is final. An
    /// attempt reports a failure as `AttemptFailure`. Outside the policy's budget: one re-signed attempt after a clock
    /// correction, one after fetching expired credentials again, Auto Scaling's busy answers (bounded by
    /// `RetryPolicy.busyLimit`) and throttled answers (bounded by `RetryPolicy.throttleLimit`, each resend paced by the
    /// adaptive limiter); the deadline counts from the last of them.
    func withRetries<T>(_ service: AWSService, action: String, signing: Signing, _ attempt: (Attempt) async throws -> T) async throws -> T {
        var number = 1
        var renewedExpiredCredentials = false
        var correctedClock = false
        var busyTries = 0
        var busySince: Date?
        var throttledTries = 0
        var throttledSince: Date?
        var deadlineFrom = now()
        while true {
            let left = deadline - now().timeIntervalSince(deadlineFrom)
            do {
                return try await limited(service, action) {
                    try await attempt(Attempt(number: number, timeout: max(0.1, min(timeout, left))))
                }
            } catch let failure as AttemptFailure {
                if let skew = failure.skew, let error = failure.error as? AWSError {
                    guard !correctedClock else {
                        throw ClockSkewError(service: service, action: action, localTime: skew.localTime, awsTime: skew.awsTime,
                                             offset: clock.seconds, error: error)
                    }
                    // Once per call, outside the budget: sign again with AWS's time, as the AWS SDKs do.
                    correctedClock = true
                    correct(skew, error)
                    continue
                }
                if case .configured = signing, !renewedExpiredCredentials, failure.isExpiredCredentials {
                    // Once per call: fetch credentials again and retry at once, outside the retry budget.
                    renewedExpiredCredentials = true
                    await renewCredentials(service, action, failure.error)
                    continue
                }
                let since = busySince ?? now()
                if let busy = retryPolicy.decideBusy(error: failure.error, tries: busyTries + 1, elapsed: now().timeIntervalSince(since)) {
                    guard case .retry(let delay) = busy else { throw failure.error }
                    busySince = since
                    busyTries += 1
                    notice("\(place(service, action)): \(Self.problem(failure.error)): AWS is busy with the group's activity; "
                        + "try \(busyTries + 1) in \(Self.seconds(delay)) (busy answers are retried for up to \(Self.seconds(retryPolicy.busyLimit)))")
                    try await sleep(delay)
                    deadlineFrom = now()
                    continue
                }
                let throttledFrom = throttledSince ?? now()
                if let throttled = retryPolicy.decideThrottled(error: failure.error, tries: throttledTries + 1,
                                                               elapsed: now().timeIntervalSince(throttledFrom), retryAfter: failure.retryAfter,
                                                               urgent: AWSPriority.urgent) {
                    guard case .retry(let delay) = throttled else { throw failure.error }
                    throttledSince = throttledFrom
                    throttledTries += 1
                    notice("\(place(service, action)): \(Self.problem(failure.error)): AWS throttles this account; try \(throttledTries + 1) "
                        + "in \(Self.seconds(delay)) (throttled answers are retried for up to \(Self.seconds(retryPolicy.throttleLimit)), "
                        + "at the client-side rate)")
                    try await sleep(delay)
                    deadlineFrom = now()
                    continue
                }
                switch retryPolicy.decide(error: failure.error, attempt: number, retryAfter: failure.retryAfter) {
                case .dontRetry:
                    throw final(failure.error, service, action, tries: number, since: deadlineFrom, atDeadline: false)
                case .retry(let delay):
                    guard now().timeIntervalSince(deadlineFrom) + delay < deadline else {
                        throw final(failure.error, service, action, tries: number, since: deadlineFrom, atDeadline: true)
                    }
                    notice("\(place(service, action)): \(Self.problem(failure.error)), try \(number + 1) of \(retryPolicy.maxAttempts) in \(Self.seconds(delay))")
                    try await sleep(delay)
                    number += 1
                }
            }
        }
    }

    /// One attempt of any protocol through the service's adaptive rate limiter: once AWS has throttled the service,
    /// the attempt waits for a token of the client-side bucket first (unless `AWSPriority.urgent`); every answer (or
    /// none) is told to the limiter.
    private func limited<T>(_ service: AWSService, _ action: String, _ attempt: () async throws -> T) async throws -> T {
        let limiter = limiters.limiter(for: service, now: now().timeIntervalSince1970)
        let wait = AWSPriority.urgent ? 0 : limiter.reserve(now: now().timeIntervalSince1970)
        if wait > 0 { try await sleep(wait) }
        do {
            let result = try await attempt()
            limiter.record(throttled: false, now: now().timeIntervalSince1970)
            return result
        } catch let failure as AttemptFailure {
            let code = (failure.error as? AWSError)?.code
            if limiter.record(throttled: code?.isThrottling ?? false, now: now().timeIntervalSince1970), let code {
                notice("\(place(service, action)): \(code): AWS throttles this account's \(service.signingName) requests; "
                    + String(format: "sending at most %.1f of them a second from now on, more as they go through", limiter.rate))
            }
            throw failure
        }
    }

    /// Signs from now on with AWS's time as `skew` gives it, and says so.
    private func correct(_ skew: SkewCorrection, _ error: AWSError) {
        clock.seconds = skew.offset
        notice("this machine's clock is \(ClockSkew.describe(offset: skew.offset)) AWS's (\(error.service.signingName) \(error.action) "
            + "answered \(error.code) with Date \(ClockSkew.stamp(skew.awsTime)); here it is \(ClockSkew.stamp(skew.localTime))): "
            + "signing with AWS's time from now on")
    }

    private func renewCredentials(_ service: AWSService, _ action: String, _ error: Error) async {
        logger.info("credentials expired; fetching them again", metadata: [
            "aws.service": "\(service.signingName)", "aws.action": "\(action)", "error": "\(error)"])
        await (configuration.credentials as? RefreshingCredentials)?.invalidate()
    }

    /// `elasticloadbalancing DescribeListeners at https://elasticloadbalancing.eu-west-1.amazonaws.com`
    func place(_ service: AWSService, _ action: String) -> String {
        "\(service.signingName) \(action) at \(Self.origin(configuration.endpoint(for: service)))"
    }

    /// The error a call ends with: an answer from AWS as it came, no answer as `AWSUnreachable`.
    private func final(_ error: Error, _ service: AWSService, _ action: String, tries: Int, since: Date, atDeadline: Bool) -> Error {
        guard let transport = error as? TransportError else { return error }
        return AWSUnreachable(service: service, action: action, endpoint: Self.origin(configuration.endpoint(for: service)),
                              problem: transport, tries: tries, maxAttempts: retryPolicy.maxAttempts,
                              elapsed: now().timeIntervalSince(since), deadline: atDeadline ? deadline : nil)
    }

    /// What went wrong with one attempt, in a few words.
    static func problem(_ error: Error) -> String {
        switch error {
        case let error as TransportError: return AWSUnreachable.words(error)
        case let error as AWSError: return error.message.isEmpty ? "\(error.code)" : "\(error.code) (\(error.message))"
        default: return String(describing: error)
        }
    }

    /// Scheme, host and port: never a path or a query.
    static func origin(_ url: URL) -> String {
        var text = "\(url.scheme ?? "https")://\(url.host ?? "")"
        if let port = url.port { text += ":\(port)" }
        return text
    }

    /// `0.4 s`, `12 s`, `10 min`
    static func seconds(_ value: TimeInterval) -> String {
        if value >= 120, value.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(value / 60)) min" }
        if value >= 10 || abs(value - value.rounded()) < 0.05 { return "\(Int(value.rounded())) s" }
        return String(format: "%.1f s", value)
    }
}

/// No answer came from AWS: every attempt of the call timed out or could not connect, until the retry budget or the
/// call's deadline ran out. Says which call, where, what happened and for how long.
public struct AWSUnreachable: Error, Sendable, CustomStringConvertible {
    public var service: AWSService
    public var action: String
    /// Scheme, host and port of the endpoint.
    public var endpoint: String
    /// What the last attempt met.
    public var problem: TransportError
    public var tries: Int
    public var maxAttempts: Int
    public var elapsed: TimeInterval
    /// The call's deadline, when it is what ended the call (else every attempt was spent).
    public var deadline: TimeInterval?

    public init(service: AWSService, action: String, endpoint: String, problem: TransportError, tries: Int, maxAttempts: Int,
                elapsed: TimeInterval, deadline: TimeInterval?) {
        self.service = service
        self.action = action
        self.endpoint = endpoint
        self.problem = problem
        self.tries = tries
        self.maxAttempts = maxAttempts
        self.elapsed = elapsed
        self.deadline = deadline
    }

    public var description: String {
        let why = deadline.map { "the call's deadline (SWITCHYARD_AWS_DEADLINE) is \(AWSClient.seconds($0))" }
            ?? "every one of its \(maxAttempts) tries failed"
        return "\(service.signingName) \(action) at \(endpoint): \(Self.words(problem)) on try \(tries) of \(maxAttempts); "
            + "gave up after \(AWSClient.seconds(elapsed.rounded())): \(why)"
    }

    /// "no answer in 20 s", "connection refused (curl: …)"
    static func words(_ error: TransportError) -> String {
        switch error {
        case .timedOut(let seconds): return "no answer in \(AWSClient.seconds(seconds))"
        case .connectionFailed(let detail): return detail
        }
    }
}
