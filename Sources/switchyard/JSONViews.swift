import Foundation
import Orchestrator
import StateStore
import SwitchyardCore

/// The stable JSON shapes of `show`, `status`, `history` and `plan` (documented in the README).
enum JSONViews {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func timestamp(_ date: Date?) -> String? {
        date.map(StoredTime.text)
    }

    struct Blue: Encodable {
        let auto_scaling_group: String
        let target_group_arn: String
        let launch_template_id: String
        let launch_template_version: Int
        let image_id: String
        let desired_capacity: Int
        let min_size: Int
        let max_size: Int

        init(_ b: BlueFleet) {
            auto_scaling_group = b.group
            target_group_arn = b.pool
            launch_template_id = b.templateId
            launch_template_version = b.templateVersion
            image_id = b.image
            desired_capacity = b.desiredCapacity
            min_size = b.minSize
            max_size = b.maxSize
        }
    }

    struct Green: Encodable {
        let auto_scaling_group: String
        let target_group_arn: String
        let desired_capacity: Int
        let launch_template_version: Int?
    }

    struct Step: Encodable {
        let weight: Int?
        let bake_ms: Int64?
        let pause: Bool

        init(_ s: DeploymentSpec.Step) {
            switch s {
            case .weight(let w, let bake): weight = w; bake_ms = bake.milliseconds; pause = false
            case .pause: weight = nil; bake_ms = nil; pause = true
            }
        }
    }

    /// Who runs an active deployment, for `status --json`.
    struct Runner: Encodable {
        let pid: Int32
        let host: String
        let actor: String
        let heartbeat_at: String?
        let expires_at: String?
        let live: Bool

        init(_ lease: Lease, now: Date) {
            pid = lease.holder.pid
            host = lease.holder.host
            actor = lease.holder.actor
            heartbeat_at = timestamp(lease.heartbeatAt)
            expires_at = timestamp(lease.expiresAt)
            live = lease.isLive(at: now)
        }
    }

    struct Event: Encodable {
        let at: String?
        let from: String
        let to: String
        let message: String
        let actor: String
        let details: [String: String]

        init(_ e: StoredEvent) {
            at = timestamp(e.at)
            from = e.from.rawValue
            to = e.to.rawValue
            message = e.message
            actor = e.actor
            details = e.details
        }
    }

    /// One deployment; with its events for `show`.
    struct DeploymentView: Encodable {
        let id: String
        let service: String
        let ami: String
        let state: String
        let step_index: Int
        let steps: [Step]
        let green_weight: Int
        let blue_weight: Int
        let blue: Blue
        let green: Green
        let created_at: String?
        let updated_at: String?
        let finished_at: String?
        let retention_deadline: String?
        let blue_retired_at: String?
        let actor: String
        let file_digest: String
        let rollback_reason: String?
        let failure_reason: String?
        /// The hook stored as started and not yet finished (`before_traffic[1]`, `after_step[1]@2`).
        let running_hook: String?
        /// The hooks that ran to their end, in order.
        let finished_hooks: [String]
        /// The plan's `traffic.settle` (or the records' TTL), in milliseconds.
        let settle_ms: Int64
        /// When the current step's weights were confirmed, and when they count as live (its bake starts then).
        let weights_confirmed_at: String?
        let live_at: String?
        /// What the deployment waits for now because clients see traffic changes late, in words (`settling until …`).
        let waiting: String?
        /// The fleet on its way out of service, with its deadlines; null when none is.
        let removal: Removal?
        /// Where `state copy --move` moved it, and when; null unless it was.
        let moved_to: String?
        let moved_at: String?
        /// Blue as AWS showed it when this command read it (`show`, `status`: a completed release inside its
        /// retention whose blue the record has not retired); null when there is none to read or it was not read.
        let blue_read: BlueRead?
        let events: [Event]?
        let runner: Runner?

