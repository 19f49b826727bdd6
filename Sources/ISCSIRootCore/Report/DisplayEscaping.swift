/// The one escaping for text iscsi-rootd does not control (sysfs strings such as target names,
/// mount points, file contents, configuration values, kernel messages) on its way to a terminal,
/// `STATUS=`, standard error or the journal's MESSAGE: nothing in it can move the cursor, clear
/// the screen, set a window title, reorder text or start a new line.
///
/// `\` becomes `\\`; line feed, carriage return and tab `\n`, `\r`, `\t`; every other C0 control
/// and DEL `\xNN`; C1 controls, line and paragraph separators and the bidirectional overrides and
/// isolates `\u{NNNN}`. Everything else, printable Unicode included, stays as it is, so the
/// result reads back unambiguously (`LogLine.parse` does).
extension StringProtocol {
    public var escapedForDisplay: String {
        guard unicodeScalars.contains(where: { $0 == "\\" || Self.needsEscape($0) }) else { return String(self) }
        var out = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + Self.hex(scalar.value, digits: 2)
            case _ where Self.needsEscape(scalar):
                out += "\\u{" + Self.hex(scalar.value, digits: 4) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
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
