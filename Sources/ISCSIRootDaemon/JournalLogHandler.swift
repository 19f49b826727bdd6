import CSystemd
import Glibc
import ISCSIRootCore

/// Where `JournalLogHandler` sends entries.
public enum LogDestination: Sendable, Hashable {
    /// Structured entries through `sd_journal_sendv`.
    case journal
    /// One `LogLine` per line on stderr.
    case stderr

    /// The journal when its socket exists (`/run/systemd/journal/socket`), stderr otherwise.
    public static func automatic(journalSocket: String = "/run/systemd/journal/socket") -> LogDestination {
        access(journalSocket, F_OK) == 0 ? .journal : .stderr
    }
}

/// Writes each `Logger` entry as one structured journal entry: `MESSAGE`, `PRIORITY`,
/// `SYSLOG_IDENTIFIER`, and every field under its journal field name (see `fieldName`), so
/// `journalctl ISCSI_SESSION=session1` and `journalctl MESSAGE_ID=…` work. On stderr the same
/// entry is one `LogLine` (without `SYSLOG_IDENTIFIER`).
public struct JournalLogHandler: Sendable {
    public let identifier: String
    public let destination: LogDestination

    public init(identifier: String = "iscsi-rootd", destination: LogDestination = .automatic()) {
        self.identifier = identifier
        self.destination = destination
    }

    /// Writes `entry`, its fields renamed by `fieldName`.
    public func log(_ entry: LogLine) {
        let line = journalLine(for: entry)
        switch destination {
        case .journal:
            // An entry the journal refused (journald restarting, …) still gets out.
            if !Self.sendToJournal(line, identifier: identifier) { Self.writeToStandardError(line) }
        case .stderr:
            Self.writeToStandardError(line)
        }
    }

    /// `entry` with its field names made journal field names.
    func journalLine(for entry: LogLine) -> LogLine {
        var fields: [String: String] = [:]
        for (key, value) in entry.fields {
            fields[Self.fieldName(key)] = value
        }
        return LogLine(priority: entry.priority, message: entry.message, fields: fields)
    }

    /// The handler's own fields; a key that maps to one of them is prefixed `META_`.
    static let reservedFieldNames: Set<String> = ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"]

    /// The journal field name for a field key. Journal names are `[A-Z0-9_]`, at most 64
    /// characters, and neither start with `_` (trusted fields) nor with a digit. So: letters are
    /// upper-cased, other characters become `_`, leading `_` are dropped, and a name that is then
    /// empty, starts with a digit, or is one of the handler's own fields gets the prefix `META_`.
    /// `"iscsi.session"` → `ISCSI_SESSION`, `"_pid"` → `PID`, `"9lives"` → `META_9LIVES`.
    public static func fieldName(_ key: String) -> String {
        // The daemon's own keys (`JournalField`) are journal field names already: no rebuilding.
        if isValidFieldName(key) { return key }
        var name = String(String.UnicodeScalarView(key.unicodeScalars.map { scalar in
            let upper = ("a"..."z").contains(scalar) ? Unicode.Scalar(scalar.value - 32)! : scalar
            return isFieldNameCharacter(upper) ? upper : "_"
        }).drop { $0 == "_" })
        if name.isEmpty || name.first!.isNumber || reservedFieldNames.contains(name) {
            name = "META_" + name
        }
        return String(name.prefix(64))
    }

    /// Whether `key` is a field name as it stands: 1–64 of `A-Z`, `0-9`, `_`, not starting with
    /// a digit or `_`, and not one of the handler's own.
    static func isValidFieldName(_ key: String) -> Bool {
        let bytes = key.utf8
        guard let first = bytes.first, bytes.count <= 64, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
              first != UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || $0 == UInt8(ascii: "_") } && !reservedFieldNames.contains(key)
    }

    static func isFieldNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
    }

    private static func sendToJournal(_ line: LogLine, identifier: String) -> Bool {
        // MESSAGE is what journalctl shows on a terminal: escaped. Fields stay exact (binary-safe).
        let assignments = ["MESSAGE=\(line.message.escapedForDisplay)", "PRIORITY=\(line.priority)", "SYSLOG_IDENTIFIER=\(identifier)"]
            + line.fields.map { "\($0.key)=\($0.value)" }
        // One buffer holding every FIELD=value, one iovec per assignment.
        var storage: [UInt8] = []
        var ranges: [Range<Int>] = []
        for assignment in assignments {
            let start = storage.count
            storage.append(contentsOf: assignment.utf8)
            ranges.append(start..<storage.count)
        }
        return storage.withUnsafeMutableBytes { raw in
            let vectors = ranges.map { iovec(iov_base: raw.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            return sd_journal_sendv(vectors, Int32(vectors.count)) >= 0
        }
    }

    private static func writeToStandardError(_ line: LogLine) {
        let bytes = Array((line.formatted + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
