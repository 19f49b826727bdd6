/// Substring search without Foundation and without the standard library's `_StringProcessing`
/// module (whose regex engine and Unicode name tables the daemon would otherwise link and lock:
/// ISCSIRootCore is compiled without its implicit import, see Package.swift).
extension StringProtocol {
    /// The first occurrence of `other`, or nil (also for an empty `other`).
    func range(of other: some StringProtocol) -> Range<Index>? {
        guard let head = other.first else { return nil }
        var start = startIndex
        while let first = self[start...].firstIndex(of: head) {
            if self[first...].starts(with: other) {
                return first..<index(first, offsetBy: other.count)
            }
            start = index(after: first)
        }
        return nil
    }

    /// Whether `other` occurs in this text (named apart from `_StringProcessing`'s `contains(_:)`,
    /// which tests and the command line still import).
    func contains(text other: some StringProtocol) -> Bool {
        range(of: other) != nil
    }
}
