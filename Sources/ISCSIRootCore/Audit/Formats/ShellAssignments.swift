/// `NAME=value` lines of a configuration file that a shell sources (initramfs-tools' conf.d, open-iscsi's
/// iscsi.initramfs): read, never run.
enum ShellAssignments {
    /// The value of the last `NAME=value` line (quotes dropped; a comment line, or what follows the value
    /// after a blank, `;` or `#`, is not part of it); nil when no line sets NAME.
    static func last(_ name: String, in text: String) -> String? {
        var value: String?
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingWhitespace
            guard line.hasPrefix(name + "=") else { continue }
            value = String(line.dropFirst(name.count + 1).prefix { $0 != "#" && $0 != ";" && $0 != " " && $0 != "\t" })
                .filter { $0 != "\"" && $0 != "'" }
        }
        return value
    }
}
