import Foundation
import StateStore
import Testing

@Suite struct StateLocationTests {
    func parse(_ text: String) throws -> StateLocation { try StateLocation.parse(text, source: "--state") }

    func problem(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func sqliteURLsAreAbsoluteWithThreeSlashesAndRelativeWithTwo() throws {
        #expect(try parse("sqlite:///var/lib/switchyard/state.db") == .sqlite(path: "/var/lib/switchyard/state.db"))
        #expect(try parse("sqlite://state.db") == .sqlite(path: "state.db"))
        #expect(try parse("sqlite://./teams/web.db") == .sqlite(path: "./teams/web.db"))
        #expect(try parse("SQLite:///x.db") == .sqlite(path: "/x.db"))
        #expect(StateLocation.sqlite(path: "/x.db").description == "sqlite:///x.db")
        #expect(problem("sqlite://")?.contains("no path after sqlite://") == true)
        #expect(problem("sqlite:///x.db?mode=ro")?.contains("no query") == true)
    }

    @Test func dynamoDBURLsNameATableAndPerhapsARegion() throws {
        #expect(try parse("dynamodb://switchyard-state?region=eu-west-1") == .dynamoDB(table: "switchyard-state", region: "eu-west-1"))
        #expect(try parse("dynamodb://team.state_1") == .dynamoDB(table: "team.state_1", region: nil))
        #expect(StateLocation.dynamoDB(table: "t-1", region: "us-east-1").description == "dynamodb://t-1?region=us-east-1")
        #expect(try parse(String(repeating: "a", count: 255).withPrefix("dynamodb://")) == .dynamoDB(table: String(repeating: "a", count: 255), region: nil))
    }

    @Test func badURLsSayWhereTheyCameFromAndWhatIsWrong() {
        #expect(problem("/var/lib/state.db") == "--state `/var/lib/state.db`: it is not a state URL; give sqlite:///absolute/path.db, "
            + "sqlite://relative/path.db or dynamodb://TABLE?region=REGION")
        #expect(problem("postgres://db/x")?.contains("unknown scheme `postgres://`") == true)
        #expect(problem("dynamodb://")?.contains("no table name") == true)
        #expect(problem("dynamodb://ab")?.contains("has 2 characters; DynamoDB table names have 3 to 255") == true)
        #expect(problem("dynamodb://" + String(repeating: "a", count: 256))?.contains("has 256 characters") == true)
        #expect(problem("dynamodb://team state")?.contains("contains ` `") == true)
        #expect(problem("dynamodb://tëam")?.contains("contains `ë`") == true)
        #expect(problem("dynamodb://team/extra")?.contains("contains `/`") == true)
        #expect(problem("dynamodb://team?regoin=us-east-1")?.contains("unknown parameter `regoin`") == true)
        #expect(problem("dynamodb://team?region=Ireland")?.contains("region `Ireland` is not an AWS region name") == true)
    }

    @Test func flagsBeatTheEnvironmentWhichBeatsTheConfigFileWhichBeatsTheDefault() throws {
        let home = ["HOME": "/h"]
        let config = (value: "dynamodb://from-config", source: "config.yaml:1 state:")
        #expect(try StateLocation.resolve(state: nil, db: nil, environment: home) == .sqlite(path: "/h/.local/state/switchyard/state.db"))
        #expect(try StateLocation.resolve(state: nil, db: nil, environment: home, configState: config) == .dynamoDB(table: "from-config", region: nil))
        var environment = home
        environment["SWITCHYARD_DB"] = "/env.db"
        #expect(try StateLocation.resolve(state: nil, db: nil, environment: environment, configState: config) == .sqlite(path: "/env.db"))
        environment["SWITCHYARD_STATE"] = "sqlite:///env.db"
        #expect(try StateLocation.resolve(state: nil, db: nil, environment: environment) == .sqlite(path: "/env.db"), "they agree")
        environment["SWITCHYARD_DB"] = nil
        environment["SWITCHYARD_STATE"] = "dynamodb://from-env?region=us-east-1"
        #expect(try StateLocation.resolve(state: nil, db: nil, environment: environment) == .dynamoDB(table: "from-env", region: "us-east-1"))
        #expect(try StateLocation.resolve(state: nil, db: "/flag.db", environment: environment) == .sqlite(path: "/flag.db"))
        #expect(try StateLocation.resolve(state: "sqlite://x.db", db: nil, environment: environment) == .sqlite(path: "x.db"))
    }

    @Test func twoPlacesAtOneLevelAreAnErrorNamingBoth() {
        #expect(throws: StateLocationError.self) { try StateLocation.resolve(state: "sqlite:///a.db", db: "/a.db", environment: [:]) }
        let error = #expect(throws: StateLocationError.self) {
            try StateLocation.resolve(state: nil, db: nil, environment: ["SWITCHYARD_STATE": "dynamodb://team", "SWITCHYARD_DB": "/b.db"])
        }
        #expect(error?.description == "SWITCHYARD_STATE `dynamodb://team`: SWITCHYARD_DB=/b.db is set too and names another place; unset one of them")
        let config = #expect(throws: StateLocationError.self) {
            try StateLocation.resolve(state: nil, db: nil, environment: [:], configState: (value: "dynamodb://x", source: "/c/config.yaml:3 state:"))
        }
        #expect(config?.description.hasPrefix("/c/config.yaml:3 state: `dynamodb://x`") == true)
    }
}

private extension String {
    func withPrefix(_ prefix: String) -> String { prefix + self }
}
