import Foundation

/// A race between tasks: the first to answer resumes the one waiting, the others are cancelled, and nobody waits for
/// them to finish. For a check against its timeout, and for queued webhooks against the time left at exit.
final class FirstAnswer<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Value, Never>?
    private var tasks: [Task<Void, Never>] = []
    private var answered = false
    private var early: Value?

    /// Called inside `withCheckedContinuation`, before the contenders are added.
    func start(_ continuation: CheckedContinuation<Value, Never>) {
        let ready: Value? = lock.withLock {
            if let early { return early }
            self.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(returning: ready) }
    }

    /// A contender; cancelled at once if the race is already over.
    func add(_ task: Task<Void, Never>) {
        let cancel = lock.withLock {
            if answered { return true }
            tasks.append(task)
            return false
        }
        if cancel { task.cancel() }
    }

    /// The first call wins; later ones do nothing.
    func answer(_ value: Value) {
        let (continuation, tasks): (CheckedContinuation<Value, Never>?, [Task<Void, Never>]) = lock.withLock {
            if answered { return (nil, []) }
            answered = true
            let waiting = self.continuation
            if waiting == nil { early = value }
            self.continuation = nil
            defer { self.tasks = [] }
            return (waiting, self.tasks)
        }
        continuation?.resume(returning: value)
        tasks.forEach { $0.cancel() }
    }
}
