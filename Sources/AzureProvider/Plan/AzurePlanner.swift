import Azure
import Foundation
import Orchestrator
import StateStore
import SwitchyardCore

/// What an Azure release recorded when it was planned (`ReleasePlan.cloud`), so every effect, a resume and a rollback
/// from another terminal name the same resources and put back the same settings.
public struct AzurePlan: Sendable, Hashable, Codable {
    public struct Endpoint: Sendable, Hashable, Codable {
        public var type: String
        public var name: String
        public var reference: TrafficManagerEndpoint.Reference { .init(type: type, name: name) }
    }

    public var subscription: String
    public var resourceGroup: String
    public var profile: String
    public var blueEndpoint: Endpoint
    public var greenEndpoint: Endpoint
    /// The scale sets' resource ids.
    public var blueScaleSet: String
    public var greenScaleSet: String
    /// Green's stack's backend pools: green's NICs join them.
    public var greenBackendPools: [String]
    /// Blue's region (`westeurope`): where green is made and the image must be.
    public var location: String
    public var computerNamePrefix: String
    /// Blue's autoscale setting's id and each profile's floor before the pin; nil: blue has none.
    public var blueAutoscale: String?
    public var blueFloors: [AutoscaleSetting.Floor]?
    /// Green's copy of it (made disabled, enabled at promotion).
    public var greenAutoscale: String?
    /// Earlier scale sets standing in green's stack, retired first: name → id.
    public var retire: [String: String]

    /// The deadline of a blue kept for rollback, on the scale set itself, so every state file sees it (AWS's tag).
    public static let retainUntilTag = "switchyard:retain-until"

    /// The tags green is created with: whose it is, so a resume adopts its own and the next release knows the service's.
    public static func greenTags(service: String, deploymentId: String) -> [String: String] {
        ["switchyard:deployment": deploymentId, "switchyard:service": service]
    }

    public init(_ plan: ReleasePlan) throws {
        guard let cloud = plan.cloud else { throw PlanRefusal("the record's plan has no Azure section: it was not planned on Azure") }
        self = try cloud.decode(AzurePlan.self)
    }

    init(subscription: String, resourceGroup: String, profile: String, blueEndpoint: Endpoint, greenEndpoint: Endpoint, blueScaleSet: String,
         greenScaleSet: String, greenBackendPools: [String], location: String, computerNamePrefix: String, blueAutoscale: String?,
         blueFloors: [AutoscaleSetting.Floor]?, greenAutoscale: String?, retire: [String: String]) {
        self.subscription = subscription
        self.resourceGroup = resourceGroup
        self.profile = profile
        self.blueEndpoint = blueEndpoint
        self.greenEndpoint = greenEndpoint
        self.blueScaleSet = blueScaleSet
        self.greenScaleSet = greenScaleSet
        self.greenBackendPools = greenBackendPools
        self.location = location
        self.computerNamePrefix = computerNamePrefix
        self.blueAutoscale = blueAutoscale
        self.blueFloors = blueFloors
        self.greenAutoscale = greenAutoscale
        self.retire = retire
    }

    var resourceGroupId: String { "/subscriptions/\(subscription)/resourceGroups/\(resourceGroup)" }

    /// The endpoint a fleet of this release stands behind: blue's for blue, green's for green and for a scale set
    /// retired from green's stack.
    func endpoint(of fleet: String, _ d: Deployment) -> Endpoint { fleet == d.plan.blue.group ? blueEndpoint : greenEndpoint }

    func scaleSetId(_ fleet: String, _ d: Deployment) -> String {
        if fleet == d.plan.blue.group { return blueScaleSet }
        if fleet == d.plan.greenGroup { return greenScaleSet }
        return retire[fleet] ?? "\(resourceGroupId)/providers/Microsoft.Compute/virtualMachineScaleSets/\(fleet)"
    }
}

/// Plans an Azure release from what ARM shows, changing nothing: the profile's endpoints say which stack is blue
/// (`EndpointRoles`), each endpoint's public IP says its load balancer and so its backend pools, the scale set whose
/// NICs join blue's pools is blue, and the image must be one a scale set in blue's region can be made from. Four
/// independent reads go out together; blue's autoscale setting is read once blue is known.
struct AzurePlanner: Sendable {
    let arm: ARMClient
    let now: @Sendable () -> Date

    /// Green's scale set's name: deterministic, so a resumed run finds it; at most 64 characters.
    static func greenName(service: String, deploymentId: String) -> String {
        String("\(service)-\(deploymentId)".prefix(64))
    }

