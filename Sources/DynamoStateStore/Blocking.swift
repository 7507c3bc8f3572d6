import Dispatch
import Foundation

/// Runs the DynamoDB client's async calls for the synchronous `StateStore` protocol.
///
/// The call's task prefers an executor of its own threads, so the caller may block its thread (even one of Swift's
/// cooperative pool, which has as many threads as cores) without the awaited task ever needing that pool to finish.
enum Blocking {
    final class QueueExecutor: TaskExecutor {
        let queue = DispatchQueue(label: "switchyard.dynamodb", attributes: .concurrent)

        func enqueue(_ job: consuming ExecutorJob) {
            let unowned = UnownedJob(job)
            let executor = asUnownedTaskExecutor()
            queue.async { unowned.runSynchronously(on: executor) }
        }
    }

    static let executor = QueueExecutor()

    private final class Box<T>: @unchecked Sendable {
        var result: Result<T, Error>?
    }

    /// The value of `body`, waited for on this thread.
    static func run<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: executor) {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        guard let result = box.result else { throw CancellationError() }
        return try result.get()
    }
}
