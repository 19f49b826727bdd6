/// One line of fstab(5): what, where, type, options.
struct FstabEntry: Sendable, Hashable {
    let source: String
    let mountPoint: String
    let fileSystem: String
    let options: [String]
    /// The sixth field, fsck's pass number (0 or missing: never checked).
    let passNumber: Int

    /// Parses /etc/fstab; comments, blank and short lines are skipped. A space, tab or backslash
    /// within a field is written as an octal escape (`\040`), as in mountinfo, and decoded.
    static func parse(_ text: String) -> [FstabEntry] {
        text.textLines.compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, !fields[0].hasPrefix("#") else { return nil }
            let options = fields.count > 3 ? fields[3].split(separator: ",").map(unescapeOctal) : ["defaults"]
            return FstabEntry(source: unescapeOctal(fields[0]), mountPoint: unescapeOctal(fields[1]),
                              fileSystem: unescapeOctal(fields[2]), options: options,
                              passNumber: fields.count > 5 ? Int(bounded: fields[5], in: 0...Int(Int32.max)) ?? 0 : 0)
        }
    }
}
