/// A plain-text table for terminal reports.
enum TextTable {
    /// Left-aligned columns separated by two spaces (or `separator`).
    static func columns(_ rows: [[String]], separator: String = "  ") -> [String] {
        guard let width = rows.first?.count else { return [] }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: separator)
        }
    }
}
