import Foundation

/// A table the providers fill at start and every decision reads after, under one lock: the traffic backends
/// (`TrafficBackends`) and the clouds' words (`CloudWords`).
final class Registry<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [Key: Value] = [:]

    /// Registering a key again replaces its value.
    func register(_ value: Value, as key: Key) { lock.withLock { entries[key] = value } }

    subscript(key: Key) -> Value? { lock.withLock { entries[key] } }

    var values: [Value] { lock.withLock { Array(entries.values) } }
}
