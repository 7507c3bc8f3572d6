import SwitchyardCore

/// Runs one effect of the state machine against a cloud and reports its outcome as an event: the half of the provider
/// seam the reconcile loop drives. The AWS provider's `AWSEffects` is the first implementation (Sources/AWSProvider);
/// `HookEffects` runs hooks in front of any performer. The loop itself knows no cloud: which failures are worth
/// trying again later is the performer's to say, since only it knows its cloud's errors.
public protocol EffectPerformer: Sendable {
    func perform(_ effect: Effect, for deployment: Deployment) async throws -> Event
    /// Whether a failure of `perform` means only that the cloud could not be reached for now (no answer in time,
    /// throttled, busy), so the effect is tried again later; anything else is a refusal a person must look at.
    func isUnreachable(_ error: Error) -> Bool
}
