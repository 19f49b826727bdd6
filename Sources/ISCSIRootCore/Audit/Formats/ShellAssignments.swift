/// `NAME=value` lines of a configuration file that a shell sources (initramfs-tools' conf.d, open-iscsi's
/// iscsi.initramfs, mkinitcpio's presets): read, never run.
enum ShellAssignments {
    /// The value of the last `NAME=value` line, unquoted as the shell would: `'…'` literally, `"…"` with
    /// `\"`, `\\`, `\$` and `` \` `` unescaped, and outside quotes up to the first blank or `;` (a `#` inside the
    /// word is part of it: a comment starts only at a word's start). Nil when no line sets NAME.
    static func last(_ name: String, in text: String) -> String? {
        var value: String?
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingWhitespace
            guard line.hasPrefix(name + "=") else { continue }
            value = word(line.dropFirst(name.count + 1))
        }
        return value
    }

    /// The shell word at the start of `text`, its quotes removed.
    static func word(_ text: Substring) -> String {
        var result = ""
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                // Inside double quotes a backslash escapes only these; elsewhere it keeps itself.
                if quote == "\"" && !"\"\\$`".contains(character) { result.append("\\") }
                result.append(character)
                escaped = false
                continue
            }
            switch (quote, character) {
            case ("'", "'"), ("\"", "\""): quote = nil
            case ("'", _): result.append(character)
            case ("\"", "\\"), (nil, "\\"): escaped = true
            case ("\"", _): result.append(character)
            case (nil, "'"), (nil, "\""): quote = character
            case (nil, " "), (nil, "\t"), (nil, ";"): return result
            default: result.append(character)
            }
        }
        return result
    }
}
