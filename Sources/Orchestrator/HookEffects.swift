import Foundation
import SwitchyardCore

/// Runs `runHook` effects as processes and hands every other effect to `inner` (the cloud's performer).
///
/// A hook's environment is the user's own (`base`, the environment Switchyard was started with) plus the
/// `SWITCHYARD_*` variables of the release: never the credentials Switchyard resolved for itself from profiles, SSO
/// or instance metadata.
public struct HookEffects: EffectPerformer {
    public let inner: EffectPerformer
    public let runner: HookRunning
    public let base: [String: String]
    /// Set by SIGINT/SIGTERM: a running hook is stopped and runs again on resume.
    public let stop: StopRequest?

    public init(inner: EffectPerformer, runner: HookRunning = ProcessHookRunner(), base: [String: String] = ProcessInfo.processInfo.environment,
                stop: StopRequest? = nil) {
        self.inner = inner
        self.runner = runner
        self.base = base
        self.stop = stop
    }

    /// A hook reports its own failure as an event; every error thrown here is the inner performer's to judge.
    public func isUnreachable(_ error: Error) -> Bool { inner.isUnreachable(error) }

    public func perform(_ effect: Effect, for d: Deployment) async throws -> Event {
        guard case .runHook(let ref) = effect else { return try await inner.perform(effect, for: d) }
        guard let hook = ref.hook(in: d.plan.spec) else {
            return .hookFinished(ref, HookResult(exitCode: nil, startError: "the deployment's plan has no \(ref)"))
        }
        let environment = base.merging(Hook.environment(d, ref)) { _, release in release }
        let stop = self.stop
        let ended = await runner.run(hook.run, environment: environment, timeout: hook.timeout.seconds, stopRequested: { stop?.signal != nil })
        return ended.interrupted ? .hookInterrupted(ref) : .hookFinished(ref, ended.result)
    }
}

extension Event {
    /// What a cloud's performer answers for a hook: a hook is a process, not a cloud call, and `HookEffects` runs it in
    /// front of the performer. Without one, the hook fails as a command that could not start would, and its
    /// `on_failure` decides.
    public static func hookWithoutRunner(_ ref: HookRef) -> Event {
        .hookFinished(ref, HookResult(exitCode: nil, startError: "no hook runner in this process"))
    }
}
