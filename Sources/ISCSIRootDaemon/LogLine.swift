import ISCSIRootCore

/// One log entry as a line of text: what `JournalLogHandler` writes to stderr when there is no
/// journal, and what tests parse back.
///
/// The format, one entry per line:
///
///     <PRIORITY>MESSAGE<TAB>[NAME=VALUE NAME=VALUE …]
///
/// - `PRIORITY` is the syslog priority digit 0–7 (3 error, 4 warning, 5 notice, 6 info, 7 debug),
///   the prefix systemd itself understands on a service's stderr.
/// - `MESSAGE` is the text escaped by `escapedForDisplay` (`\` written `\\`, line feed `\n`,
///   carriage return `\r`, tab `\t`, other controls `\xNN` or `\u{NNNN}`: no raw control byte
///   reaches a terminal) and nothing else: it reads as the journal's MESSAGE and `status` write it
///   (`/, [swap] at risk`). That escaping leaves no raw tab in it, so the first tab of the line
///   opens the field list; a ` [` of the text needs no escape of its own.
/// - The tab and the field list are left out when there are no fields. Fields are sorted by name; names are
///   journal field names (`[A-Z0-9_]`, see `JournalLogHandler.fieldName`). A value is written
///   bare when it is not empty, has no space, `"`, `[` or `]` and nothing `escapedForDisplay`
///   changes; otherwise in double quotes, escaped the same way, with `"` written `\"`.
///
/// Example (a tab before the `[`): `<2>/, [swap] at risk	[ISCSI_SESSION=session1 MESSAGE_ID=6ca7… TARGET="iqn x"]`
public struct LogLine: Sendable, Hashable {
    /// The syslog priority, 0 (emergency) to 7 (debug).
    public var priority: Int
    public var message: String
    /// Journal field names to values.
    public var fields: [String: String]

    public init(priority: Int, message: String, fields: [String: String] = [:]) {
        precondition((0...7).contains(priority), "syslog priorities are 0 to 7")
        self.priority = priority
        self.message = message
        self.fields = fields
    }

    /// The line in the documented format, without a trailing line feed.
    public var formatted: String {
        let line = "<\(priority)>" + message.escapedForDisplay
        if fields.isEmpty { return line }
        let rendered = fields.sorted { $0.key < $1.key }.map { name, value in
            "\(name)=\(Self.render(value: value))"
        }
        return line + "\t[" + rendered.joined(separator: " ") + "]"
    }

    private static let characterNeedingQuotes: Set<Unicode.Scalar> = [" ", "\"", "[", "]"]

    private static func render(value: String) -> String {
        let escaped = value.escapedForDisplay
        if !value.isEmpty && escaped == value && !value.unicodeScalars.contains(where: characterNeedingQuotes.contains) {
            return value
        }
        var quoted = "\""
        for scalar in escaped.unicodeScalars {
            if scalar == "\"" { quoted += "\\\"" } else { quoted.unicodeScalars.append(scalar) }
        }
        return quoted + "\""
    }

