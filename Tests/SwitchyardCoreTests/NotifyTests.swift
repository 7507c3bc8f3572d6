import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct NotifyFileTests {
    @Test func webhooksWithFormatsTimeoutAndRetries() throws {
        let spec = try DeploymentFile.parseAWS(file(extra: """
            notify:
              webhooks:
                - url: https://hooks.slack.com/services/T000/B000/XXXX
                  format: slack
                - url: http://127.0.0.1:9000/switchyard
              timeout: 500ms
              retries: 1

            """), path: "web.yaml")
        let notify = try #require(spec.notify)
        #expect(notify.webhooks == [.init(url: "https://hooks.slack.com/services/T000/B000/XXXX", format: .slack),
                                    .init(url: "http://127.0.0.1:9000/switchyard", format: .json)])
        #expect(notify.timeout == TimeSpan(milliseconds: 500) && notify.retries == 1)
        #expect(try DeploymentFile.parseAWS(file(), path: "web.yaml").notify == nil)
    }

    @Test func everyMistakeIsNamedWithoutEchoingTheURL() {
        let found = issues(file(extra: """
            notify:
              webhooks:
                - url: ftp://secret-token@example.com/x
                - url: https://example.com/hook
                  format: teams
              timeout: 1m
              retries: 9
              channel: ops

            """))
        let keys = found.map(\.key)
        #expect(keys.contains("notify.webhooks[1].url") && keys.contains("notify.webhooks[2].format"))
        #expect(keys.contains("notify.timeout") && keys.contains("notify.retries") && keys.contains("notify.channel"))
        #expect(!found.contains { $0.problem.contains("secret-token") })
        #expect(found.first { $0.key == "notify.webhooks[2].format" }?.line == 16)
        expectIssue(file(extra: "notify:\n  webhooks: []\n"), line: 13, key: "notify.webhooks", "at least one")
    }
}

@Suite struct WebhookEventTests {
    func deployment() -> Deployment {
        var d = makeDeployment()
        d.state = .shifting
        d.greenWeight = 10
        return d
    }

    @Test func stateChangesAndStepsAreToldOtherEntriesAreNot() {
        let d = deployment()
        let step = WebhookEvent.about(d, LogEntry(from: .shifting, to: .shifting, message: "step 1/3: weights blue 90% / green 10%",
                                                  details: ["green_weight": "10"]), at: start)
        #expect(step?.event == "step" && step?.greenWeight == 10 && step?.blueWeight == 90 && step?.step == "1/3")
        let change = WebhookEvent.about(d, LogEntry(from: .checkingHealth, to: .shifting, message: "healthy"), at: start)
        #expect(change?.event == "state_changed")
        #expect(WebhookEvent.about(d, LogEntry(from: .launching, to: .launching, message: "launch template version 4"), at: start) == nil)
    }

    @Test func theChatLineCarriesTheEvidence() {
        var d = deployment()
        d.state = .rollingBack
        let event = WebhookEvent.about(d, LogEntry(from: .shifting, to: .rollingBack, message: "rolling back: check alarm:web-5xx failed",
                                                   details: ["evidence": "alarm web-5xx is ALARM: 5xx above 2%"]), at: start)
        #expect(event?.text == "switchyard: web d1 shifting → rolling_back (ami-22222222): rolling back: check alarm:web-5xx failed — evidence: alarm web-5xx is ALARM: 5xx above 2%")
    }
}
