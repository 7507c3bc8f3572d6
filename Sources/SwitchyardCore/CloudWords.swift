import Foundation

/// How a cloud's things are called in the core's messages: the core knows no cloud by name, so a sentence about
/// green's pool or blue's template asks the release's cloud for its words. Each provider registers its own
/// (`CloudWords.register`); a cloud nobody registered is spoken of in neutral words.
public struct CloudWords: Sendable, Hashable {
    /// The cloud's id, as a file's `provider:` names it (`aws`).
    public var id: String
    /// Its name in sentences ("AWS", "Azure").
    public var name: String
    /// Where a fleet receives traffic ("target group").
    public var pool: String
    /// What a fleet's instances are launched from, with versions ("launch template").
    public var template: String
    /// What a release ships ("AMI", "image").
    public var image: String
    /// The names a hook's variables go by in this cloud, by the neutral names `Hook.environment` sets: AWS's hooks get
    /// `SWITCHYARD_AMI` for `SWITCHYARD_IMAGE`, and so on. A variable not listed keeps its neutral name.
    public var hookNames: [String: String]
    /// Whether the template has numbered versions (AWS's launch templates do; a scale set's model does not): messages
    /// name green's template by its version only when it has one.
    public var versionedTemplates: Bool

    public init(id: String, name: String, pool: String, template: String, image: String, hookNames: [String: String] = [:],
                versionedTemplates: Bool = true) {
        self.versionedTemplates = versionedTemplates
        self.hookNames = hookNames
        self.id = id
        self.name = name
        self.pool = pool
        self.template = template
        self.image = image
    }

    private static let table = Registry<String, CloudWords>()

    public static func register(_ words: CloudWords) { table.register(words, as: words.id) }

    /// The words of the cloud `id` names; neutral ones when no provider registered it.
    public static func of(_ id: String) -> CloudWords {
        table[id] ?? CloudWords(id: id, name: "the cloud", pool: "pool", template: "template", image: "image")
    }
}

extension DeploymentSpec {
    /// The words of the cloud this release runs in (`provider:`; the default's when the file names none).
    public var cloud: CloudWords { CloudWords.of(provider ?? ProviderFormats.defaultName) }
}
