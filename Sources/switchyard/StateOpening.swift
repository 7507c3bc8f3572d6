import AWS
import DynamoStateStore
import Foundation
import Logging
import SQLiteStateStore
import StateStore

/// The one place a state location becomes a store: every command opens its store through here.
extension StateLocation {
    /// Opens the store. `writing` false opens a state file read-only (nothing created, migrated or locked for
    /// writing); a DynamoDB table is read and written through the same client either way.
    func open(writing: Bool) throws -> any StateStore {
        switch self {
        case .sqlite(let path):
            return try SQLiteStateStore(path: path, readOnly: !writing)
        case .dynamoDB(let table, let region):
            return try Self.openDynamoDB(table: table, region: region)
        }
    }

    /// The DynamoDB store, with region, credentials and endpoint (`AWS_ENDPOINT_URL_DYNAMODB`) from the same chain as
    /// every other AWS call; the URL's region wins over the environment's.
    static func openDynamoDB(table: String, region: String?) throws -> DynamoStateStore {
        let environment = ProcessInfo.processInfo.environment
        let transport = CurlTransport.shared
        let configuration = try AWSConfiguration.resolve(environment: environment, region: region,
                                                         homeDirectory: Session.homeDirectory(environment), transport: transport)
        let client = try Session.configured(AWSClient(configuration: configuration, transport: transport, logger: Logger(label: "switchyard.state")))
        return DynamoStateStore(table: table, client: client)
    }
}
