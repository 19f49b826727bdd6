/// A journal entry to write: its kind (MESSAGE_ID, priority), text and fields.
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
