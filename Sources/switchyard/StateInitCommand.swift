import ArgumentParser
import DynamoStateStore
import Foundation
import SQLiteStateStore
import StateStore
import SwitchyardCore

/// `switchyard state init URL`: makes a state store ready before the first release (the DynamoDB table, above all).
struct StateInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the state store: the DynamoDB table (on-demand capacity) and wait until it is active, or a state file.",
        discussion: DocsLocation.localize("""
            URL is dynamodb://TABLE?region=REGION (the region defaults to the AWS chain's: AWS_REGION, the profile) or \
            sqlite:///path/state.db. A DynamoDB table that exists with Switchyard's key schema and indexes is left as it \
            is, so init can run again; one with another schema is an error (exit 1). Waits up to 5 minutes for the table \
            and its indexes to become ACTIVE. The table's design: docs/state-dynamodb.md.
            """))

    @Argument(help: ArgumentHelp("The store to create (a state URL).", valueName: "url")) var url: String

    func validate() throws {
        do { _ = try StateLocation.parse(url, source: "URL") } catch let error as StateLocationError { throw ValidationError(error.description) }
    }

    func run() async throws {
        try await Failure.reporting {
            switch try StateLocation.parse(url, source: "URL") {
            case .sqlite(let path):
                _ = try SQLiteStateStore(path: path)
                Console.out("the state file \(path) is ready")
            case .dynamoDB(let table, let region):
                let store = try StateLocation.openDynamoDB(table: table, region: region)
                let description = try await store.createTable()
                Console.out("the DynamoDB table \(description.name) is ready (\(description.status), \(Spelling.count(description.indexes.count, "index", plural: "indexes"))): \(store.location)")
            }
            return .success
        }
    }
}
