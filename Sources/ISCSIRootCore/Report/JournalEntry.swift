/// One line the daemon writes to the journal, composed in the core so the daemon only routes it:
/// an event (with a MESSAGE_ID, kept in the state file's recent events too) or a notice, a line
/// with fields but no MESSAGE_ID, for what is worth saying once but asks nothing of an admin.
public enum JournalEntry: Sendable, Hashable {
    case event(HealthEvent)
    /// Priority 5 (notice).
    case notice(String, fields: [JournalField: String])
}