        init(_ d: Deployment, events: [StoredEvent]?, lease: Lease? = nil, blueRead: Show.BlueRead? = nil, now: Date = Date()) {
            runner = lease.map { Runner($0, now: now) }
            blue_read = blueRead.map(BlueRead.init)
            id = d.id
            service = d.service
            ami = d.image
            state = d.state.rawValue
            step_index = d.stepIndex
            steps = d.plan.spec.steps.map(Step.init)
            green_weight = d.greenWeight
            blue_weight = d.blueWeight
            blue = Blue(d.plan.blue)
            green = Green(auto_scaling_group: d.plan.greenGroup, target_group_arn: d.plan.greenPool,
                          desired_capacity: d.plan.blue.desiredCapacity, launch_template_version: d.greenTemplateVersion)
            created_at = timestamp(d.createdAt)
            updated_at = timestamp(d.updatedAt)
            finished_at = d.state.isTerminal ? timestamp(d.updatedAt) : nil
            retention_deadline = timestamp(d.retentionDeadline)
            blue_retired_at = timestamp(d.blueRetiredAt)
            actor = d.actor
            file_digest = d.fileDigest
            rollback_reason = d.rollbackReason
            failure_reason = d.failureReason
            running_hook = d.runningHook
            finished_hooks = d.finishedHooks ?? []
            settle_ms = d.plan.trafficSettle.milliseconds
            weights_confirmed_at = timestamp(d.weightsConfirmedAt)
            live_at = timestamp(d.bakeStartedAt)
            waiting = d.trafficWait(at: now).map(Console.waiting)
            removal = d.removal.map { Removal($0, now: now) }
            moved_to = d.movedTo
            moved_at = timestamp(d.movedAt)
            self.events = events?.map(Event.init)
        }

        /// Every documented field is always present; an unknown value is `null`, never a missing key. `events` is
        /// only in `show`, `runner` only in `status`.
        enum CodingKeys: String, CodingKey {
            case id, service, ami, state, step_index, steps, green_weight, blue_weight, blue, green, created_at, updated_at,
                 finished_at, retention_deadline, blue_retired_at, actor, file_digest, rollback_reason, failure_reason, running_hook, finished_hooks, events, runner,
                 settle_ms, weights_confirmed_at, live_at, waiting, removal, moved_to, moved_at, blue_read
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(service, forKey: .service)
            try c.encode(ami, forKey: .ami)
            try c.encode(state, forKey: .state)
            try c.encode(step_index, forKey: .step_index)
            try c.encode(steps, forKey: .steps)
            try c.encode(green_weight, forKey: .green_weight)
            try c.encode(blue_weight, forKey: .blue_weight)
            try c.encode(blue, forKey: .blue)
            try c.encode(green, forKey: .green)
            try c.encode(created_at, forKey: .created_at)
            try c.encode(updated_at, forKey: .updated_at)
            try c.encode(finished_at, forKey: .finished_at)
            try c.encode(retention_deadline, forKey: .retention_deadline)
            try c.encode(blue_retired_at, forKey: .blue_retired_at)
            try c.encode(actor, forKey: .actor)
            try c.encode(file_digest, forKey: .file_digest)
            try c.encode(rollback_reason, forKey: .rollback_reason)
            try c.encode(failure_reason, forKey: .failure_reason)
            try c.encode(running_hook, forKey: .running_hook)
            try c.encode(finished_hooks, forKey: .finished_hooks)
            try c.encode(settle_ms, forKey: .settle_ms)
            try c.encode(weights_confirmed_at, forKey: .weights_confirmed_at)
            try c.encode(live_at, forKey: .live_at)
            try c.encode(waiting, forKey: .waiting)
            try c.encode(removal, forKey: .removal)
            try c.encode(moved_to, forKey: .moved_to)
            try c.encode(moved_at, forKey: .moved_at)
            try c.encode(blue_read, forKey: .blue_read)
            try c.encodeIfPresent(events, forKey: .events)
            try c.encodeIfPresent(runner, forKey: .runner)
        }
    }

