import AWS
import Foundation
import Orchestrator
import SwitchyardCore

extension AWSEffects {
    /// Green's launches failing in a row, from its scaling activities. A group this release created is all its own;
    /// a pair's standing group counts only what happened since this release set it. Best effort: a failed read (a
    /// policy without autoscaling:DescribeScalingActivities) leaves the wait to fleet.capacity_timeout, as before.
    func launchFailures(_ d: Deployment) async -> LaunchFailures? {
        do {
            let offset = aws.autoScaling.client.clock.seconds
            let activities = try await aws.autoScaling.scalingActivities(group: d.plan.greenGroup).map {
                LaunchActivity(id: $0.id, statusCode: $0.statusCode, message: $0.statusMessage ?? $0.description,
                               startedAt: $0.startTime.map { $0.addingTimeInterval(-offset) })
            }
            return LaunchFailureRule.failures(activities, since: d.plan.isPair ? d.phaseStartedAt.addingTimeInterval(-5) : nil)
        } catch {
            logger.warning("could not read green's scaling activities; launch failures are not seen before fleet.capacity_timeout",
                           metadata: ["deployment.id": "\(d.id)", "error": "\(error)"])
            return nil
        }
    }
}
