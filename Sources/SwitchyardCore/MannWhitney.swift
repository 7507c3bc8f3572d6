import Foundation

/// The Mann-Whitney U test (Wilcoxon rank-sum) of green's samples against blue's, with the Hodges-Lehmann estimate of
/// the shift and its confidence interval: the numbers Kayenta's MannWhitneyClassifier judges a canary by.
///
/// The p-value uses the normal approximation with tie correction and continuity correction (as scipy's
/// `mannwhitneyu(method="asymptotic")` does), not the exact distribution: metric windows have tens of points, where
/// the approximation is close, and an exact table for tied data would be a lot of code for no change of verdict.
public struct MannWhitney: Sendable, Hashable, Codable {
    /// Green's U: pairs (g, b) with g > b, a tie counting one half.
    public var u: Double
    /// The two-sided p-value of "green and blue come from the same distribution".
    public var pValue: Double
    /// The Hodges-Lehmann estimate of green minus blue: the median of every pairwise difference.
    public var estimate: Double
    /// The confidence interval of that shift, from the pairwise differences (distribution-free, normal-approximated rank).
    public var lower: Double
    public var upper: Double

    /// The test of `green` against `blue` at `confidence` (0.5 < confidence < 1); nil when either has no samples.
    public static func test(green: [Double], blue: [Double], confidence: Double) -> MannWhitney? {
        let n = green.count, m = blue.count
        guard n > 0, m > 0 else { return nil }
        var u = 0.0
        var differences: [Double] = []
        differences.reserveCapacity(n * m)
        for g in green {
            for b in blue {
                u += g > b ? 1 : (g == b ? 0.5 : 0)
                differences.append(g - b)
            }
        }
        differences.sort()
        let nm = Double(n * m)
        let mean = nm / 2
        let sigma = (nm / 12 * (Double(n + m + 1) - tieTerm(green + blue))).squareRoot()
        let pValue = sigma > 0 ? min(1, erfc(max(0, abs(u - mean) - 0.5) / sigma / 2.squareRoot())) : 1
        // The rank of the interval's ends among the sorted differences (Hollander & Wolfe, large-sample form).
        let spread = normalQuantile(1 - (1 - confidence) / 2) * (nm * Double(n + m + 1) / 12).squareRoot()
        let k = Swift.min(Swift.max(Int((mean - spread).rounded()), 1), n * m)
        return MannWhitney(u: u, pValue: pValue, estimate: median(differences),
                           lower: differences[k - 1], upper: differences[n * m - k])
    }

    /// Σ(t³ − t) / (N(N − 1)) over groups of tied values: how much ties shrink the variance of U.
    static func tieTerm(_ values: [Double]) -> Double {
        let total = Double(values.count)
        guard total > 1 else { return 0 }
        var counts: [Double: Double] = [:]
        for value in values { counts[value, default: 0] += 1 }
        let sum = counts.values.reduce(0) { $0 + ($1 * $1 * $1 - $1) }
        return sum / (total * (total - 1))
    }

    static func median(_ sorted: [Double]) -> Double {
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The standard normal CDF.
    static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.squareRoot()) }

    /// The standard normal quantile, by bisection on the CDF: a handful of calls per tick, so exactness beats speed.
    static func normalQuantile(_ p: Double) -> Double {
        var low = -40.0, high = 40.0
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if normalCDF(mid) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}
