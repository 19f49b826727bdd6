/// A journal entry of the catalog to write: its kind (MESSAGE_ID, priority), text, fields and time. Every kind
/// of `MessageKind`, not only health: the daemon's start and stop, tuning and drift, audit problems too.
public struct HealthEvent: Sendable, Hashable {
    public let kind: MessageKind
    public let message: String
    public let fields: [JournalField: String]
    public let at: Moment

    public init(_ kind: MessageKind, _ message: String, fields: [JournalField: String], at: Moment) {
        self.kind = kind
        self.message = message
        self.fields = fields
        self.at = at
    }

    /// Whether the daemon writes this entry to the system console too (`MessageKind.console`).
    public var goesToConsole: Bool {
        switch kind.console {
        case .always: true
        case .root: fields[.root] == "1"
        case .never: false
        }
    }

    /// The entry as one console line: `iscsi-rootd: 2026-12-08 02:14:20 WARNING: I/O to sda …`,
    /// escaped (sysfs strings reach the message).
    public var consoleLine: String {
        let levels = ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"]
        let level = levels[min(max(kind.priority, 0), levels.count - 1)]
        return "iscsi-rootd: \(WallClock.format(microseconds: at.wallMicroseconds)) \(level): \(message)".escapedForDisplay
    }
}
