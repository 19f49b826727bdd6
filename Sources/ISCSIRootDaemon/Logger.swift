/// The daemon's log: each entry, a syslog priority, a message and journal fields, goes to its
/// `JournalLogHandler` (a structured journal entry, or one `LogLine` on stderr).
///
/// The daemon's own and not swift-log's: swift-log's async and task-local API links Swift's
/// concurrency runtime and libdispatch into the daemon (0.5 MB that mlockall locks, issue 14), and
/// the daemon needs neither handler plumbing nor levels below info.
public struct Logger: Sendable {
    /// The levels the daemon logs at, as syslog priorities.
    public enum Level: Int, Sendable, CaseIterable {
        case critical = 2
        case error = 3
        case warning = 4
        case notice = 5
        case info = 6

        /// The level for a syslog priority: 0–2 critical, 6 and above info.
        public init(priority: Int) {
            self = Level(rawValue: min(max(priority, Level.critical.rawValue), Level.info.rawValue))!
        }
    }

    private let handler: JournalLogHandler?

    /// A logger writing through `handler`.
    public init(handler: JournalLogHandler) {
        self.handler = handler
    }

    private init() {
        handler = nil
    }

    /// A logger that drops every entry (tests that look at state, not at the log).
    public static let discarding = Logger()

    /// One entry; `fields` are journal field names (or keys `JournalLogHandler.fieldName` turns into them).
    public func log(level: Level, _ message: String, fields: [String: String] = [:]) {
        handler?.log(LogLine(priority: level.rawValue, message: message, fields: fields))
    }

    /// Sends what a reader that was full took nothing of (the journal's socket, stderr), and says
    /// once how long it did not: every turn of the event loop.
    public func flush() {
        handler?.flush()
    }

    /// At exit: what waits for a full reader gets at most `limit` to go out.
    public func finish(within limit: Duration) {
        handler?.finish(within: limit)
    }

    public func critical(_ message: String, fields: [String: String] = [:]) { log(level: .critical, message, fields: fields) }
    public func error(_ message: String, fields: [String: String] = [:]) { log(level: .error, message, fields: fields) }
    public func warning(_ message: String, fields: [String: String] = [:]) { log(level: .warning, message, fields: fields) }
    public func notice(_ message: String, fields: [String: String] = [:]) { log(level: .notice, message, fields: fields) }
    public func info(_ message: String, fields: [String: String] = [:]) { log(level: .info, message, fields: fields) }
}
