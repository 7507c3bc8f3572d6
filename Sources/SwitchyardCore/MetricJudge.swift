import Foundation

/// How a metric check judges green: one rule per check.
public enum MetricRule: Sendable, Hashable, Codable {
    /// Green's mean over the window must stay within these bounds (`min:` / `max:`); at least one is set.
    case bounds(min: Double?, max: Double?)
    /// Green's mean over the window must be at most this many times blue's over the same window (`max_ratio_to_blue:`).
    case ratioToBlue(max: Double)
    /// Green's samples must not be significantly higher than blue's (`compare: mann_whitney`): fails when the lower end
    /// of the `confidence` interval of the shift exceeds `tolerance` × |shift|, Kayenta's MannWhitneyClassifier rule
    /// for a metric where higher is worse (errors, latency).
    case mannWhitney(tolerance: Double, confidence: Double)

    /// Whether judging needs blue's samples too.
    public var needsBlue: Bool {
        if case .bounds = self { return false }
        return true
    }
}

/// One metric check's verdict for one tick, with the numbers that decided it.
public struct MetricVerdict: Sendable, Hashable, Codable {
    public enum Outcome: String, Sendable, Hashable, Codable {
        case pass
        case fail
        /// Fewer samples than `min_samples`: no verdict; the file's `on_no_data` decides what that means.
        case notEnoughData = "not_enough_data"
    }

    public var check: String
    public var outcome: Outcome
    /// Green's mean over the window (nil without samples).
    public var green: Double?
    /// Blue's mean over the same window (nil without samples or when the rule does not read blue).
    public var blue: Double?
    /// The number green was held against: the bound, blue × ratio, or tolerance × |shift| for Mann-Whitney.
    public var bound: Double?
    public var greenSamples: Int
    public var blueSamples: Int
    /// The Mann-Whitney test's numbers, for a `compare: mann_whitney` check with enough data.
    public var test: MannWhitney?
    /// One line for the audit log and `show`: what was compared and what came out.
    public var text: String
}

/// Judges green's samples (and blue's over the same window) by a rule. Pure: the caller reads the metrics.
public enum MetricJudge {
    /// The verdict of check `name` by `rule`; below `minSamples` points for green (or for blue, when the rule reads
    /// blue) there is no verdict but "not enough data".
    public static func judge(_ name: String, rule: MetricRule, minSamples: Int, green: [Double], blue: [Double]) -> MetricVerdict {
        let greenMean = mean(green)
        let blueMean = rule.needsBlue ? mean(blue) : nil
        var verdict = MetricVerdict(check: name, outcome: .notEnoughData, green: greenMean, blue: blueMean, bound: nil,
                                    greenSamples: green.count, blueSamples: rule.needsBlue ? blue.count : 0, test: nil, text: "")
        let counts = rule.needsBlue ? "green \(green.count), blue \(Spelling.count(blue.count, "sample"))" : Spelling.count(green.count, "sample")
        let enough = green.count >= max(minSamples, 1) && (!rule.needsBlue || blue.count >= max(minSamples, 1))
        guard enough, let greenMean else {
            verdict.text = "\(name): not enough data (\(counts); min_samples \(minSamples))"
            return verdict
        }
        switch rule {
        case .bounds(let low, let high):
            let over = high.map { greenMean > $0 } ?? false
            let under = low.map { greenMean < $0 } ?? false
            verdict.outcome = over || under ? .fail : .pass
            verdict.bound = over ? high : (under ? low : (high ?? low))
            let limits = [low.map { "min \(format($0))" }, high.map { "max \(format($0))" }].compactMap { $0 }.joined(separator: ", ")
            let relation = over ? "above" : (under ? "below" : "within")
            verdict.text = "\(name) \(verdict.outcome.rawValue): green \(format(greenMean)) \(relation) \(limits) (\(counts))"
        case .ratioToBlue(let ratio):
            let blueMean = blueMean ?? 0
            let bound = blueMean * ratio
            // Blue at 0 makes any ratio undefined: green passes only at 0 too, since any green error blue does not have is
            // exactly what the rule is for. A floor for rare events belongs in a `max:` check beside this one.
            let passed = blueMean == 0 ? greenMean <= 0 : greenMean <= bound
            verdict.outcome = passed ? .pass : .fail
            verdict.bound = bound
            let actual = blueMean == 0 ? (greenMean == 0 ? "1" : "∞") : format(greenMean / blueMean)
            verdict.text = "\(name) \(verdict.outcome.rawValue): green \(format(greenMean)) vs blue \(format(blueMean)), ratio \(actual) "
                + "(max_ratio_to_blue \(format(ratio))) (\(counts))"
        case .mannWhitney(let tolerance, let confidence):
            let test = MannWhitney.test(green: green, blue: blue, confidence: confidence)
            let bound = tolerance * abs(test?.estimate ?? 0)
            let failed = test.map { $0.lower > bound } ?? false
            verdict.outcome = failed ? .fail : .pass
            verdict.bound = bound
            verdict.test = test
            let numbers = test.map {
                "shift \(format($0.estimate)), \(format(confidence * 100))% interval [\(format($0.lower)), \(format($0.upper))], "
                    + "U \(format($0.u)), p \(format($0.pValue))"
            } ?? ""
            verdict.text = "\(name) \(verdict.outcome.rawValue): green \(format(greenMean)) vs blue \(format(blueMean ?? 0)) by Mann-Whitney, "
                + "\(numbers); fails when the interval starts above \(format(bound)) (tolerance \(format(tolerance))) (\(counts))"
        }
        return verdict
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// Up to 4 significant digits, without exponent noise for the usual rates and latencies.
    public static func format(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "∞" : "-∞" }
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }
}
