import Foundation
import Testing

/// The request bodies the Azure module writes, kept as files in Tests/AzureTests/Bodies/ (`<model>.<case>.json`, the
/// model as e2e/azure_arm.py names it; a case named `patch-…` is an update, checked as one): each test here holds the body it makes equal to its file, and
/// e2e/test_azure_model.py checks every file against Azure's own SDK model. So a body that changes must change its
/// file, and a file Azure's model refuses fails the suite. `SWITCHYARD_WRITE_BODIES=1` writes the files anew.
enum BodyFixtures {
    static var folder: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Bodies") }

    static func expectMatches(_ body: Data?, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let body = try #require(body, sourceLocation: sourceLocation)
        let file = folder.appendingPathComponent(name)
        let made = try JSONSerialization.jsonObject(with: body)
        if ProcessInfo.processInfo.environment["SWITCHYARD_WRITE_BODIES"] == "1" {
            try JSONSerialization.data(withJSONObject: made, options: [.prettyPrinted, .sortedKeys]).write(to: file)
        }
        let kept = try JSONSerialization.jsonObject(with: try Data(contentsOf: file))
        #expect((made as? NSObject)?.isEqual(kept) == true, "the body differs from \(file.path)", sourceLocation: sourceLocation)
    }
}
