import Foundation
import HTTP
import Logging
import Probes
import StateStore
import SwitchyardCore

/// Sends notifications to the deployment file's webhooks through the HTTP transport: in the background, in order per
/// webhook, each attempt bounded by `notify.timeout`, a 5xx, a timeout or a connection error retried up to
/// `notify.retries` times. Never blocks or fails the release; URLs are logged without their path and query, which often
/// carry the secret.
public final class Notifier: @unchecked Sendable {
    private let logger: Logger
    private let transport: HTTPTransport
    private let lock = NSLock()
    /// The last send queued per webhook URL, so the next one waits for it: receivers see events in order.
    private var tails: [String: Task<Void, Never>] = [:]
    private var longestTimeout: TimeInterval = 0

    public init(logger: Logger, transport: HTTPTransport = CurlTransport.shared) {
        self.logger = logger
        self.transport = transport
    }

    /// Queues a notification for every webhook of the deployment's file; returns at once.
    public func notify(_ d: Deployment, _ log: LogEntry, at: Date) {
        guard let notify = d.plan.spec.notify, let notification = WebhookEvent.about(d, log, at: at) else { return }
        for webhook in notify.webhooks {
            let body: Data
            do {
                body = try Self.body(notification, format: webhook.format)
            } catch {
                continue
            }
            lock.withLock {
                longestTimeout = max(longestTimeout, notify.timeout.seconds)
                let previous = tails[webhook.url]
                tails[webhook.url] = Task { [self] in
                    await previous?.value
                    await send(body, to: webhook.url, timeout: notify.timeout.seconds, retries: notify.retries)
                }
            }
        }
    }

    /// Waits for queued notifications, but never longer than the longest configured timeout: what is still queued
    /// then (a receiver that hangs) is given up, and said so in the log.
    public func flush() async {
        let (pending, limit) = lock.withLock { (Array(tails.values), longestTimeout) }
        guard !pending.isEmpty else { return }
        let race = FirstAnswer<Bool>()
        let delivered: Bool = await withCheckedContinuation { continuation in
            race.start(continuation)
            race.add(Task {
                for task in pending { await task.value }
                race.answer(true)
            })
            race.add(Task {
                try? await Task.sleep(nanoseconds: UInt64(limit * 1_000_000_000))
                race.answer(false)
            })
        }
        if !delivered {
            logger.warning("webhooks still busy at exit; the rest of their notifications were given up")
        }
    }

    static func body(_ notification: WebhookEvent, format: DeploymentSpec.Notify.Format) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(StoredTime.text(date))
        }
        switch format {
        case .json: return try encoder.encode(notification)
        case .slack: return try encoder.encode(["text": notification.text])
        }
    }

    /// `https://hooks.slack.com/…`: scheme and host only.
    public static func redacted(_ url: String) -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return "(a webhook URL)" }
        return "\(scheme)://\(host)\(parsed.port.map { ":\($0)" } ?? "")/…"
    }

    private func send(_ body: Data, to url: String, timeout: TimeInterval, retries: Int) async {
        guard let target = URL(string: url) else { return }
        let request = HTTPRequest(method: "POST", url: target, headers: ["Content-Type": "application/json", "User-Agent": "switchyard"],
                                  body: body)
        for attempt in 0...retries {
            let outcome: String
            do {
                let response = try await transport.execute(request, timeout: timeout)
                if (200..<300).contains(response.status) { return }
                outcome = "answered \(response.status)"
                if response.status < 500 && response.status != 429 { break }
            } catch TransportError.timedOut {
                outcome = "gave no answer within \(TimeSpan(milliseconds: Int64(timeout * 1000)))"
            } catch TransportError.connectionFailed(let detail) {
                outcome = "failed: \(detail)"
            } catch {
                return  // cancelled: nobody waits for this notification any more
            }
            logger.warning("webhook attempt failed", metadata: ["webhook": "\(Self.redacted(url))", "attempt": "\(attempt + 1)", "outcome": "\(outcome)"])
            if attempt < retries { try? await Task.sleep(nanoseconds: UInt64(100_000_000 * (attempt + 1))) }
        }
    }
}
