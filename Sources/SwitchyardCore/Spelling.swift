/// "Did you mean …?" for a word that is not one of the known ones: a mistyped key, state, command or option.
public enum Spelling {
    /// The candidate nearest to `word`, if it is at most `within` edits away (a swap of two neighbours is one edit,
    /// so `statsu` is nearer `status` than `state`). The earliest candidate wins a tie.
    public static func closest(_ word: String, in candidates: [String], within: Int = 2) -> String? {
        candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= within }.min { $0.1 < $1.1 }?.0
    }

    /// The optimal string alignment distance: insertions, deletions, substitutions and transpositions of neighbours.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}

extension Spelling {
    /// `1 deployment`, `2 deployments`, `0 pending requests`: a count and its noun, singular only for one.
    public static func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
        "\(n) \(n == 1 ? noun : plural ?? noun + "s")"
    }
}
