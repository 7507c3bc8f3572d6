import Foundation

/// The named points of a release at which the deployment file's `hooks` run.
public enum HookPoint: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Green is healthy and takes no traffic yet (the test route, if any, reaches it): the smoke test.
    case beforeTraffic = "before_traffic"
    /// Each step's weight was written and read back; runs once per step, before the step may move on.
    case afterStep = "after_step"
    /// Every step has baked, before green is promoted.
    case beforePromotion = "before_promotion"
    /// Green was promoted (100 % confirmed); the release is marked completed once these ran.
    case afterPromotion = "after_promotion"
    /// The rollback ended (100 % blue, green removed); the release is marked rolled back once these ran.
    case afterRollback = "after_rollback"

    /// Whether a failure at this point can still change the release. After promotion or rollback there is nothing a
    /// hook's failure could undo, so there `on_failure` can only be `ignore`.
    public var canChangeTheRelease: Bool { self != .afterPromotion && self != .afterRollback }

    public var description: String { rawValue }
}

/// One command of `hooks.<point>`: an argv run without a shell, bounded by a timeout.
public struct Hook: Sendable, Hashable, Codable {
    /// What a failed hook (non-zero exit, killed at its timeout, or not startable) does to the release.
    public enum OnFailure: String, Sendable, Hashable, Codable, CaseIterable {
        case rollback, pause, ignore
    }

    public static let defaultTimeout = TimeSpan.minutes(5)
    /// The longest a hook may run; a longer job belongs outside the release, or split over several hooks.
    public static let maxTimeout = TimeSpan.minutes(60)

    public var run: [String]
    public var timeout: TimeSpan
    public var onFailure: OnFailure

    public init(run: [String], timeout: TimeSpan = Hook.defaultTimeout, onFailure: OnFailure) {
        self.run = run
        self.timeout = timeout
        self.onFailure = onFailure
    }

    /// The command as a person would type it, for logs and `plan` (arguments with spaces quoted).
    public var commandLine: String {
        run.map { $0.isEmpty || $0.contains(where: { " \t\"'$\\".contains($0) }) ? "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" : $0 }
            .joined(separator: " ")
    }
}

/// The `hooks` section: the commands of each point, in the file's order.
public struct Hooks: Sendable, Hashable, Codable {
    public var beforeTraffic: [Hook]
    public var afterStep: [Hook]
    public var beforePromotion: [Hook]
    public var afterPromotion: [Hook]
    public var afterRollback: [Hook]

    public init(beforeTraffic: [Hook] = [], afterStep: [Hook] = [], beforePromotion: [Hook] = [], afterPromotion: [Hook] = [], afterRollback: [Hook] = []) {
        self.beforeTraffic = beforeTraffic
        self.afterStep = afterStep
        self.beforePromotion = beforePromotion
        self.afterPromotion = afterPromotion
        self.afterRollback = afterRollback
    }

    public subscript(point: HookPoint) -> [Hook] {
        get {
            switch point {
            case .beforeTraffic: return beforeTraffic
            case .afterStep: return afterStep
            case .beforePromotion: return beforePromotion
            case .afterPromotion: return afterPromotion
            case .afterRollback: return afterRollback
            }
        }
        set {
            switch point {
            case .beforeTraffic: beforeTraffic = newValue
            case .afterStep: afterStep = newValue
            case .beforePromotion: beforePromotion = newValue
            case .afterPromotion: afterPromotion = newValue
            case .afterRollback: afterRollback = newValue
            }
        }
    }

    public var isEmpty: Bool { HookPoint.allCases.allSatisfy { self[$0].isEmpty } }
}

/// Which hook an effect runs: the point, its place in the point's list, and (after_step) the step it runs for.
public struct HookRef: Sendable, Hashable, Codable, CustomStringConvertible {
    public var point: HookPoint
    /// 0-based index into the point's list.
    public var index: Int
    /// For `after_step`: the index into `steps` it runs for (each step runs the hooks again).
    public var step: Int?

    public init(point: HookPoint, index: Int, step: Int? = nil) {
        self.point = point
        self.index = index
        self.step = step
    }

    /// The identity stored in the record once the hook finished (`after_step[1]@2`: first hook, third entry of steps).
    public var key: String { "\(point.rawValue)[\(index + 1)]" + (step.map { "@\($0)" } ?? "") }

