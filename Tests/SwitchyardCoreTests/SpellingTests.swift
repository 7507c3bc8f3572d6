import SwitchyardCore
import Testing

/// "Did you mean …?" and counts in words, for the CLI's messages.
@Suite struct SpellingTests {
    @Test func aSwapOfNeighboursIsOneEditSoStatsuMeansStatus() {
        #expect(Spelling.distance("statsu", "status") == 1)
        #expect(Spelling.distance("statsu", "state") == 2)
        #expect(Spelling.closest("statsu", in: ["start", "state", "status"]) == "status")
        #expect(Spelling.closest("faild", in: ["completed", "failed"]) == "failed")
        #expect(Spelling.closest("xyzzy", in: ["start", "state", "status"]) == nil)
        #expect(Spelling.distance("", "abc") == 3 && Spelling.distance("abc", "") == 3)
    }

    @Test func oneIsSingularEveryOtherCountPlural() {
        #expect(Spelling.count(1, "deployment") == "1 deployment")
        #expect(Spelling.count(0, "deployment") == "0 deployments")
        #expect(Spelling.count(2, "pending request") == "2 pending requests")
        #expect(Spelling.count(1, "index", plural: "indexes") == "1 index")
        #expect(Spelling.count(7, "index", plural: "indexes") == "7 indexes")
    }
}
