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
}
