import Foundation
import SwitchyardCore

extension UserConfig {
    /// The config file's `state:` URL with where it was read, for `StateLocation.resolve`; nil when there is no file
    /// or no `state:` in it.
    static func state(environment: [String: String]) throws -> (value: String, source: String)? {
        let path = defaultPath(environment: environment)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let config = try parse(String(decoding: data, as: UTF8.self), path: path)
        return config.state.map { ($0, "\(path)" + (config.stateLine.map { ":\($0)" } ?? "") + " state:") }
    }
}
