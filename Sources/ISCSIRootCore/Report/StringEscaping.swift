/// The one escaping for text iscsi-rootd does not control (sysfs strings such as target names,
/// mount points, file contents, configuration values, kernel messages) on its way to a terminal,
/// `STATUS=`, standard error or the journal's MESSAGE: nothing in it can move the cursor, clear
/// the screen, set a window title, reorder text or start a new line.
///
/// `\` becomes `\\`; line feed, carriage return and tab `\n`, `\r`, `\t`; every other C0 control
/// and DEL `\xNN`; C1 controls, line and paragraph separators and the bidirectional overrides and
/// isolates `\u{NNNN}`. Everything else, printable Unicode included, stays as it is, so the
/// result reads back unambiguously (the tests' `LogLine.parse` does).
///
/// Beside it, the kernel's octal escaping of paths (`escapedOctal`); both go through one escaper.
extension StringProtocol {
    public var escapedForDisplay: String {
        escaped { scalar in
            switch scalar {
            case "\\": "\\\\"
            case "\n": "\\n"
            case "\r": "\\r"
            case "\t": "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: "\\x" + Self.hex(scalar.value, digits: 2)
            case _ where Self.needsEscape(scalar): "\\u{" + Self.hex(scalar.value, digits: 4) + "}"
            default: nil
            }
        }
    }

    /// Space, tab, line feed and backslash as the kernel writes them in paths in mountinfo and
    /// swaps (`\040`, `\011`, `\012`, `\134`: the kernel's `seq_escape`): what `unescapeOctal`
    /// decodes.
    public var escapedOctal: String {
        escaped { scalar in
            switch scalar {
            case " ": "\\040"
            case "\t": "\\011"
            case "\n": "\\012"
            case "\\": "\\134"
            default: nil
            }
        }
    }

    /// The one escaper both use: each scalar `replacement` has a text for becomes that text, the
    /// rest stays; a string with nothing to replace is returned as it is.
    func escaped(_ replacement: (Unicode.Scalar) -> String?) -> String {
        guard unicodeScalars.contains(where: { replacement($0) != nil }) else { return String(self) }
        var out = ""
        for scalar in unicodeScalars {
            if let text = replacement(scalar) { out += text } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// Controls and the invisible characters that change how a terminal shows the text after them.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F, 0x80...0x9F: true
        case 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: false)
        return String(repeating: "0", count: Swift.max(0, digits - text.count)) + text
    }
}
