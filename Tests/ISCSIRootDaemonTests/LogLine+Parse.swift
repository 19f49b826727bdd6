@testable import ISCSIRootDaemon

/// Reading `LogLine`'s format back: the tests parse what the daemon writes to stderr. Test support only:
/// the daemon writes lines, it never reads one.
extension LogLine {
    /// Reads a line in the documented format (one trailing line feed is allowed).
    static func parse(_ line: some StringProtocol) throws(LogLineParseError) -> LogLine {
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
    }}

/// A line that is not in `LogLine`'s format: what is wrong, and where (in Unicode scalars).
struct LogLineParseError: Error, Sendable, Hashable, CustomStringConvertible {
    let reason: String
    let offset: Int

    var description: String {
        "not a log line: \(reason) (at character \(offset))"
    }
}
