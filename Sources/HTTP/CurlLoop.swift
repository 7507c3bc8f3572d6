import CCurl
import Foundation

/// Made once per process before any handle: curl_global_init is not safe to race with other curl calls. This is where
/// libcurl is loaded (`sy_curl()`, CCurl): a command that never makes a transport never loads it.
let curlReady: Bool = sy_global_init() == CURLE_OK

/// Why no transfer can be made, in a user's words: libcurl not found or not initialised.
var curlUnavailable: String {
    if let why = sy_curl_load_error() {
        return "libcurl could not be loaded (\(String(cString: sy_curl_soname)): \(String(cString: why))); "
            + "install it (Debian and Ubuntu: apt-get install libcurl4)"
    }
    return "libcurl could not be initialised"
}

/// The thread that drives every transfer of one transport through one `curl_multi` handle.
///
/// Other threads only queue work (submit, cancel, stop) under the lock and wake the loop; the handles themselves and
/// every callback are touched on the loop's thread alone.
final class CurlLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var incoming: [CurlTransfer] = []
    private var cancelled: [CurlTransfer] = []
    private var stopping = false
    private var started = false
    /// Made on the first submit (nil inside: libcurl could not be loaded or initialised), so a transport that sends
    /// nothing (a `history` whose notifier and state opening hold one) never loads libcurl.
    private var made: UnsafeMutableRawPointer??
    /// Loop thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    init() {}

    /// The multi handle, made once (under the lock).
    private func multiHandle() -> UnsafeMutableRawPointer? {
        lock.withLock {
            if let made { return made }
            let multi = curlReady ? sy_multi_init() : nil
            // curl keeps only 4 idle connections per added handle by default, fewer than the AWS endpoints, probe
            // targets and webhooks of one release; evicted ones would cost a new TLS handshake each.
            if let multi { sy_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 32) }
            made = .some(multi)
            return multi
        }
    }

    /// The multi handle if one was made.
    private var existing: UnsafeMutableRawPointer? { lock.withLock { made ?? nil } }

    func submit(_ transfer: CurlTransfer) {
        guard let multi = multiHandle() else {
            transfer.finish(.failure(TransportError.connectionFailed(curlUnavailable)))
            return
        }
        let start = lock.withLock {
            incoming.append(transfer)
            defer { started = true }
            return !started
        }
        if start {
            let thread = Thread { [self] in if let multi = existing { run(multi) } }
            thread.name = "switchyard-http"
            thread.start()
        }
        sy_multi_wakeup(multi)
    }

    /// Ends a transfer with `CancellationError`, whether it is queued, running, or (then nothing happens) done.
    func cancel(_ transfer: CurlTransfer) {
        lock.withLock {
            transfer.cancelRequested = true
            cancelled.append(transfer)
        }
        if let multi = existing { sy_multi_wakeup(multi) }
    }

    func stop() {
        let running = lock.withLock {
            stopping = true
            defer { started = true }
            return started
        }
        guard let multi = existing else { return }
        if running { sy_multi_wakeup(multi) } else { sy_multi_cleanup(multi) }
    }

    private func run(_ multi: UnsafeMutableRawPointer) {
        while true {
            let (new, gone, stop) = lock.withLock {
                defer { incoming = []; cancelled = [] }
                return (incoming, cancelled, stopping)
            }
            if stop {
                new.forEach { $0.finish(.failure(CancellationError())) }
                break
            }
            for transfer in new { add(transfer, to: multi) }
            for transfer in gone { remove(transfer, from: multi, with: .failure(CancellationError())) }
            var running: Int32 = 0
            sy_multi_perform(multi, &running)
            collectFinished(multi)
            sy_multi_poll(multi, nil, 0, 1000, nil)
        }
        for transfer in Array(active.values) { remove(transfer, from: multi, with: .failure(CancellationError())) }
        sy_multi_cleanup(multi)
    }

    private func add(_ transfer: CurlTransfer, to multi: UnsafeMutableRawPointer) {
        let cancelledEarly = lock.withLock { transfer.cancelRequested }
        guard !cancelledEarly, let easy = transfer.easy else {
            transfer.finish(.failure(CancellationError()))
            return
        }
        guard sy_multi_add_handle(multi, easy) == CURLM_OK else {
            transfer.finish(.failure(TransportError.connectionFailed("libcurl refused the request")))
            return
        }
        active[easy] = transfer
    }

    private func remove(_ transfer: CurlTransfer, from multi: UnsafeMutableRawPointer, with result: Result<HTTPResponse, Error>) {
        guard let easy = transfer.easy, active.removeValue(forKey: easy) != nil else { return }
        sy_multi_remove_handle(multi, easy)
        transfer.finish(result)
    }

    private func collectFinished(_ multi: UnsafeMutableRawPointer) {
        var left: Int32 = 0
        while let message = sy_multi_info_read(multi, &left) {
            guard sy_msg_is_done(message) != 0, let easy = message.pointee.easy_handle, let transfer = active[easy] else { continue }
            let result = transfer.outcome(sy_msg_result(message))
            remove(transfer, from: multi, with: result)
        }
    }
}
