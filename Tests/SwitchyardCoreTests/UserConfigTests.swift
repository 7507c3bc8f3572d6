import Foundation
import SwitchyardCore
import Testing

@Suite struct UserConfigTests {
    @Test func readsTheStateURLAndItsLine() throws {
        let config = try UserConfig.parse("# the team's state\nstate: dynamodb://team?region=eu-west-1\n", path: "/c.yaml")
        #expect(config.state == "dynamodb://team?region=eu-west-1")
        #expect(config.stateLine == 2)
        #expect(try UserConfig.parse("", path: "/c.yaml").state == nil)
    }

    @Test func anUnknownKeyOrABadValueNamesTheFileAndLine() {
        let unknown = #expect(throws: UserConfigError.self) { try UserConfig.parse("state: sqlite:///x.db\nstat: y\n", path: "/c.yaml") }
        #expect(unknown?.description == "/c.yaml:2: unknown key `stat`; the keys are state")
        #expect(throws: UserConfigError.self) { try UserConfig.parse("state:\n  - a\n", path: "/c.yaml") }
        #expect(throws: UserConfigError.self) { try UserConfig.parse("- state\n", path: "/c.yaml") }
        #expect(throws: UserConfigError.self) { try UserConfig.parse("state: [\n", path: "/c.yaml") }
    }

    @Test func theFileFollowsXDGConfigHome() {
        #expect(UserConfig.defaultPath(environment: ["XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/x/switchyard/config.yaml")
        #expect(UserConfig.defaultPath(environment: ["HOME": "/h"]) == "/h/.config/switchyard/config.yaml")
    }
}
