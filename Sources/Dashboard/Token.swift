import Foundation
import SwitchyardCore

/// The bearer token that lets a request act (promote, roll back). Compared in constant time; never printed.
public struct ActionToken: Sendable, CustomStringConvertible, CustomReflectable {
    private let bytes: [UInt8]

    /// Tokens shorter than this are refused when read: a guessable token is no lock.
    public static let minimumLength = 16

    /// The token in a file's first line, trimmed. The error names the file, never the token.
    public init(fileContents: String, path: String) throws {
        let line = fileContents.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !line.isEmpty else { throw ServeError("--token-file \(path) is empty: put the token on its first line") }
        guard line.utf8.count >= Self.minimumLength else {
            throw ServeError("--token-file \(path): the token has \(Spelling.count(line.utf8.count, "character")); give at least \(Self.minimumLength) (e.g. `openssl rand -hex 32 > \(path)`)")
        }
        guard line.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ServeError("--token-file \(path): the token must be printable ASCII without spaces (it travels in an HTTP header)")
        }
        bytes = Array(line.utf8)
    }

    /// Whether an Authorization header carries this token as `Bearer TOKEN`. The comparison takes as long whatever the
    /// first differing byte (and for any length of guess up to the token's).
    public func accepts(authorization header: String?) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        return Self.constantTimeEqual(given, bytes)
    }

    /// Equal bytes, in a time that does not depend on where they first differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        if a.count != b.count { difference |= 1 }
        for i in 0..<b.count {
            difference |= (i < a.count ? a[i] : 0) ^ b[i]
        }
        return difference == 0
    }

    /// Never the token itself.
    public var description: String { "ActionToken(\(bytes.count) bytes)" }

    /// Nor in `dump` or a debugger's view.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
