import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small XML tree: enough to read AWS responses. Namespaces are ignored.
public struct XMLNode: Sendable, Hashable {
    public var name: String
    public var text: String
    public var children: [XMLNode]

    public init(name: String, text: String = "", children: [XMLNode] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// The first child with this name.
    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// Every child with this name.
    public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// The node at a slash-separated path of child names.
    public func node(_ path: String) -> XMLNode? {
        var node: XMLNode? = self
        for part in path.split(separator: "/") { node = node?.child(String(part)) }
        return node
    }

    /// The text at a path, or nil when the path is absent.
    public func value(_ path: String) -> String? { node(path)?.text }

    /// The nodes of the last path component under the path before it: `all("Groups/member")`.
    public func all(_ path: String) -> [XMLNode] {
        let parts = path.split(separator: "/").map(String.init)
        guard let last = parts.last else { return [] }
        let parent = parts.dropLast().isEmpty ? self : node(parts.dropLast().joined(separator: "/"))
        return parent?.children(last) ?? []
    }

    /// An integer at a path.
    public func int(_ path: String) -> Int? { value(path).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    /// A boolean at a path (`true`/`false`).
    public func bool(_ path: String) -> Bool? { value(path).map { $0.trimmingCharacters(in: .whitespaces).lowercased() == "true" } }

    /// Parses a document; nil when it is not well-formed XML.
    public static func parse(_ data: Data) -> XMLNode? {
        let builder = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = false
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLNode] = []
    var root: XMLNode?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLNode(name: local))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard var node = stack.popLast() else { return }
        node.text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
    }
}
