/// One kind of thing copied from blue to green once green exists; each is its own idempotent effect, recorded when done.
public enum FleetCopy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Hooks green lacks (it normally has them all from its creation).
    case lifecycleHooks = "lifecycle_hooks"
    /// Blue's suspended processes, plus the ones suspended for the release.
    case suspendedProcesses = "suspended_processes"
    /// Scaling policies under the same names, and the alarms of the step and simple ones on green.
    case scalingPolicies = "scaling_policies"
    /// Scheduled actions still to come.
    case scheduledActions = "scheduled_actions"
    case metrics
    case warmPool = "warm_pool"
    case notifications
}

/// Blue's fleet as it was when the release started, and what the release copies, pins and restores. Stored in the
/// plan before any change, so a crash never loses blue's originals.
public struct FleetPlan: Sendable, Hashable, Codable {
    /// The copies to run after green exists, in order (kinds with nothing to copy are left out).
    public var copies: [FleetCopy]
    /// What green gets from blue, one line per item, for `plan` and the audit trail.
    public var items: [String]
    /// What cannot be copied, each with the reason.
    public var notCopied: [String]
    /// Target groups blue stands in besides the shifted pair (green joins them at promotion when the file says so).
    public var otherPools: [String]
    /// Classic load balancers blue is attached to (treated like other target groups).
    public var otherLoadBalancers: [String]
    /// Blue's suspended processes when the release started.
    public var blueSuspendedProcesses: [String]
    /// Processes suspended on both groups for the length of the release, so no scheduled action scales either in.
    public var pinnedProcesses: [String]
    /// Blue's launch template version as its group names it: a number, `$Latest` or `$Default`.
    public var blueTemplateVersion: String
    /// Where blue's architecture came from when its AMI is gone (nil when the AMI said it).
    public var architectureSource: String?
    /// The template's default version before the release, when the release makes green's the default
    /// (`fleet.launch_template_default: promote`): put back if a promoted release is rolled back.
    public var previousDefaultVersion: Int?

    /// Stored under the AWS names records always had.
    enum CodingKeys: String, CodingKey {
        case copies, items, notCopied, otherPools = "otherTargetGroups", otherLoadBalancers, blueSuspendedProcesses, pinnedProcesses
        case blueTemplateVersion = "blueLaunchTemplateVersion", architectureSource, previousDefaultVersion
    }

    public init(copies: [FleetCopy] = [], items: [String] = [], notCopied: [String] = [], otherPools: [String] = [],
                otherLoadBalancers: [String] = [], blueSuspendedProcesses: [String] = [], pinnedProcesses: [String] = [],
                blueTemplateVersion: String, architectureSource: String? = nil) {
        self.copies = copies
        self.items = items
        self.notCopied = notCopied
        self.otherPools = otherPools
        self.otherLoadBalancers = otherLoadBalancers
        self.blueSuspendedProcesses = blueSuspendedProcesses
        self.pinnedProcesses = pinnedProcesses
        self.blueTemplateVersion = blueTemplateVersion
        self.architectureSource = architectureSource
    }

    /// Whether blue's group floats on a version alias, so it is pinned to the number for the release.
    public var blueFloats: Bool { Int(blueTemplateVersion) == nil }

    /// Green's suspended processes while the release runs: blue's own and the release's pins.
    public var greenProcessesDuringRelease: [String] { Array(Set(blueSuspendedProcesses).union(pinnedProcesses)).sorted() }

    /// Pinned processes that blue did not have suspended itself: resumed when the release ends.
    public var processesToResume: [String] { pinnedProcesses.filter { !blueSuspendedProcesses.contains($0) }.sorted() }
}

/// An Auto Scaling group's own settings as read before a release touched it: what a rollback puts back.
public struct GroupSettings: Sendable, Hashable, Codable {
    public var name: String
    public var templateId: String
    /// As the group names it: a number, `$Latest` or `$Default`.
    public var templateVersion: String
    public var minSize: Int
    public var maxSize: Int
    public var desiredCapacity: Int
    public var suspendedProcesses: [String]
    public var pools: [String]

    public init(name: String, templateId: String, templateVersion: String, minSize: Int, maxSize: Int, desiredCapacity: Int,
                suspendedProcesses: [String], pools: [String]) {
        self.name = name
        self.templateId = templateId
        self.templateVersion = templateVersion
        self.minSize = minSize
        self.maxSize = maxSize
        self.desiredCapacity = desiredCapacity
        self.suspendedProcesses = suspendedProcesses.sorted()
        self.pools = pools.sorted()
    }

    /// Stored under the AWS names records always had.
    enum CodingKeys: String, CodingKey {
        case name, templateId = "launchTemplateId", templateVersion = "launchTemplateVersion", minSize, maxSize, desiredCapacity
        case suspendedProcesses, pools = "targetGroupARNs"
    }

    /// `min/desired/max`, for logs.
    public var sizes: String { "\(minSize)/\(desiredCapacity)/\(maxSize)" }
}

/// `fleet.mode: pair`: green is the idle one of two standing groups. Stored in the plan before anything changes, so a
/// crash, a resume and a rollback all put back the same settings.
public struct PairPlan: Sendable, Hashable, Codable {
    /// The pair as the file names it.
    public var groups: [String]
    /// The idle group as it was when the release was planned (after its retirement, when the plan retires it first:
    /// then its sizes are 0/0/0, as retirement leaves them).
    public var greenBefore: GroupSettings

    public init(groups: [String], greenBefore: GroupSettings) {
        self.groups = groups
        self.greenBefore = greenBefore
    }
}