    /// A kept blue as read from AWS: `kept`, `gone`, `scaled_to_0`, or `unread` (AWS did not answer; `at` null).
    struct BlueRead: Encodable {
        let state: String
        let at: String?
        let in_service: Int?
        let desired_capacity: Int?

        init(_ read: Show.BlueRead) {
            state = read.state.rawValue
            at = timestamp(read.at)
            in_service = read.state == .kept ? read.inService : nil
            desired_capacity = read.state == .kept ? read.desired : nil
        }

        enum CodingKeys: String, CodingKey { case state, at, in_service, desired_capacity }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(state, forKey: .state)
            try c.encode(at, forKey: .at)
            try c.encode(in_service, forKey: .in_service)
            try c.encode(desired_capacity, forKey: .desired_capacity)
        }
    }

    /// A fleet leaving service: where its removal is, and every deadline of it.
    struct Removal: Encodable {
        let auto_scaling_group: String
        /// `settling`, `deregistering`, `draining` or `removing`.
        let phase: String
        let traffic_left_at: String?
        let settle_until: String?
        let deregistered_at: String?
        let target_groups: [String]
        let deregistration_delay_seconds: Int?
        let drain_until: String?
        /// Its instances still registered at the last look: `[{instance_id, state}]`.
        let registered_targets: [[String: String]]

        init(_ r: FleetRemoval, now: Date) {
            auto_scaling_group = r.group
            switch r.phase(at: now) {
            case .settling: phase = "settling"
            case .deregistering: phase = "deregistering"
            case .draining: phase = "draining"
            case .removing: phase = "removing"
            }
            traffic_left_at = timestamp(r.trafficLeftAt)
            settle_until = timestamp(r.settleUntil)
            deregistered_at = timestamp(r.deregisteredAt)
            target_groups = r.pools ?? []
            deregistration_delay_seconds = r.deregistrationDelaySeconds
            drain_until = timestamp(r.drainUntil)
            registered_targets = (r.registered ?? []).map { ["instance_id": $0.instanceId, "state": $0.state] }
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(auto_scaling_group, forKey: .auto_scaling_group)
            try c.encode(phase, forKey: .phase)
            try c.encode(traffic_left_at, forKey: .traffic_left_at)
            try c.encode(settle_until, forKey: .settle_until)
            try c.encode(deregistered_at, forKey: .deregistered_at)
            try c.encode(target_groups, forKey: .target_groups)
            try c.encode(deregistration_delay_seconds, forKey: .deregistration_delay_seconds)
            try c.encode(drain_until, forKey: .drain_until)
            try c.encode(registered_targets, forKey: .registered_targets)
        }

        enum CodingKeys: String, CodingKey {
            case auto_scaling_group, phase, traffic_left_at, settle_until, deregistered_at, target_groups, deregistration_delay_seconds, drain_until,
                 registered_targets
        }
    }


    /// `plan --json`: the CLI's view of the plan with the cloud's fields beside its own (`PlanPresenter.json`).
    struct PlanOutput: Encodable {
        let view: PlanView
        let cloud: [String: JSONValue]

        func encode(to encoder: any Encoder) throws {
            guard case .object(var fields) = try JSONValue(encoding: view) else { preconditionFailure("a plan view is an object") }
            fields.merge(cloud) { _, cloud in cloud }
            try JSONValue.object(fields).encode(to: encoder)
        }
    }

    /// What `plan` would do, in what every cloud's plan has.
    struct PlanView: Encodable {
        let service: String
        let ami: String
        let region: String
        /// Forwards with target-group stickiness on, and its duration in seconds.
        let stickiness: [String: Int]
        let blue: Blue
        let green: Green
        let retire: [String]
        let steps: [Step]
        let total_bake_ms: Int64
        let listener_claimed_by: String?
        let fleet: Fleet?
        /// `clone` or `pair` (fleet.mode).
        let mode: String
        /// The commands of each hook point, in order.
        let hooks: [String: [Hook]]



        /// What green copies from blue and what the release pins.
        struct Fleet: Encodable {
            let copies: [String]
            let not_copied: [String]
            let other_target_groups: [String]
            let other_load_balancers: [String]
            let other_target_groups_policy: String
            let blue_launch_template_version: String
            let blue_suspended_processes: [String]
            let suspended_during_release: [String]
            let architecture_source: String?

            init(_ f: FleetPlan, spec: DeploymentSpec) {
                copies = f.items
                not_copied = f.notCopied
                other_target_groups = f.otherPools
                other_load_balancers = f.otherLoadBalancers
                other_target_groups_policy = spec.fleet.otherPools.rawValue
                blue_launch_template_version = f.blueTemplateVersion
                blue_suspended_processes = f.blueSuspendedProcesses
                suspended_during_release = f.pinnedProcesses
                architecture_source = f.architectureSource
            }
        }

        /// What a bake asks AWS: each check tick's reads, what a minute of steady bake holds, in all and by service,
        /// and the most a minute holds.
        let requests: Requests

        struct Requests: Encodable {
            let per_tick: [Read]
            let interval_ms: Int64
            let per_minute: Int
            let per_minute_by_service: [String: Int]
            let per_minute_at_most: Int
            /// With `traffic.shared`: the reads of one look while a step is scaled to, and the most a minute of looks asks.
            let per_look: [Read]?
            let look_per_minute_at_most: Int?

            struct Read: Encodable {
                let service: String
                let action: String
                let calls: Int
                let purpose: String
                /// Absent when made every tick; else the most milliseconds between two (made sooner when an answer changed).
                let refresh_ms: Int64?
            }

            init(_ cost: TickCost, interval: TimeSpan) {
                per_tick = cost.reads.map {
                    Read(service: $0.service, action: $0.action, calls: $0.calls, purpose: $0.purpose, refresh_ms: $0.refresh.map { Int64($0 * 1000) })
                }
                interval_ms = interval.milliseconds
                per_minute = cost.perMinute
                per_minute_by_service = cost.perMinuteByService
                per_minute_at_most = cost.perMinuteAtMost
                per_look = cost.look.isEmpty ? nil : cost.look.map {
                    Read(service: $0.service, action: $0.action, calls: $0.calls, purpose: $0.purpose, refresh_ms: nil)
                }
                look_per_minute_at_most = cost.look.isEmpty ? nil : cost.lookPerMinuteAtMost
            }
        }

        /// The settle each traffic change waits before it counts as live, in milliseconds.
        let settle_ms: Int64
        /// Each target group's deregistration delay in seconds, as AWS has it: how long a fleet leaving it drains.
        let deregistration_delay_seconds: [String: Int]

        init(_ p: ReleasePlan, listenerClaimedBy: String? = nil, deregistrationDelays: [String: Int] = [:], tickCost: TickCost) {
            settle_ms = p.trafficSettle.milliseconds
            requests = Requests(tickCost, interval: p.spec.checks.interval)
            deregistration_delay_seconds = deregistrationDelays
            fleet = p.fleet.map { Fleet($0, spec: p.spec) }
            mode = p.spec.fleet.mode.rawValue
            listener_claimed_by = listenerClaimedBy
            service = p.spec.service
            ami = p.image
            region = p.spec.region
            stickiness = p.stickyForwards ?? [:]
            blue = Blue(p.blue)
            green = Green(auto_scaling_group: p.greenGroup, target_group_arn: p.greenPool,
                          desired_capacity: p.blue.desiredCapacity, launch_template_version: nil)
            retire = p.retire
            steps = p.spec.steps.map(Step.init)
            total_bake_ms = p.spec.totalBake.milliseconds
            hooks = Dictionary(uniqueKeysWithValues: HookPoint.allCases.map { ($0.rawValue, (p.spec.hooks?[$0] ?? []).map(Hook.init)) })
        }
    }
}
