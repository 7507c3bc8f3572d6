import AWSProvider
@testable import SwitchyardCore
import Testing
import Yams

let listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
let tgA = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/73e2d6bc24d8a067"
let tgB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2453ed029918f21f"

/// A minimal valid file with `extra` appended at the end and `replace` pairs applied.
func file(_ replacements: [(String, String)] = [], extra: String = "") -> String {
    var text = """
        service: web
        region: us-east-1
        traffic:
          listener_arn: \(listener)
          target_groups:
            - \(tgA)
            - \(tgB)
        steps:
          - weight: 10
            bake: 2m
          - weight: 100

        """
    for (old, new) in replacements { text = text.replacingOccurrences(of: old, with: new) }
    return text + extra
}

func issues(_ text: String) -> [FileIssue] {
    do {
        _ = try DeploymentFile.parseAWS(text, path: "web.yaml")
        return []
    } catch let error as DeploymentFileError {
        return error.issues
    } catch {
        return [FileIssue(line: nil, key: "?", problem: "\(error)")]
    }
}

/// Exactly one issue, at this line and key, whose text contains `fragment`.
func expectIssue(_ text: String, line: Int?, key: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let found = issues(text)
    #expect(found.count == 1, "issues: \(found)", sourceLocation: sourceLocation)
    guard let issue = found.first else { return }
    #expect(issue.line == line, "\(issue)", sourceLocation: sourceLocation)
    #expect(issue.key == key, "\(issue)", sourceLocation: sourceLocation)
    #expect(issue.problem.contains(fragment), "\(issue)", sourceLocation: sourceLocation)
}