    public var description: String { "\(point.rawValue) hook \(index + 1)" }

    /// The hook's definition in the deployment's plan.
    public func hook(in spec: DeploymentSpec) -> Hook? {
        let hooks = spec.hooks?[point] ?? []
        return hooks.indices.contains(index) ? hooks[index] : nil
    }
}

/// How a hook's process ended, with the last of its output (stdout and stderr together).
public struct HookResult: Sendable, Hashable {
    /// The exit status when the process exited by itself.
    public var exitCode: Int32?
    /// The signal that ended it (after the timeout: SIGTERM or SIGKILL).
    public var signal: Int32?
    public var timedOut: Bool
    /// Set when the process could not be started (no such file, not executable).
    public var startError: String?
    /// The last bytes of its output, at most the runner's bound.
    public var output: String
    /// Bytes of output dropped from the front to keep within the bound.
    public var droppedBytes: Int
    public var seconds: Double

    public init(exitCode: Int32?, signal: Int32? = nil, timedOut: Bool = false, startError: String? = nil, output: String = "", droppedBytes: Int = 0, seconds: Double = 0) {
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.startError = startError
        self.output = output
        self.droppedBytes = droppedBytes
        self.seconds = seconds
    }

    public var passed: Bool { exitCode == 0 && !timedOut && startError == nil }

    /// How it ended, in words: `exited 0`, `exited 1`, `killed at its timeout 2s`, `could not start: …`.
    public func outcome(timeout: TimeSpan) -> String {
        if let startError { return "could not start: \(startError)" }
        if timedOut { return "was killed at its timeout \(timeout)" }
        if let exitCode { return "exited \(exitCode)" }
        return "was killed by signal \(signal ?? 0)"
    }

    /// The last `count` non-empty lines of the output, for a one-line reason.
    public func lastLines(_ count: Int) -> String {
        output.split(whereSeparator: \.isNewline).suffix(count).joined(separator: " | ")
    }
}

extension Hook {
    /// The variables a hook gets on top of the user's own environment: what it needs to know about the release, and
    /// nothing Switchyard resolved for itself (never its AWS credentials).
    public static func environment(_ d: Deployment, _ ref: HookRef) -> [String: String] {
        let steps = d.plan.spec.steps
        let weightSteps = steps.filter { $0.weight != nil }.count
        let step: Int
        switch ref.point {
        case .beforeTraffic: step = 0
        case .beforePromotion, .afterPromotion: step = weightSteps
        case .afterStep, .afterRollback: step = steps.prefix(min((ref.step ?? d.stepIndex) + 1, steps.count)).filter { $0.weight != nil }.count
        }
        var env = [
            "SWITCHYARD_HOOK": ref.point.rawValue,
            "SWITCHYARD_DEPLOYMENT_ID": d.id,
            "SWITCHYARD_SERVICE": d.service,
            "SWITCHYARD_IMAGE": d.image,
            "SWITCHYARD_STEP": String(step),
            "SWITCHYARD_STEPS": String(weightSteps),
            "SWITCHYARD_GREEN_WEIGHT": String(d.greenWeight),
            "SWITCHYARD_GREEN_POOL": d.plan.greenPool,
            "SWITCHYARD_BLUE_POOL": d.plan.blue.pool,
            "SWITCHYARD_GREEN_FLEET": d.plan.greenGroup,
            "SWITCHYARD_BLUE_FLEET": d.plan.blue.group,
            "SWITCHYARD_LOCATION": d.plan.spec.region,
        ]
        // Under the names the cloud's hooks know them by (AWS: SWITCHYARD_AMI, SWITCHYARD_GREEN_ASG, …).
        for (neutral, named) in d.plan.spec.cloud.hookNames {
            if let value = env.removeValue(forKey: neutral) { env[named] = value }
        }
        // The backend's own variables, and the core's it replaces (AWS: a Classic Load Balancer's name).
        env.merge(d.plan.spec.traffic.backend.hookEnvironment(d.plan.spec.traffic)) { _, backend in backend }
        // Only while the rule stands: after promotion or rollback it is gone, and a hook must not send to a dead route.
        if let route = d.plan.spec.testRoute, !d.reached(.testRouteRemoved) {
            env["SWITCHYARD_TEST_ROUTE_HEADER"] = "\(route.header): \(DeploymentSpec.TestRoute.value)"
        }
        return env
    }
}
