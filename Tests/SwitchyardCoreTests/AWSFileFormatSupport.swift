import AWSProvider
import SwitchyardCore

/// The file tests here read AWS's deployment files: the core's sections with AWS's part (`AWSFileFormat`), as the CLI
/// reads them. `ProviderFileFormatTests` reads the core's sections with another cloud's.
extension DeploymentFile {
    static func parseAWS(_ text: String, path: String) throws -> DeploymentSpec {
        try parse(text, path: path, format: AWSFileFormat())
    }
}

extension FileIssue {
    /// The reference section of a key in an AWS file.
    static func reference(for key: String) -> String { FileSchema(adding: AWSFileFormat()).reference(for: key) }
}
