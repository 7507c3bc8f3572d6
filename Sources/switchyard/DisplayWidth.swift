/// How many terminal columns text takes, as wcwidth(3) counts them: East Asian Wide and Fullwidth characters and
/// emoji shown as emoji take two, combining marks and format characters none, everything else one. The panel cuts
/// its lines by this, not by characters: a line of CJK text or emoji (a hook's name, a check's evidence) counted as
/// one column a character would wrap, and the redraw could then not erase it.
enum DisplayWidth {
    /// The columns of a string without escape sequences.
    static func of(_ text: String) -> Int { text.reduce(0) { $0 + of($1) } }

    /// The columns of one character (a grapheme cluster): its scalars' columns added, as a terminal that knows no
    /// clusters places them (and as wcswidth counts them).
    static func of(_ character: Character) -> Int { character.unicodeScalars.reduce(0) { $0 + of($1) } }

    static func of(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value == 0 { return 0 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if scalar.properties.isEmojiPresentation { return 2 }
        return wide.contains { $0.contains(value) } ? 2 : 1
    }

    /// East Asian Wide (W) and Fullwidth (F) blocks of Unicode's EastAsianWidth.txt, coarsely: Hangul Jamo, CJK
    /// radicals to Yi, Hangul syllables, CJK compatibility ideographs, vertical and small forms, fullwidth forms,
    /// the emoji blocks, and the supplementary ideographic planes.
    private static let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
        0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
        0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD,
        0x30000...0x3FFFD,
    ]
}
