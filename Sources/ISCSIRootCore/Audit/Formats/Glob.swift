/// fnmatch-style globs (`*`, `?`, `[...]`) as systemd's match lists use them.
enum Glob {
    /// A systemd match list: `!` before the first word negates the whole list.
    static func matchesList(_ words: [String], _ name: String) -> Bool {
        guard let first = words.first else { return true }
        if first.hasPrefix("!") {
            let patterns = [String(first.dropFirst())] + words.dropFirst()
            return !patterns.contains { matches($0, name) }
        }
        return words.contains { matches($0, name) }
    }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        matches(Array(pattern), 0, Array(name), 0)
    }

    private static func matches(_ pattern: [Character], _ p: Int, _ name: [Character], _ n: Int) -> Bool {
        if p == pattern.count { return n == name.count }
        switch pattern[p] {
        case "*":
            return (n...name.count).contains { matches(pattern, p + 1, name, $0) }
        case "?":
            return n < name.count && matches(pattern, p + 1, name, n + 1)
        case "[":
            guard n < name.count, let close = pattern[(p + 1)...].firstIndex(of: "]") else { break }
            var set = Array(pattern[(p + 1)..<close])
            let negated = set.first == "!" || set.first == "^"
            if negated { set.removeFirst() }
            var found = false
            var index = 0
            while index < set.count {
                if index + 2 < set.count && set[index + 1] == "-" {
                    if set[index] <= name[n] && name[n] <= set[index + 2] { found = true }
                    index += 3
                } else {
                    if set[index] == name[n] { found = true }
                    index += 1
                }
            }
            return found != negated && matches(pattern, close + 1, name, n + 1)
        default:
            break
        }
        return n < name.count && pattern[p] == name[n] && matches(pattern, p + 1, name, n + 1)
    }
}
