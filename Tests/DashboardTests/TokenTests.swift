import Dashboard
import Testing

@Suite struct TokenTests {
    let secret = "s3cret-token-0123456789"

    @Test func acceptsOnlyTheBearerToken() throws {
        let token = try ActionToken(fileContents: secret + "\n# comment\n", path: "/t")
        #expect(token.accepts(authorization: "Bearer \(secret)"))
        #expect(token.accepts(authorization: "bearer \(secret)"))
        for header in [nil, "", "Bearer", "Bearer ", "Basic \(secret)", "Bearer \(secret)x", "Bearer \(secret.dropLast())",
                       "Bearer " + secret.uppercased(), "Bearer x\(secret.dropFirst())", secret] {
            #expect(!token.accepts(authorization: header), "\(header ?? "nil")")
        }
    }

    @Test func constantTimeEqualityIsEquality() {
        #expect(ActionToken.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!ActionToken.constantTimeEqual([1, 2], [1, 2, 3]))
        #expect(!ActionToken.constantTimeEqual([1, 2, 3, 0], [1, 2, 3]))
        #expect(!ActionToken.constantTimeEqual([], [1]))
        // 256 bytes longer: a length compared in 8 bits alone would wrap to equal.
        #expect(!ActionToken.constantTimeEqual([1, 2, 3] + [UInt8](repeating: 0, count: 256), [1, 2, 3]))
    }

    @Test func refusesEmptyShortOrSpacedTokensWithoutSayingThem() {
        for contents in ["", "\n\n", "short", "has a space in the middle!"] {
            do {
                _ = try ActionToken(fileContents: contents, path: "/etc/token")
                Issue.record("accepted \(contents)")
            } catch {
                let text = String(describing: error)
                #expect(text.contains("/etc/token"))
                if !contents.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { #expect(!text.contains(contents)) }
            }
        }
    }

    @Test func itsDescriptionHidesTheToken() throws {
        let token = try ActionToken(fileContents: secret, path: "/t")
        #expect(!String(describing: token).contains(secret))
        #expect(!String(reflecting: token).contains(secret))
    }
}
