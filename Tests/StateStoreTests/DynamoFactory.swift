import AWS
import DynamoStateStore
import Foundation
import Logging
import StateStore
import SigV4

extension StoreFactories {
    /// DynamoDB on the moto server at `SWITCHYARD_MOTO_URL`, a fresh table per pair; nil (the suite runs on SQLite
    /// alone) when the variable is unset, as in `swift test` before scripts/test starts moto.
    static var dynamoDB: StoreFactory? {
        guard let url = ProcessInfo.processInfo.environment["SWITCHYARD_MOTO_URL"].flatMap(URL.init(string:)) else { return nil }
        return StoreFactory(description: "dynamodb") {
            let configuration = AWSConfiguration(region: "us-east-1", credentials: SigV4Credentials(accessKeyId: "testing", secretAccessKey: "testing"),
                                                 endpoints: [.dynamoDB: url])
            let client = AWSClient(configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let table = "conformance-" + UUID().uuidString.lowercased().prefix(12)
            let store = DynamoStateStore(table: table, client: client)
            try store.ensureTable()
            return (store, DynamoStateStore(table: table, client: client))
        }
    }
}
