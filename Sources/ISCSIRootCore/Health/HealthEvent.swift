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
}
