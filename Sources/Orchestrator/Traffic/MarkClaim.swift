import Foundation

/// Where a release's claim marks live (AWS: the tags of the listeners, rules or target groups it shifts; Azure: the tags
/// of its Traffic Manager profile): each resource holds the marks of the deployments that claim it, one key each.
public protocol MarkBoard: Sendable {
    /// What a reading carries besides the holders, for a later write that must keep the rest (Azure's tag set).
    associatedtype Reading: Sendable

    /// One read of every resource: each resource's holders (deployment ids, sorted), in a fixed order.
    func read() async throws -> (holders: [[String]], reading: Reading)
    /// Writes this deployment's own mark. `after` is a reading taken an instant ago, if there is one; the answer is the
    /// write's own reading when the write returns the marks as they stand (Azure's PATCH), nil when they must be read.
    func writeMark(for deploymentId: String, after: Reading?) async throws -> (holders: [[String]], reading: Reading)?
    /// Takes this deployment's own mark off again, and only its own.
    func takeBack(for deploymentId: String, reading: Reading) async throws
    /// After a win: the marks of the deployments it replaced (finished, dead, `--force-unlock`ed) come off, and any older
    /// form of mark the board still reads as a claim. Called with an empty list too.
    func removeReplaced(_ deploymentIds: [String], reading: Reading) async throws
}

/// The claim both providers make on their board, one algorithm.
///
/// Marks cannot be compared-and-set, and tag reads are eventually consistent (a read right after a write may show the
/// marks from before it). So each claim writes a key of its own (no claim overwrites another's) and reads until its own
/// key shows on every resource: that read also shows every claim written to those resources before it. A claim wins
/// when such a read shows no other live claim; of two racing, the first written is seen by the second, so they cannot
/// both win. A claim that sees a live rival with a smaller (earlier) id takes its own key back at once; one that sees a
/// larger reads again, every 100 ms for up to `settle`, for the rival to step back or hold; a claim whose key does not
/// read back within `settle` takes it back too. Nothing waits when the reads are current: one write and one read (none
/// when the write answers with the marks).
public struct MarkClaim<Board: MarkBoard>: Sendable {
    public let board: Board
    public let settle: TimeInterval
    /// The refusal when `owner` holds (and `raced`: this claim had written its mark and lost).
    public let lost: @Sendable (_ owner: String, _ raced: Bool) -> Error
    /// The failure when this claim's own mark did not read back within `settle`.
    public let unconfirmed: @Sendable () -> Error

    static var pollInterval: UInt64 { 100_000_000 }

    public init(board: Board, settle: TimeInterval, lost: @escaping @Sendable (String, Bool) -> Error,
                unconfirmed: @escaping @Sendable () -> Error) {
        self.board = board
        self.settle = settle
        self.lost = lost
        self.unconfirmed = unconfirmed
    }

    /// Marks the board for `deploymentId` and confirms the claim won. `known` is the holders as the caller read them an
    /// instant ago (nil reads them here); `mayReplace` says whether another deployment's mark may be replaced (it is
    /// known finished or dead), otherwise it is a conflict.
    public func claim(for deploymentId: String, known: [String]?, mayReplace: (String) -> Bool) async throws {
        var before: Board.Reading?
        let current: [String]
        if let known {
            current = known
        } else {
            let read = try await board.read()
            before = read.reading
            current = Array(Set(read.holders.joined())).sorted()
        }
        if let owner = current.first(where: { $0 != deploymentId && !mayReplace($0) }) { throw lost(owner, false) }
        let written = try await board.writeMark(for: deploymentId, after: before)
        let until = Date().addingTimeInterval(settle)
        var (seen, reading) = if let written { written } else { try await board.read() }
        while true {
            let shown = seen.allSatisfy { $0.contains(deploymentId) }
            let others = Set(seen.joined()).subtracting([deploymentId])
            let rivals = others.filter { !mayReplace($0) }.sorted()
            if shown, rivals.isEmpty {
                try await board.removeReplaced(others.sorted(), reading: reading)
                return
            }
            // A read that shows this claim is current as of its write. A rival with a smaller id seen there is the
            // earlier start: it goes on (or holds already), and this one steps back at once, so two claims that see each
            // other do not both wait out `settle` and both lose. A read that does not show this claim yet may show a
            // claim already taken off: read again.
            let earlier = shown ? rivals.first { $0 < deploymentId } : nil
            if earlier != nil || Date() >= until {
                try await board.takeBack(for: deploymentId, reading: reading)
                if let rival = earlier ?? rivals.first { throw lost(rival, true) }
                throw unconfirmed()
            }
            try await Task.sleep(nanoseconds: Self.pollInterval)
            (seen, reading) = try await board.read()
        }
    }
}