    /// Reads a line in the documented format (one trailing line feed is allowed).
    public static func parse(_ line: some StringProtocol) throws(LogLineParseError) -> LogLine {
        var reader = Reader(Array(line.unicodeScalars))
        if reader.scalars.last == "\n" { reader.scalars.removeLast() }

        guard reader.take() == "<", let digit = reader.take(), let priority = Int(String(digit)),
              (0...7).contains(priority), reader.take() == ">"
        else { throw LogLineParseError(reason: "no <0>…<7> priority prefix", offset: 0) }

        var message = ""
        var hasFields = false
        while let scalar = reader.take() {
            if scalar == "\\" {
                let escapeOffset = reader.offset - 1
                guard let scalar = reader.displayEscape() else {
                    throw LogLineParseError(reason: "unknown escape in the message", offset: escapeOffset)
                }
                message.unicodeScalars.append(scalar)
            } else if scalar == "\t" {
                guard reader.take() == "[" else {
                    throw LogLineParseError(reason: "a tab opens the field list: [ must follow", offset: reader.offset - 1)
                }
                hasFields = true
                break
            } else {
                message.unicodeScalars.append(scalar)
            }
        }

        var fields: [String: String] = [:]
        while hasFields {
            let nameOffset = reader.offset
            var name = ""
            var sawEquals = false
            while let scalar = reader.take() {
                if scalar == "=" {
                    sawEquals = true
                    break
                }
                guard JournalLogHandler.isFieldNameCharacter(scalar) else {
                    throw LogLineParseError(reason: "field names are A-Z, 0-9 and _", offset: reader.offset - 1)
                }
                name.unicodeScalars.append(scalar)
            }
            guard !name.isEmpty, sawEquals else {
                throw LogLineParseError(reason: "a field needs NAME=VALUE", offset: nameOffset)
            }
            fields[name] = try reader.peek() == "\"" ? reader.quotedValue() : reader.bareValue()
            switch reader.take() {
            case " ": continue
            case "]":
                guard reader.isAtEnd else {
                    throw LogLineParseError(reason: "text after the field list", offset: reader.offset)
                }
                hasFields = false
            default:
                throw LogLineParseError(reason: "the field list does not end with ]", offset: reader.offset)
            }
        }
        return LogLine(priority: priority, message: message, fields: fields)
    }

    private struct Reader {
        var scalars: [Unicode.Scalar]
        var offset = 0

        init(_ scalars: [Unicode.Scalar]) {
            self.scalars = scalars
        }

        var isAtEnd: Bool { offset >= scalars.count }

        func peek() -> Unicode.Scalar? {
            isAtEnd ? nil : scalars[offset]
        }

        mutating func take() -> Unicode.Scalar? {
            guard let scalar = peek() else { return nil }
            offset += 1
            return scalar
        }

        /// After a `\`: one escape of `escapedForDisplay` (`\\`, `\n`, `\r`, `\t`, `\xNN`,
        /// `\u{NNNN}`), as the scalar it stands for; nil when it is none of them.
        mutating func displayEscape() -> Unicode.Scalar? {
            switch take() {
            case "\\": return "\\"
            case "n": return "\n"
            case "r": return "\r"
            case "t": return "\t"
            case "x":
                guard offset + 2 <= scalars.count,
                      let value = UInt8(String(String.UnicodeScalarView(scalars[offset..<offset + 2])), radix: 16)
                else { return nil }
                offset += 2
                return Unicode.Scalar(value)
            case "u":
                guard take() == "{", let end = scalars[offset...].firstIndex(of: "}"),
                      let value = UInt32(String(String.UnicodeScalarView(scalars[offset..<end])), radix: 16)
                else { return nil }
                offset = end + 1
                return Unicode.Scalar(value)
            default:
                return nil
            }
        }

        mutating func bareValue() throws(LogLineParseError) -> String {
            var value = ""
            while let scalar = peek(), scalar != " ", scalar != "]" {
                value.unicodeScalars.append(scalar)
                offset += 1
            }
            if value.isEmpty { throw LogLineParseError(reason: "an empty value must be quoted", offset: offset) }
            return value
        }

        mutating func quotedValue() throws(LogLineParseError) -> String {
            let start = offset
            offset += 1
            var value = ""
            while let scalar = take() {
                switch scalar {
                case "\"":
                    return value
                case "\\":
                    if peek() == "\"" {
                        offset += 1
                        value += "\""
                    } else if let scalar = displayEscape() {
                        value.unicodeScalars.append(scalar)
                    } else {
                        throw LogLineParseError(reason: "unknown escape in a quoted value", offset: offset - 1)
                    }
                default:
                    value.unicodeScalars.append(scalar)
                }
            }
            throw LogLineParseError(reason: "unterminated quoted value", offset: start)
        }
    }
}

/// A line that is not in `LogLine`'s format: what is wrong, and where (in Unicode scalars).
public struct LogLineParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String
    public let offset: Int

    public var description: String {
        "not a log line: \(reason) (at character \(offset))"
    }
}
