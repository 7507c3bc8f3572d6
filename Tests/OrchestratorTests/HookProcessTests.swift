import Foundation
@testable import Orchestrator
import SwitchyardCore
import Testing

/// The real process runner against real processes (`sh`, `sleep`): these tests take a second or two, not minutes.
@Suite struct HookProcessTests {
    let env = ["PATH": "/usr/bin:/bin"]

    func run(_ argv: [String], env: [String: String]? = nil, timeout: TimeInterval = 10, runner: ProcessHookRunner = ProcessHookRunner(grace: 1),
             stop: @escaping @Sendable () -> Bool = { false }) async -> HookProcessResult {
        await runner.run(argv, environment: env ?? self.env, timeout: timeout, stopRequested: stop)
    }

    @Test func exitCodeAndOutputOfStdoutAndStderrTogether() async {
        let ended = await run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(ended.result.exitCode == 3 && !ended.result.passed && !ended.result.timedOut && !ended.interrupted)
        #expect(ended.result.output == "out\nerr\n")
        let ok = await run(["true"])
        #expect(ok.result.passed && ok.result.output.isEmpty)
    }

    @Test func noShellUnlessTheUserWritesOne() async {
        let ended = await run(["echo", "$HOME", "a;b", "*"])
        #expect(ended.result.output == "$HOME a;b *\n")
    }