@Suite struct DeploymentFileTests {
    @Test func everyKeyMapsToTheSpec() throws {
        let text = """
            service: web
            region: us-east-1
            traffic:
              listener_arn: \(listener)
              rule_arn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee
              target_groups: [\(tgA), \(tgB)]
            fleet:
              blue_auto_scaling_group: web-blue
              capacity_timeout: 7m
              other_target_groups: join_at_promotion
              launch_template_default: promote
            steps:
              - weight: 10
                bake: 90s
              - pause
              - weight: 50
                bake: 1h
              - weight: 100
                bake: 500ms
            checks:
              interval: 5s
              healthy_timeout: 3m
              max_unhealthy_targets: 1
              alarms: [web-5xx, web-p99]
              http:
                url: https://web-green.internal/healthz
                expect_status: [200, 204]
                timeout: 1s
                failure_threshold: 4
            promotion:
              blue_retention: 0s
            """
        let spec = try DeploymentFile.parseAWS(text, path: "web.yaml")
        #expect(spec == DeploymentSpec(
            service: "web", region: "us-east-1",
            traffic: .init(primaryForward: listener,
                           ruleArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
                           pools: [tgA, tgB]),
            fleet: .init(blueGroupName: "web-blue", capacityTimeout: .minutes(7), otherPools: .joinAtPromotion, templateDefault: .promote),
            steps: [.weight(10, bake: .seconds(90)), .pause, .weight(50, bake: .minutes(60)), .weight(100, bake: TimeSpan(milliseconds: 500))],
            checks: .init(interval: .seconds(5), healthyTimeout: .minutes(3), maxUnhealthyTargets: 1, alarms: ["web-5xx", "web-p99"],
                          http: .init(url: "https://web-green.internal/healthz", expectStatus: [200, 204], timeout: .seconds(1), failureThreshold: 4)),
            promotion: .init(blueRetention: .zero)))
    }

    @Test func minimalFileGetsTheDocumentedDefaults() throws {
        let spec = try DeploymentFile.parseAWS(file(), path: "web.yaml")
        #expect(spec.fleet == .init(blueGroupName: nil, capacityTimeout: .minutes(10)))
        #expect(spec.fleet.otherPools == .refuse && spec.fleet.templateDefault == .keep)
        #expect(spec.checks == .init(interval: .seconds(10), healthyTimeout: .minutes(5), maxUnhealthyTargets: 0, alarms: [], http: nil))
        #expect(spec.promotion.blueRetention == .minutes(30))
        #expect(spec.steps == [.weight(10, bake: .minutes(2)), .weight(100, bake: .zero)])
        let probe = try DeploymentFile.parseAWS(file(extra: "checks:\n  http:\n    url: http://127.0.0.1:8080/\n"), path: "web.yaml").checks.http
        #expect(probe == .init(url: "http://127.0.0.1:8080/", expectStatus: [200], timeout: .seconds(2), failureThreshold: 3))
    }

    @Test func fleetChoicesNameTheirValues() {
        expectIssue(file(extra: "fleet:\n  other_target_groups: join\n"), line: 13, key: "fleet.other_target_groups",
                    "must be one of refuse, join_at_promotion (got \"join\")")
        expectIssue(file(extra: "fleet:\n  launch_template_default: 3\n"), line: 13, key: "fleet.launch_template_default", "must be a string, got integer 3")
        expectIssue(file(extra: "fleet:\n  launch_template_default: latest\n"), line: 13, key: "fleet.launch_template_default",
                    "must be one of keep, promote")
        expectIssue(file(extra: "fleet:\n  other_targetgroups: refuse\n"), line: 13, key: "fleet.other_targetgroups", "did you mean `other_target_groups`?")
    }

    @Test func unknownKeysAreErrorsWithASuggestion() {
        expectIssue(file(extra: "chekcs:\n  interval: 5s\n"), line: 12, key: "chekcs", "did you mean `checks`?")
        expectIssue(file(extra: "checks:\n  intervall: 5s\n"), line: 13, key: "checks.intervall", "did you mean `interval`?")
        expectIssue(file(extra: "colour: blue\n"), line: 12, key: "colour", "unknown key (known keys: service, region")
    }

    @Test func missingRequiredKeys() {
        expectIssue(file([("region: us-east-1\n", "")]), line: 1, key: "region", "required key is missing")
        expectIssue(file([("  listener_arn: \(listener)\n", "")]), line: 4, key: "traffic.listener_arn", "required key is missing")
    }

    @Test func serviceNames() {
        expectIssue(file([("service: web", "service: Web")]), line: 1, key: "service", "a-z, 0-9 and -")
        expectIssue(file([("service: web", "service: -web")]), line: 1, key: "service", "not starting or ending with -")
        expectIssue(file([("service: web", "service: " + String(repeating: "a", count: 33))]), line: 1, key: "service", "1 to 32 characters")
    }

    @Test func regionAndARNs() {
        expectIssue(file([("region: us-east-1", "region: useast1")]), line: 2, key: "region", "not an AWS region")
        expectIssue(file([("listener_arn: \(listener)", "listener_arn: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1")]),
                    line: 4, key: "traffic.listener_arn", "not an Application Load Balancer listener ARN")
        expectIssue(file([("listener_arn: \(listener)", "listener_arn: " + listener.replacingOccurrences(of: "us-east-1", with: "eu-west-1"))]),
                    line: 4, key: "traffic.listener_arn", "is in region eu-west-1, but the file's region is us-east-1")
        expectIssue(file([("- \(tgB)", "- " + tgB.replacingOccurrences(of: "123456789012", with: "999999999999"))]),
                    line: 7, key: "traffic.target_groups[2]", "is in account 999999999999, but the listener is in account 123456789012")
    }

    @Test func targetGroupsMustBeTwoDifferentOnes() {
        expectIssue(file([("    - \(tgB)\n", "")]), line: 6, key: "traffic.target_groups", "exactly two target groups")
        expectIssue(file([("- \(tgB)", "- \(tgA)")]), line: 7, key: "traffic.target_groups[2]", "same target group")
    }

    @Test func stepRules() {
        expectIssue(file([("weight: 10\n", "weight: 0\n")]), line: 9, key: "steps[1].weight", "between 1 and 100 (got 0)")
        expectIssue(file([("weight: 100", "weight: 150")]), line: 11, key: "steps[2].weight", "between 1 and 100 (got 150)")
        expectIssue(file([("weight: 10\n", "weight: 100\n")]), line: 11, key: "steps[2].weight", "weights must rise")
        expectIssue(file([("weight: 100", "weight: 90")]), line: 11, key: "steps[2].weight", "last step must send 100%")
        expectIssue(file([("steps:\n", "steps:\n  - pause\n")]), line: 9, key: "steps[1]", "cannot be the first step")
        expectIssue(file(extra: "  - pause\n"), line: 12, key: "steps[3]", "cannot be the last step")
        expectIssue(file([("  - weight: 100", "  - pause\n  - pause\n  - weight: 100")]), line: 12, key: "steps[3]", "two pauses in a row")
        expectIssue(file([("  - weight: 100", "  - wait")]), line: 11, key: "steps[2]", "must be `pause` or a mapping")
        expectIssue(file([("steps:\n  - weight: 10\n    bake: 2m\n  - weight: 100\n", "steps: []\n")]), line: 8, key: "steps", "at least one step")
    }

    @Test func durations() {
        expectIssue(file([("bake: 2m", "bake: 10 seconds")]), line: 10, key: "steps[1].bake", "like 500ms, 30s, 5m or 1h, got string \"10 seconds\"")
        expectIssue(file([("bake: 2m", "bake: 30")]), line: 10, key: "steps[1].bake", "got integer 30")
        expectIssue(file(extra: "checks:\n  interval: 0s\n"), line: 13, key: "checks.interval", "longer than 0s")
    }

    @Test func wrongTypes() {
        expectIssue(file(extra: "checks:\n  max_unhealthy_targets: \"two\"\n"), line: 13, key: "checks.max_unhealthy_targets", "must be an integer, got string \"two\"")
        expectIssue(file(extra: "fleet: [a, b]\n"), line: 12, key: "fleet", "must be a mapping of keys, got a list")
        expectIssue(file(extra: "checks:\n  alarms: web-5xx\n"), line: 13, key: "checks.alarms", "must be a list")
        expectIssue(file([("weight: 10\n", "weight: 10.5\n")]), line: 9, key: "steps[1].weight", "got number 10.5")
    }

    @Test func httpProbe() {
        expectIssue(file(extra: "checks:\n  http:\n    url: ftp://x/\n"), line: 14, key: "checks.http.url", "http:// or https://")
        expectIssue(file(extra: "checks:\n  http:\n    url: http:///healthz\n"), line: 14, key: "checks.http.url", "with a host")
        expectIssue(file(extra: "checks:\n  http:\n    url: http://h/\n    expect_status: 700\n"), line: 15, key: "checks.http.expect_status", "between 100 and 599")
        expectIssue(file(extra: "checks:\n  http:\n    url: http://h/\n    expect_status: []\n"), line: 15, key: "checks.http.expect_status", "at least one status")
        expectIssue(file(extra: "checks:\n  interval: 2s\n  http:\n    url: http://h/\n    timeout: 2s\n"), line: 16, key: "checks.http.timeout", "shorter than checks.interval")
        expectIssue(file(extra: "checks:\n  http:\n    url: http://h/\n    failure_threshold: 0\n"), line: 15, key: "checks.http.failure_threshold", "at least 1")
        expectIssue(file(extra: "checks:\n  alarms: [a, a]\n"), line: 13, key: "checks.alarms[2]", "listed twice")
    }

    @Test func yamlProblems() {
        expectIssue(file(extra: "checks:\n  interval: 5s\n  interval: 6s\n"), line: 13, key: "interval", "more than once")
        let syntax = issues("service: web\nregion: [us-east-1\n")
        #expect(syntax.count == 1 && syntax[0].problem.hasPrefix("YAML syntax error") && syntax[0].line != nil)
        expectIssue("- a\n- b\n", line: 1, key: "", "a deployment file is a YAML mapping")
        expectIssue("", line: 1, key: "", "a deployment file is a YAML mapping")
    }

    @Test func everyProblemIsReportedInLineOrder() {
        let text = file([("service: web", "service: Web"), ("weight: 100", "weight: 90")], extra: "checks:\n  intervall: 1s\n")
        let found = issues(text)
        #expect(found.map(\.key) == ["service", "steps[2].weight", "checks.intervall"])
        #expect(found.map(\.line) == [1, 11, 13])
        let error = DeploymentFileError(path: "deployments/web.yaml", issues: found)
        #expect(error.description.hasPrefix("deployments/web.yaml is not a valid deployment file (3 problems):\n  line 1, service: "))
        #expect(error.description.components(separatedBy: "\n").count == 4)
    }
}

