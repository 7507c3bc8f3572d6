import Foundation
import Testing

/// The layering the README's "Inside" draws, read from the sources: SwiftPM lets a target import a module of the same
/// package it does not declare once that module is built, so Package.swift alone does not keep a layer from reaching
/// past its seam. Each target here may import only what it lists.
@Suite struct LayeringTests {
    static let platform: Set<String> = ["Foundation", "Glibc", "Darwin"]
    static let allowed: [String: Set<String>] = [
        "SwitchyardCore": ["Yams"],
        "StateStore": ["SwitchyardCore"],
        "HTTP": ["CCurl"],
        "SigV4": [],
        // Azure's wire formats know no AWS and no orchestration: the one transport only.
        "Azure": ["HTTP"],
        // Azure's provider: the orchestrator's seams, the probe and Azure's wire module, no AWS.
        "AzureProvider": ["Azure", "Logging", "Orchestrator", "Probes", "StateStore", "SwitchyardCore", "Yams"],
        "Probes": ["HTTP", "SwitchyardCore"],
        // Provider-neutral: no cloud's module, no store's.
        "Orchestrator": ["HTTP", "Logging", "Probes", "StateStore", "SwitchyardCore"],
        "Dashboard": ["StateStore", "SwitchyardCore"],
    ]

    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
    }

    /// Every module a target's Swift files import, with the first file that imports it.
    static func imports(of target: String) throws -> [String: String] {
        let root = sources.appendingPathComponent(target)
        var found: [String: String] = [:]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                guard let at = words.firstIndex(of: "import"), words[..<at].allSatisfy({ $0.hasPrefix("@") }), at + 1 < words.count else { continue }
                // `import struct Foundation.Date`: the module is the word after the declaration's kind.
                let kinds: Set<String> = ["struct", "class", "enum", "protocol", "typealias", "func", "let", "var"]
                let named = kinds.contains(words[at + 1]) && at + 2 < words.count ? words[at + 2] : words[at + 1]
                let module = String(named.split(separator: ".").first ?? "")
                if found[module] == nil { found[module] = file.path.replacingOccurrences(of: root.path + "/", with: "\(target)/") }
            }
        }
        return found
    }

    @Test(arguments: allowed.keys.sorted())
    func aTargetImportsOnlyWhatItsLayerMay(_ target: String) throws {
        let imported = try Self.imports(of: target)
        #expect(!imported.isEmpty, "no Swift file read under Sources/\(target)")
        for (module, file) in imported.sorted(by: { $0.key < $1.key }) where !Self.platform.contains(module) {
            #expect(Self.allowed[target]!.contains(module), "\(file) imports \(module), which \(target) may not")
        }
    }

    /// The CLI is thin: only its composition root (`SessionAWS.swift`, which builds the providers and lists the file
    /// formats) and the DynamoDB store's opening (`StateOpening.swift`) name a cloud's module; every command speaks
    /// to the seams (`ReleaseProvider`, its `PlanPresenter`, the store protocol).
    @Test func onlyTheCLIsCompositionRootImportsACloud() throws {
        let clouds: Set<String> = ["AWS", "AWSProvider", "Azure", "AzureProvider"]
        let root = Self.sources.appendingPathComponent("switchyard")
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 20)
        var importing: Set<String> = []
        for file in files {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                if let at = words.firstIndex(of: "import"), at + 1 < words.count, words[..<at].allSatisfy({ $0.hasPrefix("@") }),
                   clouds.contains(words[at + 1]) { importing.insert(file) }
            }
        }
        #expect(importing == ["SessionAWS.swift", "StateOpening.swift"], "\(importing.sorted())")
    }

    @Test func theReaderSeesAnImportPastTheSeam() throws {
        // The AWS provider does import AWS: the same reader finds it there, so an empty answer above is not a blind one.
        #expect(try Self.imports(of: "AWSProvider")["AWS"] != nil)
        #expect(try Self.imports(of: "AWSProvider")["Orchestrator"] != nil)
    }
}
