import Foundation

/// What a webhook is told about a deployment: every state change and every step, with the evidence of a rollback.
public struct WebhookEvent: Sendable, Hashable, Codable {
    /// `state_changed` (from ≠ to) or `step` (a step's weights confirmed).
    public var event: String
    public var deploymentId: String
    public var service: String
    public var ami: String
    public var from: String
    public var to: String
    public var step: String
    public var greenWeight: Int
    public var blueWeight: Int
    public var message: String
    public var at: Date
    public var details: [String: String]

    enum CodingKeys: String, CodingKey {
        case event, service, ami, from, to, step, message, at, details
        case deploymentId = "deployment_id", greenWeight = "green_weight", blueWeight = "blue_weight"
    }

    /// The notification for an audit-log entry, or nil for entries that are neither a state change nor a step.
    public static func about(_ d: Deployment, _ log: LogEntry, at: Date) -> WebhookEvent? {
        let isStep = log.from == .shifting && log.to == .shifting && log.details["green_weight"] != nil
        guard log.from != log.to || isStep else { return nil }
        return WebhookEvent(event: isStep ? "step" : "state_changed", deploymentId: d.id, service: d.service, ami: d.image,
                            from: log.from.rawValue, to: log.to.rawValue, step: d.stepLabel, greenWeight: d.greenWeight,
                            blueWeight: d.blueWeight, message: log.message, at: at, details: log.details)
    }

    /// One line for a chat channel.
    public var text: String {
        var line = "switchyard: \(service) \(deploymentId) "
        line += from == to ? "step \(step): blue \(blueWeight)% / green \(greenWeight)%" : "\(from) → \(to)"
        line += " (\(ami)): \(message)"
        if let evidence = details["evidence"] { line += " — evidence: \(evidence)" }
        return line
    }
}