@Suite struct TimeSpanTests {
    @Test(arguments: [("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000), ("1m30s", 90_000), ("0s", 0)] as [(String, Int64)])
    func parses(_ text: String, _ ms: Int64) {
        #expect(TimeSpan(parsing: text)?.milliseconds == ms)
    }

    @Test(arguments: ["", "5", "5x", "-1s", "s", "1.5s", "99999999999999999h"])
    func rejects(_ text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test func describesItselfInTheShortestExactUnit() {
        #expect(TimeSpan(milliseconds: 120_000).description == "2m")
        #expect(TimeSpan(milliseconds: 90_000).description == "90s")
        #expect(TimeSpan(milliseconds: 250).description == "250ms")
        #expect(TimeSpan(milliseconds: 7_200_000).description == "2h")
        for ms: Int64 in [250, 90_000, 120_000, 3_600_000] {
            #expect(TimeSpan(parsing: TimeSpan(milliseconds: ms).description)?.milliseconds == ms)
        }
    }
}

@Suite struct FileSchemaTests {
    /// The schema is what the validator enforces: in each of its sections, every key it lists is accepted and any other
    /// is an unknown key naming the section's keys. A section's keys are written nowhere else.
    @Test func eachSectionAcceptsExactlyTheKeysTheSchemaListsForIt() throws {
        for (section, keys) in FileSchema(adding: AWSFileFormat()).sections {
            let yaml = (keys + ["not_a_key"]).map { "\($0): 1" }.joined(separator: "\n")
            guard case .mapping(let mapping) = try #require(try Yams.compose(yaml: yaml)) else { Issue.record("not a mapping"); continue }
            var reader = FileReader(format: AWSFileFormat())
            let path = section.isEmpty ? "" : section + (section == "steps" ? "[1]" : "")
            let accepted = reader.fields(mapping, at: path, section: section)
            #expect(Set(accepted.keys) == Set(keys), Comment(rawValue: section))
            let unknown = section.isEmpty ? "not_a_key" : "\(path).not_a_key"
            #expect(reader.issues.map(\.key) == [unknown] && reader.issues.allSatisfy { $0.problem.hasPrefix("unknown key") }, Comment(rawValue: "\(reader.issues)"))
        }
        // A list's index is not part of the section: `steps[2]` reads the keys of `steps`.
        #expect(FileReader.section(of: "traffic.route53.records[3]") == "traffic.route53.records" && FileReader.section(of: "steps[12]") == "steps")
    }
}
