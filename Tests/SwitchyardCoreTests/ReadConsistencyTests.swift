import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct ReadConsistencyTests {
    let blue = "tg-blue"
    let green = "tg-green"
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aRollbackAlwaysWritesWhateverTheReadSays() {
        // The read before a rollback's write may be from before the step's write: 100/0 while 10 % goes to green.
        #expect(!ReadConsistency.mayLeaveUnwritten(.always, readGreen: 0, readBlue: 100, target: 0))
    }

    @Test func aRollbackBeforeAnyWeightWasWrittenLeavesAListenerOnBlueAlone() {
        var d = makeDeployment()
        #expect(ReadConsistency.rollbackWrite(d) == .unlessThereAlready(recordedGreen: 0))
        d.progress.insert(.greenServed)
        #expect(ReadConsistency.rollbackWrite(d) == .always)
    }

    @Test func aStepIsLeftUnwrittenOnlyWhenTheReadAndTheRecordBothShowIt() {
        #expect(ReadConsistency.mayLeaveUnwritten(.unlessThereAlready(recordedGreen: 0), readGreen: 0, readBlue: 100, target: 0))
        // The record says green 10 %, a read says 0: the read may be stale, so it is written.
        #expect(!ReadConsistency.mayLeaveUnwritten(.unlessThereAlready(recordedGreen: 10), readGreen: 0, readBlue: 100, target: 0))
        // The read shows the target but the record is at the step before (a crash after the write, or a stale read).
        #expect(!ReadConsistency.mayLeaveUnwritten(.unlessThereAlready(recordedGreen: 10), readGreen: 50, readBlue: 50, target: 50))
        #expect(!ReadConsistency.mayLeaveUnwritten(.unlessThereAlready(recordedGreen: 50), readGreen: 50, readBlue: 40, target: 50))
    }

    @Test func aGroupTheRecordSaysCarriesTrafficIsNeverRemovedWhateverAReadSays() {
        let verdict = ReadConsistency.removal(watched: [green], recorded: [blue: 90, green: 10], read: [blue: 100, green: 0],
                                              readAt: t0.addingTimeInterval(60), lastWrite: t0, window: 5)
        #expect(verdict == .carries([green], source: .record))
    }

    @Test func aReadTooSoonAfterTheLastWriteIsReadAgainOnceTheWindowIsOverInEitherDirection() {
        let early = t0.addingTimeInterval(1)
        #expect(ReadConsistency.removal(watched: [green], recorded: [blue: 100, green: 0], read: [blue: 100, green: 0], readAt: early,
                                        lastWrite: t0, window: 5) == .readAgain(at: t0.addingTimeInterval(5)))
        #expect(ReadConsistency.removal(watched: [green], recorded: [blue: 100, green: 0], read: [blue: 90, green: 10], readAt: early,
                                        lastWrite: t0, window: 5) == .readAgain(at: t0.addingTimeInterval(5)))
    }

    @Test func aReadAfterTheWindowDecides() {
        let late = t0.addingTimeInterval(5)
        #expect(ReadConsistency.removal(watched: [green], recorded: [blue: 100, green: 0], read: [blue: 90, green: 10], readAt: late,
                                        lastWrite: t0, window: 5) == .carries([green], source: .read))
        #expect(ReadConsistency.removal(watched: [green], recorded: [blue: 100, green: 0], read: [blue: 100, green: 0], readAt: late,
                                        lastWrite: t0, window: 5) == .removable)
        // No write of this deployment moved the group's traffic: nothing can read stale against it.
        #expect(ReadConsistency.removal(watched: [green], recorded: [:], read: [:], readAt: t0, lastWrite: nil, window: 5) == .removable)
    }

    @Test func promotionsReadBackBacksOffAndGivesUpAfterItsLimit() {
        var elapsed: TimeInterval = 0
        var delays: [TimeInterval] = []
        var attempt = 1
        while let delay = ReadConsistency.readBackDelay(after: attempt, elapsed: elapsed) {
            delays.append(delay)
            elapsed += delay
            attempt += 1
        }
        #expect(Array(delays.prefix(4)) == [0.25, 0.5, 1, 2])
        #expect(delays.allSatisfy { $0 <= 2 })
        #expect(elapsed == ReadConsistency.readBackLimit)
    }

    @Test func theLastWriteIsTheLatestTheRecordKnows() {
        var d = makeDeployment()
        #expect(ReadConsistency.lastWrite(d) == nil)
        d.weightsConfirmedAt = t0
        d.trafficRestoredAt = t0.addingTimeInterval(3)
        #expect(ReadConsistency.lastWrite(d) == t0.addingTimeInterval(3))
        d.greenWeight = 10
        #expect(ReadConsistency.recorded(d) == [tgA: 90, tgB: 10])
    }
}
