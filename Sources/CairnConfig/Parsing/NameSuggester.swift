/// Finds the known name closest to a misspelt one, for "did you mean" hints.
enum NameSuggester {
    /// The known name within a small edit distance of `name` (2, or 3 for names of 10 or more
    /// characters), the closest first; `nil` when none is close.
    static func closest(to name: String, among known: [String]) -> String? {
        let typed = Array(name.utf8)
        // Bounded work: config names are short; longer words get no suggestion.
        guard typed.count <= lengthMax else {
            return nil
        }
        let allowed = typed.count >= 10 ? 3 : 2
        var best: (name: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(typed, Array(candidate.utf8))
            if distance <= allowed, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.name
    }

    // MARK: Private

    /// Longest name compared.
    private static let lengthMax = 64

    /// Levenshtein distance between two byte strings (one row of the table at a time).
    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else {
            return b.count
        }
        guard !b.isEmpty else {
            return a.count
        }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
