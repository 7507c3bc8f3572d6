@testable import SwitchyardCore
import Testing

@Suite struct FileProblemListTests {
    @Test func aKnownKeyInTheWrongSectionNamesWhereItBelongs() {
        let found = issues(file(extra: "listener_arn: \(listener)\nchecks:\n  url: http://127.0.0.1/\n  timeout: 1s\n"))
        #expect(found.map(\.problem).contains("unknown key: did you mean `traffic.listener_arn`?"))
        // Inside `checks`, `url` and `timeout` belong to `checks.http` (not to notify.webhooks or notify).
        #expect(found.map(\.problem).contains("unknown key: did you mean `checks.http.url`?"))
        #expect(found.map(\.problem).contains("unknown key: did you mean `checks.http.timeout`?"))
    }

    @Test func eachProblemLinksTheReferenceSectionOfItsKey() {
        #expect(FileIssue.reference(for: "checks.alarms") == "docs/deployment-file.md#checks-alarms")
        #expect(FileIssue.reference(for: "steps[2].weight") == "docs/deployment-file.md#steps-weight")
        #expect(FileIssue.reference(for: "notify.webhooks[1].url") == "docs/deployment-file.md#notify-webhooks-url")
        #expect(FileIssue.reference(for: "checks.intervall") == "docs/deployment-file.md#checks")
        #expect(FileIssue.reference(for: "listener_arn") == "docs/deployment-file.md#traffic-listener_arn")
        #expect(FileIssue.reference(for: "colour") == "docs/deployment-file.md")
    }

    @Test func fiftyProblemsAreListedAndTheRestCounted() {
        let error = DeploymentFileError(path: "web.yaml", issues: (1...120).map { (n: Int) in FileIssue(line: n, key: "k\(n)", problem: "unknown key") })
        let lines = error.description.split(separator: "\n")
        #expect(lines.first == "web.yaml is not a valid deployment file (120 problems):")
        #expect(lines.count == 1 + 50 + 1)
        #expect(lines.last == "  and 70 more")
    }

    @Test func aFileOverOneMegabyteIsRefusedBeforeItIsParsed() {
        let huge = String(repeating: "# padding\n", count: 110_000)
        #expect(issues(huge).map(\.problem) == ["the file is 1100000 bytes; a deployment file is at most 1048576 bytes (1 MB), so this is not one"])
    }
}