    @Test func aHangingHookIsKilledAtItsTimeoutWithWhatItStarted() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("hook-child-\(UUID().uuidString)").path
        // The shell starts a background sleep that writes a file if it ever wakes: killing the group must stop it too.
        let ended = await run(["sh", "-c", "(sleep 3; touch \(marker)) & echo started; sleep 30"], timeout: 0.5)
        #expect(ended.result.timedOut && ended.result.exitCode == nil && ended.result.signal == SIGTERM)
        #expect(ended.result.output == "started\n")
        #expect(ended.result.seconds < 5, "killed at its timeout, not at the end of its sleep")
        #expect(ended.result.outcome(timeout: TimeSpan(milliseconds: 500)) == "was killed at its timeout 500ms")
        try await Task.sleep(nanoseconds: 3_500_000_000)
        #expect(!FileManager.default.fileExists(atPath: marker), "the hook's background child outlived it")
    }

    @Test func aHookThatIgnoresSIGTERMGetsSIGKILLAfterTheGrace() async {
        let ended = await run(["sh", "-c", "trap '' TERM; echo trapped; while :; do sleep 0.1; done"], timeout: 0.3, runner: ProcessHookRunner(grace: 0.3))
        #expect(ended.result.timedOut && ended.result.signal == SIGKILL)
        #expect(ended.result.seconds < 5)
    }

    @Test func outputIsBoundedToItsLastBytes() async {
        let ended = await run(["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done"], runner: ProcessHookRunner(outputLimit: 100, grace: 1))
        #expect(ended.result.passed)
        #expect(ended.result.output.utf8.count == 100 && ended.result.output.hasSuffix("line-1999\n"))
        #expect(ended.result.droppedBytes > 10_000)
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() async {
        let ended = await run(["sh", "-c", "env | sort"], env: ["PATH": "/usr/bin:/bin", "SWITCHYARD_GREEN_WEIGHT": "25"])
        let names = ended.result.output.split(separator: "\n").map { $0.split(separator: "=")[0] }.filter { $0 != "PWD" && $0 != "SHLVL" && $0 != "_" }
        #expect(names == ["PATH", "SWITCHYARD_GREEN_WEIGHT"])
        #expect(ended.result.output.contains("SWITCHYARD_GREEN_WEIGHT=25"))
    }

    @Test func theHookGetsNoOpenFileOfSwitchyardsBeyondItsThreeStreams() async throws {
        // An inheritable descriptor of this process (as a state file or a socket would be) stays out of the hook.
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        #expect(fd > 2)
        let ended = await run(["sh", "-c", "ls /proc/$$/fd"])
        #expect(ended.result.output == "0\n1\n2\n")
    }

    @Test func aDescriptorOpenedOnAnotherThreadDuringTheSpawnStaysOutOfTheHook() async throws {
        // Another thread opens and closes inheritable descriptors (a probe's socket, a second hook's pipe) while hooks
        // start; a list of open descriptors read before the spawn misses the ones opened after it.
        let stop = ManagedAtomicFlag()
        let churn = Thread {
            while !stop.isSet {
                let fd = open("/dev/null", O_RDONLY)
                if fd >= 0 { close(fd) }
            }
        }
        churn.start()
        defer { stop.set() }
        var leaked: [String] = []
        for _ in 0..<40 {
            let ended = await run(["sh", "-c", "ls /proc/$$/fd"])
            if ended.result.output != "0\n1\n2\n" { leaked.append(ended.result.output) }
        }
        #expect(leaked == [])
    }

    @Test func aProgramThatCannotStartIsAFailureThatSaysWhy() async {
        let ended = await run(["./no-such-hook.sh"])
        #expect(!ended.result.passed && ended.result.startError?.contains("./no-such-hook.sh: No such file or directory") == true)
        let missing = await run(["no-such-program-anywhere"])
        #expect(missing.result.startError?.contains("no-such-program-anywhere") == true)
    }

    @Test func aStopRequestEndsTheHookAsInterrupted() async {
        let started = Date()
        let ended = await run(["sleep", "30"], stop: { Date().timeIntervalSince(started) > 0.3 })
        #expect(ended.interrupted && !ended.result.timedOut && ended.result.seconds < 5)
    }

    @Test func theEffectGivesTheReleaseVariablesOnTopOfTheUsersEnvironmentAndNoCredentialsOfItsOwn() async throws {
        let recorder = RecordingRunner()
        var d = Fixtures.deployment()
        d.plan.spec.hooks = Hooks(afterStep: [Hook(run: ["load", "--rate", "10"], timeout: .seconds(7), onFailure: .pause)])
        d.greenWeight = 25
        let effects = HookEffects(inner: Unused(), runner: recorder, base: ["PATH": "/bin", "HOME": "/home/ops", "SWITCHYARD_STEP": "user's"])
        let event = try await effects.perform(.runHook(HookRef(point: .afterStep, index: 0, step: 0)), for: d)
        #expect(event == .hookFinished(HookRef(point: .afterStep, index: 0, step: 0), HookResult(exitCode: 0)))
        let call = try #require(recorder.calls.first)
        #expect(call.argv == ["load", "--rate", "10"] && call.timeout == 7)
        #expect(call.environment["HOME"] == "/home/ops" && call.environment["SWITCHYARD_GREEN_WEIGHT"] == "25" && call.environment["SWITCHYARD_STEP"] == "1")
        #expect(!call.environment.keys.contains { $0.hasPrefix("AWS_") }, "Switchyard adds no credentials of its own")
    }
}

/// Records the hook calls it gets and answers each with a pass.
final class RecordingRunner: HookRunning, @unchecked Sendable {
    struct Call { var argv: [String]; var environment: [String: String]; var timeout: TimeInterval }
    private let lock = NSLock()
    private var _calls: [Call] = []
    var calls: [Call] { lock.withLock { _calls } }

    func run(_ argv: [String], environment: [String: String], timeout: TimeInterval, stopRequested: @escaping @Sendable () -> Bool) async -> HookProcessResult {
        lock.withLock { _calls.append(Call(argv: argv, environment: environment, timeout: timeout)) }
        return HookProcessResult(result: HookResult(exitCode: 0))
    }
}

/// An AWS side that must not be asked anything.
struct Unused: EffectPerformer {
    func isUnreachable(_ error: Error) -> Bool { false }

    func perform(_ effect: Effect, for deployment: Deployment) async throws -> Event {
        Issue.record("AWS asked for \(effect)")
        return .effectFailed(effect, message: "unused")
    }
}

/// A flag one thread sets and another reads.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
