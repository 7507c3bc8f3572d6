/// The arithmetic of the scale-out pattern (blue and green behind one target group or Classic ELB, green's share moved
/// by instance counts): how many healthy instances each fleet holds at a step. Pure, so every rule is tested here; the
/// orchestrator reads the counts fresh before each step and never from the plan (a scale event between two steps broke
/// CodeDeploy's version of this: aws-codedeploy-samples#80).
///
/// The rules:
/// - The total never falls below the healthy total at the start, nor below what is healthy now (a scale-out that came
///   between steps is kept): `total = max(startHealthy, blueHealthy + greenHealthy)`.
/// - Green's count is the step's share of the total, rounded half up; a step strictly between 0 and 100 keeps at least
///   one instance in each fleet (so the total is at least 2 then), so 25 % is never all of blue gone (spinnaker#2645).
/// - The order: green is scaled out to its count and healthy first; only then is blue's surplus drained, so the healthy
///   total never dips below `total` on the way (orca#3037's under-provisioned cluster).
public struct SharedSplit: Sendable, Hashable {
    /// Healthy instances the step ends with, in all.
    public var total: Int
    /// Green's healthy instances at the end of the step.
    public var green: Int
    /// Blue's healthy instances at the end of the step.
    public var blue: Int { total - green }

    public init(total: Int, green: Int) {
        self.total = total
        self.green = green
    }

    /// The step's counts from what is healthy now.
    /// - Parameters:
    ///   - share: the step's weight, green's percentage of the healthy instances.
    ///   - startHealthy: the healthy total recorded when the release started.
    public static func step(share: Int, startHealthy: Int, blueHealthy: Int, greenHealthy: Int) -> SharedSplit {
        let share = min(max(share, 0), 100)
        var total = max(startHealthy, blueHealthy + greenHealthy, 1)
        if share > 0, share < 100 { total = max(total, 2) }
        let green: Int
        switch share {
        case 0: green = 0
        case 100: green = total
        default: green = min(max((share * total + 50) / 100, 1), total - 1)
        }
        return SharedSplit(total: total, green: green)
    }

    /// Green's share in percent that these counts give (what a read reports), rounded half up.
    public var percent: Int { total == 0 ? 0 : (green * 100 + total / 2) / total }

    /// Green's desired capacity while it scales out: the count it must reach before blue gives any up.
    public func greenFirst(greenHealthy: Int) -> Int { max(green, greenHealthy) }
}
