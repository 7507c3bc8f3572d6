import Foundation
import SwitchyardCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a hook's command; injected so tests of the loop need no processes.
public protocol HookRunning: Sendable {
    /// Runs `argv` with exactly `environment`, ended at `timeout` (and when `stopRequested` answers true).
    func run(_ argv: [String], environment: [String: String], timeout: TimeInterval, stopRequested: @escaping @Sendable () -> Bool) async -> HookProcessResult
}

/// How a hook's process ended, and whether it was stopped on request (then it has not finished).
public struct HookProcessResult: Sendable, Hashable {
    public var result: HookResult
    public var interrupted: Bool

    public init(result: HookResult, interrupted: Bool = false) {
        self.result = result
        self.interrupted = interrupted
    }
}

/// Runs a hook as a child process in its own process group, with no shell, stdin from /dev/null and stdout and stderr
/// read together into a bounded tail. At its timeout the whole group (the hook and anything it started) gets SIGTERM,
/// then SIGKILL after `grace`; whatever the hook leaves behind in its group when it exits is killed too.
public struct ProcessHookRunner: HookRunning {
    /// The most output kept: the last bytes, the ones that explain a failure.
    public var outputLimit: Int
    /// Between SIGTERM and SIGKILL.
    public var grace: TimeInterval
    /// How long output is still read after the hook exited, for a child that keeps the pipe open.
    public var drain: TimeInterval

    public init(outputLimit: Int = Machine.hookOutputLimit, grace: TimeInterval = 5, drain: TimeInterval = 0.5) {
        self.outputLimit = outputLimit
        self.grace = grace
        self.drain = drain
    }

    public func run(_ argv: [String], environment: [String: String], timeout: TimeInterval, stopRequested: @escaping @Sendable () -> Bool) async -> HookProcessResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<HookProcessResult, Never>) in
            // A thread of its own: the wait blocks for as long as the hook runs, which must not hold a pool thread.
            let thread = Thread { [self] in
                continuation.resume(returning: runBlocking(argv, environment: environment, timeout: timeout, stopRequested: stopRequested))
            }
            thread.start()
        }
    }

    func runBlocking(_ argv: [String], environment: [String: String], timeout: TimeInterval, stopRequested: @Sendable () -> Bool) -> HookProcessResult {
        let started = DispatchTime.now()
        var fds: [Int32] = [0, 0]
        // Both ends close on exec: another hook started meanwhile on another thread must not inherit this one's pipe (it
        // would hold the pipe open past this hook's exit). The dup2 onto 1 and 2 in the child clears the flag there.
        // (pipe2 is not in Swift's Glibc module; the moment between pipe and fcntl is covered by closefrom in the spawn.)
        guard pipe(&fds) == 0 else { return .init(result: HookResult(exitCode: nil, startError: "pipe: \(String(cString: strerror(errno)))")) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let spawned = Self.spawn(argv, environment: environment, output: writeEnd)
        close(writeEnd)
        guard case .success(let pid) = spawned else {
            close(readEnd)
            if case .failure(let message) = spawned { return .init(result: HookResult(exitCode: nil, startError: message)) }
            return .init(result: HookResult(exitCode: nil, startError: "unknown"))
        }
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        var tail = OutputTail(limit: outputLimit)
        var status: Int32?
        var eof = false
        var timedOut = false, interrupted = false
        var terminatedAt: DispatchTime?, killed = false
        var exitedAt: DispatchTime?
        let deadline = started + timeout
        while true {
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            if !eof { _ = poll(&poller, 1, 50) } else { usleep(20_000) }
            if !eof { eof = Self.read(readEnd, into: &tail) }
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid {
                    status = raw
                    exitedAt = DispatchTime.now()
                }
            }
            let now = DispatchTime.now()
            if status != nil {
                // Exited: done once the pipe is closed, or after a short drain if something it started still holds it.
                if eof || now > (exitedAt ?? now) + drain { break }
                continue
            }
            if terminatedAt == nil && (now > deadline || stopRequested()) {
                timedOut = now > deadline
                interrupted = !timedOut
                kill(-pid, SIGTERM)
                terminatedAt = now
            } else if let terminatedAt, !killed, now > terminatedAt + grace {
                kill(-pid, SIGKILL)
                killed = true
            }
        }
        // Anything the hook left running in its group (a background child) goes with it.
        kill(-pid, SIGKILL)
        close(readEnd)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let raw = status ?? 0
        let exited = (raw & 0x7f) == 0
        let result = HookResult(exitCode: exited ? (raw >> 8) & 0xff : nil, signal: exited ? nil : raw & 0x7f, timedOut: timedOut,
                                output: tail.text, droppedBytes: tail.dropped, seconds: seconds)
        return HookProcessResult(result: result, interrupted: interrupted)
    }

    /// Reads what the pipe has now; true at end of file.
    static func read(_ fd: Int32, into tail: inout OutputTail) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { tail.append(buffer[0..<n]); continue }
            if n == 0 { return true }
            return errno != EAGAIN && errno != EINTR
        }
    }

    enum Spawned { case success(pid_t), failure(String) }

    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), looked up at run time: Swift's Glibc module does not
    /// declare it, and a static musl binary has no dynamic symbols to find (then nil).
    static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// The descriptors this process has open now, from /proc (Linux).
    static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }

    /// posix_spawn in a new process group, with only stdin, stdout and stderr open, signals back to their defaults (Switchyard ignores SIGINT and SIGTERM to
    /// handle them itself, and a child would inherit that), stdin from /dev/null, stdout and stderr into `output`.
    static func spawn(_ argv: [String], environment: [String: String], output: Int32) -> Spawned {
        guard let program = argv.first else { return .failure("no program to run") }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        // Nothing else of Switchyard's (the state file, AWS connections) reaches the hook. glibc 2.34+ closes every
        // descriptor above 2 in the child, including one another thread opened after this list would have been read;
        // elsewhere (musl's static build) the descriptors open now are closed (glibc and musl ignore a close action on a
        // descriptor closed meanwhile).
        if let closeFrom = Self.addCloseFrom {
            _ = closeFrom(&actions, 3)
        } else {
            for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        // The program is looked up in the hook's own PATH, as a shell would.
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        let resolved = program.contains("/") ? program : (path.split(separator: ":").map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 } ?? program)
        let code = posix_spawn(&pid, resolved, &actions, &attributes, cArgv, cEnv)
        guard code == 0 else { return .failure("\(program): \(String(cString: strerror(code)))") }
        return .success(pid)
    }
}

/// The last `limit` bytes of a stream, and how many came before them.
struct OutputTail {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var dropped = 0

    init(limit: Int) { self.limit = max(limit, 0) }

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        bytes.append(contentsOf: chunk)
        if bytes.count > limit {
            let extra = bytes.count - limit
            bytes.removeFirst(extra)
            dropped += extra
        }
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