    /// Green's instances' host name prefix: letters and digits of the service and the deployment id's random part,
    /// at most 9 (Windows' limit; Linux allows more), so blue's and green's hosts differ.
    static func computerNamePrefix(service: String, deploymentId: String) -> String {
        let letters = service.filter { $0.isLetter || $0.isNumber }.lowercased()
        let tail = deploymentId.filter { $0.isHexDigit }.suffix(4)
        return String((letters.isEmpty ? "vm" : letters).prefix(9 - tail.count)) + tail
    }

    /// How long a confirmed weight change takes to reach every client: the file's `traffic.settle`, at least the
    /// profile's TTL; a file that names none gets the TTL plus `DeploymentSpec.Traffic.defaultSettle` (15 s), since
    /// Traffic Manager's name servers take up a change some time after ARM confirms it and Azure publishes no figure
    /// (nor, unlike Route 53's GetChange, a call that says when they have).
    static func settle(file: TimeSpan?, ttl: Int) -> TimeSpan {
        let cache = TimeSpan.seconds(Int64(max(ttl, 0)))
        guard let file else { return TimeSpan(milliseconds: cache.milliseconds + DeploymentSpec.Traffic.defaultSettle.milliseconds) }
        return max(file, cache)
    }

    func plan(_ spec: DeploymentSpec, image: String, deploymentId: String, context: PlanContext) async throws -> ReleasePlan {
        guard let location = AzureLocation(id: spec.region), let tm = spec.traffic.trafficManager else {
            throw PlanRefusal("the deployment file's traffic is not a Traffic Manager profile in a resource group")
        }
        let rg = location.id
        async let profileRead = TrafficManager(arm: arm).profile(subscription: location.subscription, resourceGroup: location.resourceGroup, name: tm.profile)
        async let setsRead = ScaleSets.list(arm, resourceGroup: rg)
        async let balancersRead = LoadBalancerView.list(arm, resourceGroup: rg)
        async let imageRead = ComputeImages(arm: arm).image(id: image)
        let (profile, sets, balancers, newImage) = try await (profileRead, setsRead, balancersRead, imageRead)
        let roles: EndpointRoles
        switch EndpointRoles.read(profile, traffic: tm) {
        case .success(let found): roles = found
        case .failure(let refusal):
            // A split in flight under another release's mark is that release's: say whose, as the fence would.
            if let owner = ProfileFence.holders(profile.tags).first(where: { $0 != deploymentId }) {
                throw ProfileClaimed(resource: profile.id, owner: owner)
            }
            throw refusal
        }
        // An external endpoint names its stack by host: the resource group's public IPs say whose (read only then).
        let external = [roles.blue, roles.green].contains { $0.type == "externalEndpoints" }
        let addresses = external ? try await PublicIPView.list(arm, resourceGroup: rg) : []
        func publicIP(_ endpoint: TrafficManagerEndpoint) throws -> String {
            if endpoint.type == "azureEndpoints", let ip = endpoint.target { return ip }
            if endpoint.type == "externalEndpoints", let host = endpoint.targetHost {
                guard let found = addresses.first(where: { $0.answers(host) }) else {
                    throw PlanRefusal("endpoint \(endpoint.name) of Traffic Manager profile \(tm.profile) answers \(host), which is no public IP address of \(rg) "
                        + "(by its DNS name or its address): which scale sets stand behind it cannot be read")
                }
                return found.id
            }
            throw PlanRefusal("endpoint \(endpoint.name) of Traffic Manager profile \(tm.profile) is \(endpoint.type) with no target: which scale sets stand behind it cannot be read")
        }
        func pools(_ endpoint: TrafficManagerEndpoint) throws -> [String] {
            let ip = try publicIP(endpoint)
            let found = balancers.filter { $0.fronts(ip) }.flatMap(\.backendPools)
            guard !found.isEmpty else {
                throw PlanRefusal("endpoint \(endpoint.name) of Traffic Manager profile \(tm.profile) targets \(ip), which no load balancer of \(rg) has as a frontend "
                    + "with a backend pool")
            }
            return found
        }
        let bluePools = try pools(roles.blue), greenPools = try pools(roles.green)
        if let shared = bluePools.first(where: { p in greenPools.contains { $0.lowercased() == p.lowercased() } }) {
            throw PlanRefusal("endpoints \(roles.blue.name) and \(roles.green.name) both reach backend pool \(shared): green would serve blue's traffic before any weight moved")
        }
        let ours = { (set: ScaleSetModel) in set.name == spec.fleet.blueGroupName || set.tags["switchyard:service"] == spec.service || context.retirable.contains(set.name) }
        let blues = sets.filter { set in bluePools.contains(where: set.joins) }
        guard let blue = blues.first, blues.count == 1 else {
            throw PlanRefusal(blues.isEmpty
                ? "no scale set of \(rg) puts its instances in the backend pool of endpoint \(roles.blue.name), which carries all the traffic: there is no blue to release beside"
                : "scale sets \(blues.map(\.name).sorted().joined(separator: ", ")) all stand behind endpoint \(roles.blue.name): which one is blue cannot be told; leave one")
        }
        guard ours(blue) else {
            throw PlanRefusal("scale set \(blue.name) serves endpoint \(roles.blue.name), but it is neither fleet.scale_set (\(spec.fleet.blueGroupName ?? "")) nor tagged "
                + "switchyard:service: \(spec.service): it is not this service's blue")
        }
        guard let blueLocation = blue.location else { throw PlanRefusal("scale set \(blue.name) names no location") }
        if let why = newImage.refusal(location: blueLocation, now: now()) { throw PlanRefusal(why) }
        var retire: [String: String] = [:]
        for standing in sets where standing.id != blue.id && greenPools.contains(where: standing.joins) {
            if let kept = context.recordedRetention[standing.name], kept.until > now(), !context.endingRetention {
                throw PlanRefusal("scale set \(standing.name) in endpoint \(roles.green.name)'s stack is kept for rollback by deployment \(kept.deployment) until "
                    + "\(StoredTime.text(kept.until)): start again after it, or with --end-retention to retire it now")
            }
            if let text = standing.tags[AzurePlan.retainUntilTag], let until = StoredTime.parse(text), until > now(), !context.endingRetention {
                throw PlanRefusal("scale set \(standing.name) in endpoint \(roles.green.name)'s stack is kept for rollback until \(text) (its \(AzurePlan.retainUntilTag) tag, "
                    + "from a release of another state file perhaps): start again after it, or with --end-retention to retire it now")
            }
            guard ours(standing) else {
                throw PlanRefusal("scale set \(standing.name) stands in endpoint \(roles.green.name)'s stack, where green goes, and is not this service's: it was left alone")
            }
            retire[standing.name] = standing.id
        }
        let greenName = Self.greenName(service: spec.service, deploymentId: deploymentId)
        let greenId = "\(rg)/providers/Microsoft.Compute/virtualMachineScaleSets/\(greenName)"
        let prefix = Self.computerNamePrefix(service: spec.service, deploymentId: deploymentId)
        // The clone is made once now, so a blue that cannot be cloned (Flexible, no backend pool) is refused before anything.
        let clone: ScaleSetClone
        do {
            clone = try ScaleSetClone(blue: blue.document, image: newImage.id, computerNamePrefix: prefix, backendPools: greenPools)
        } catch let problem as ScaleSetClone.Problem {
            throw PlanRefusal("scale set \(blue.name): \(problem)")
        }
        let autoscale = try await AutoscaleSetting.find(arm, resourceGroup: rg, target: blue.id)
        let greenAutoscale = autoscale.map { _ in "\(rg)/providers/Microsoft.Insights/autoscalesettings/\(greenName)-autoscale" }
        let profileOf = autoscale?.profiles.first
        let cloud = AzurePlan(
            subscription: location.subscription, resourceGroup: location.resourceGroup, profile: tm.profile,
            blueEndpoint: .init(type: roles.blue.type, name: roles.blue.name), greenEndpoint: .init(type: roles.green.type, name: roles.green.name),
            blueScaleSet: blue.id, greenScaleSet: greenId, greenBackendPools: greenPools, location: ComputeImage.region(blueLocation),
            computerNamePrefix: prefix, blueAutoscale: autoscale?.id, blueFloors: autoscale?.floors, greenAutoscale: greenAutoscale, retire: retire)
        var items = ["SKU, zones, network profile, extensions and upgrade policy of \(blue.name), with image \(newImage.id) and host names \(prefix)…"]
        if let autoscale {
            items.append("autoscale setting \(autoscale.name), as \(greenName)-autoscale, disabled until promotion; blue's pinned at \(blue.capacity) meanwhile")
        }
        let fleet = FleetPlan(copies: autoscale == nil ? [] : [.scalingPolicies], items: items, notCopied: clone.notCopied, blueTemplateVersion: "1")
        let blueFleet = BlueFleet(group: blue.name, pool: roles.blue.name, templateId: blue.id, templateName: blue.name, templateVersion: 1,
                                  image: blue.image ?? "", architecture: "", minSize: profileOf?.minimum ?? blue.capacity,
                                  maxSize: profileOf?.maximum ?? blue.capacity, desiredCapacity: blue.capacity)
        let settle = Self.settle(file: spec.traffic.settle, ttl: roles.ttl)
        return ReleasePlan(spec: spec, image: newImage.id, blue: blueFleet, greenPool: roles.green.name, greenGroup: greenName,
                           retire: retire.keys.sorted(), fleet: fleet, trafficSettleSeconds: roles.ttl, settle: settle,
                           cloud: try JSONValue(encoding: cloud))
    }
}
