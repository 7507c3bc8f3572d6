import Foundation
@testable import SwitchyardCore
import Testing

@Suite struct HookFileTests {
    @Test func everyPointWithItsDefaults() throws {
        let spec = try DeploymentFile.parseAWS(file(extra: """
            hooks:
              before_traffic:
                - run: [./smoke.sh, --fast]
                  timeout: 30s
                - run: [sh, -c, "curl -fsS -H \\"$SWITCHYARD_TEST_ROUTE_HEADER\\" http://alb/healthz"]
                  on_failure: pause
              after_step:
                run: [sleep, 5]
                on_failure: ignore
              before_promotion:
                - run: [check-ticket, "CHG-1"]
              after_promotion:
                - run: [notify]
              after_rollback:
                - run: [page-oncall]
                  on_failure: ignore

            """), path: "web.yaml")
        let hooks = try #require(spec.hooks)
        #expect(hooks.beforeTraffic == [Hook(run: ["./smoke.sh", "--fast"], timeout: .seconds(30), onFailure: .rollback),
                                        Hook(run: ["sh", "-c", "curl -fsS -H \"$SWITCHYARD_TEST_ROUTE_HEADER\" http://alb/healthz"], onFailure: .pause)])
        #expect(hooks.afterStep == [Hook(run: ["sleep", "5"], onFailure: .ignore)], "one hook may be written as a mapping; a number is its text")
        #expect(hooks.beforePromotion[0].onFailure == .rollback && hooks.beforePromotion[0].timeout == .minutes(5))
        #expect(hooks.afterPromotion == [Hook(run: ["notify"], onFailure: .ignore)], "after the end, a failure only logs")
        #expect(hooks.afterRollback[0].onFailure == .ignore)
        #expect(try DeploymentFile.parseAWS(file(), path: "web.yaml").hooks == nil)
    }

    @Test func mistakesNameTheirLineAndKey() {
        let found = issues(file(extra: """
            hooks:
              before_trafic:
                - run: [x]
              after_step:
                - run: "./load-test.sh --rate 10"
              before_promotion:
                - run: []
                  timeout: 2h
                - timeout: 5s
                  on_failure: retry
              after_promotion:
                - run: [notify]
                  on_failure: rollback
              after_rollback:
                run: [page, [a]]
                on_failure: pause

            """))
        let byKey = Dictionary(grouping: found, by: \.key)
        #expect(byKey["hooks.before_trafic"]?.first?.problem.contains("did you mean `before_traffic`") == true)
        #expect(byKey["hooks.before_trafic"]?.first?.line == 13)
        #expect(byKey["hooks.after_step[1].run"]?.first?.problem.contains("without a shell") == true)
        #expect(byKey["hooks.after_step[1].run"]?.first?.line == 16)
        #expect(byKey["hooks.before_promotion[1].run"]?.first?.problem.contains("at least the program") == true)
        #expect(byKey["hooks.before_promotion[1].timeout"]?.first?.problem.contains("at most 1h (got 2h)") == true)
        #expect(byKey["hooks.before_promotion[1].timeout"]?.first?.line == 19)
        #expect(byKey["hooks.before_promotion[2].run"]?.first?.problem == "required key is missing")
        #expect(byKey["hooks.before_promotion[2].on_failure"]?.first?.problem.contains("rollback, pause, ignore") == true)
        #expect(byKey["hooks.after_promotion[1].on_failure"]?.first?.problem.contains("can only be ignore there (got rollback)") == true)
        #expect(byKey["hooks.after_promotion[1].on_failure"]?.first?.line == 24)
        #expect(byKey["hooks.after_rollback.run[2]"]?.first?.problem.contains("must be a string, got a list") == true)
        #expect(byKey["hooks.after_rollback.on_failure"]?.first?.problem.contains("got pause") == true)
    }

    @Test func keysPointAtTheirReferenceSection() {
        #expect(FileIssue.reference(for: "hooks.after_step[2].timeout") == "docs/deployment-file.md#hooks-after_step-timeout")
        #expect(FileIssue.reference(for: "hooks.before_trafic") == "docs/deployment-file.md#hooks")
    }

    @Test func recordsStoredBeforeHooksExistedDecode() throws {
        let spec = try DeploymentFile.parseAWS(file(), path: "web.yaml")
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as? [String: Any] ?? [:]
        json["hooks"] = nil
        let old = try JSONDecoder().decode(DeploymentSpec.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.hooks == nil && old == spec)
    }
}
