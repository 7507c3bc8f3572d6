import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct MannWhitneyTests {
    /// scipy's documented `mannwhitneyu` example (ages of male and female authors): U = 17; the asymptotic two-sided
    /// p-value with continuity correction is 0.11134688653314041.
    @Test func publishedExampleWithoutTies() throws {
        let test = try #require(MannWhitney.test(green: [19, 22, 16, 29, 24], blue: [20, 11, 17, 12], confidence: 0.95))
        #expect(test.u == 17)
        #expect(abs(test.pValue - 0.11134688653314041) < 1e-12)
        // The 20 pairwise differences' median; the 95 % interval ends are the 2nd smallest and 2nd largest of them.
        #expect(test.estimate == 7 && test.lower == -1 && test.upper == 17)
    }

    /// Ties shrink the variance of U; scipy gives U = 38.5, p = 0.012999854364387305 for these samples.
    @Test func tiesAreCorrected() throws {
        let test = try #require(MannWhitney.test(green: [3, 4, 4, 5, 5, 6], blue: [1, 2, 2, 3, 3, 3, 4], confidence: 0.95))
        #expect(test.u == 38.5)
        #expect(abs(test.pValue - 0.012999854364387305) < 1e-12)
        #expect(test.estimate == 2)
    }

    @Test func identicalSamplesAreNoEvidence() throws {
        let test = try #require(MannWhitney.test(green: [1, 1, 1], blue: [1, 1, 1], confidence: 0.98))
        #expect(test.pValue == 1 && test.estimate == 0 && test.lower == 0 && test.upper == 0)
        #expect(MannWhitney.test(green: [], blue: [1], confidence: 0.98) == nil)
    }

    @Test func normalQuantileMatchesTables() {
        #expect(abs(MannWhitney.normalQuantile(0.975) - 1.959963984540054) < 1e-9)
        #expect(abs(MannWhitney.normalQuantile(0.99) - 2.326347874040841) < 1e-9)
    }
}

@Suite struct MetricJudgeTests {
    @Test func absoluteBounds() {
        let over = MetricJudge.judge("errors", rule: .bounds(min: nil, max: 0.01), minSamples: 3, green: [0.02, 0.03, 0.04], blue: [])
        #expect(over.outcome == .fail && over.green == 0.03 && over.bound == 0.01 && over.blue == nil)
        #expect(over.text == "errors fail: green 0.03 above max 0.01 (3 samples)")
        let within = MetricJudge.judge("errors", rule: .bounds(min: nil, max: 0.01), minSamples: 3, green: [0, 0.01, 0.005], blue: [])
        #expect(within.outcome == .pass)
        let under = MetricJudge.judge("requests", rule: .bounds(min: 10, max: 100), minSamples: 1, green: [4], blue: [])
        #expect(under.outcome == .fail && under.bound == 10 && under.text.contains("below min 10, max 100"))
    }

    @Test func ratioToBlue() {
        let high = MetricJudge.judge("5xx", rule: .ratioToBlue(max: 1.5), minSamples: 2, green: [0.05, 0.05], blue: [0.001, 0.001])
        #expect(high.outcome == .fail && high.green == 0.05 && high.blue == 0.001 && high.bound == 0.0015)
        #expect(high.text == "5xx fail: green 0.05 vs blue 0.001, ratio 50 (max_ratio_to_blue 1.5) (green 2, blue 2 samples)")
        let close = MetricJudge.judge("5xx", rule: .ratioToBlue(max: 1.5), minSamples: 2, green: [0.0012, 0.0014], blue: [0.001, 0.001])
        #expect(close.outcome == .pass)
    }

    @Test func blueAtZeroPassesOnlyGreenAtZero() {
        let both = MetricJudge.judge("5xx", rule: .ratioToBlue(max: 2), minSamples: 1, green: [0, 0], blue: [0, 0])
        #expect(both.outcome == .pass && both.text.contains("ratio 1 "))
        let some = MetricJudge.judge("5xx", rule: .ratioToBlue(max: 2), minSamples: 1, green: [0, 0.001], blue: [0, 0])
        #expect(some.outcome == .fail && some.bound == 0 && some.text.contains("ratio ∞"))
    }

    @Test func notEnoughDataForGreenOrBlue() {
        let fewGreen = MetricJudge.judge("p99", rule: .ratioToBlue(max: 1.2), minSamples: 5, green: [1, 2], blue: [1, 1, 1, 1, 1])
        #expect(fewGreen.outcome == .notEnoughData && fewGreen.bound == nil)
        #expect(fewGreen.text == "p99: not enough data (green 2, blue 5 samples; min_samples 5)")
        let fewBlue = MetricJudge.judge("p99", rule: .mannWhitney(tolerance: 0.25, confidence: 0.98), minSamples: 3, green: [1, 2, 3], blue: [1])
        #expect(fewBlue.outcome == .notEnoughData)
        #expect(fewBlue.text == "p99: not enough data (green 3, blue 1 sample; min_samples 3)")
        let oneGreen = MetricJudge.judge("errors", rule: .bounds(min: nil, max: 5), minSamples: 3, green: [1], blue: [])
        #expect(oneGreen.text == "errors: not enough data (1 sample; min_samples 3)")
        // An absolute bound does not read blue, so blue's absence is not a reason to withhold the verdict.
        let bound = MetricJudge.judge("p99", rule: .bounds(min: nil, max: 1), minSamples: 3, green: [1, 1, 1], blue: [])
        #expect(bound.outcome == .pass)
        let none = MetricJudge.judge("p99", rule: .bounds(min: nil, max: 1), minSamples: 0, green: [], blue: [])
        #expect(none.outcome == .notEnoughData)
    }

    @Test func mannWhitneyFailsAClearlyHigherGreen() throws {
        let blue = (0..<20).map { 0.001 + Double($0 % 5) * 0.0001 }
        let green = (0..<20).map { 0.05 + Double($0 % 5) * 0.001 }
        let verdict = MetricJudge.judge("5xx", rule: .mannWhitney(tolerance: 0.25, confidence: 0.98), minSamples: 10, green: green, blue: blue)
        #expect(verdict.outcome == .fail)
        let test = try #require(verdict.test)
        #expect(test.u == 400 && test.pValue < 1e-6 && test.lower > verdict.bound ?? .infinity)
        #expect(verdict.text.hasPrefix("5xx fail: green 0.052 vs blue 0.0012 by Mann-Whitney, shift "))
    }

    @Test func mannWhitneyPassesGreenLikeBlueOrLower() {
        let blue = (0..<20).map { 100 + Double($0 % 7) }
        let same = MetricJudge.judge("latency", rule: .mannWhitney(tolerance: 0.25, confidence: 0.98), minSamples: 10, green: blue.reversed(), blue: blue)
        #expect(same.outcome == .pass && same.test?.estimate == 0)
        let lower = MetricJudge.judge("latency", rule: .mannWhitney(tolerance: 0.25, confidence: 0.98), minSamples: 10,
                                      green: blue.map { $0 - 50 }, blue: blue)
        #expect(lower.outcome == .pass)
    }
}
