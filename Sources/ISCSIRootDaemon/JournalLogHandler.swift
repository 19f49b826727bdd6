import Glibc
import ISCSIRootCore
import Synchronization
import SystemPackage

/// Where `JournalLogHandler` sends entries.
public enum LogDestination: Sendable, Hashable {
    /// Structured entries over journald's native protocol (`JournalSocket`).
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
/// entry is one `LogLine` (without `SYSLOG_IDENTIFIER`). Neither ever waits for its reader: what
/// a full journal socket or stderr does not take waits, bounded, and goes out with the next entry
/// or `flush` (see `Backlog`).
public struct JournalLogHandler: Sendable {
    public let identifier: String
    public let destination: LogDestination
    private let journal: JournalSocket?
    private let standardError: StandardErrorSink

    public init(identifier: String = "iscsi-rootd", destination: LogDestination = .automatic(),
                journalSocket: String = JournalSocket.defaultPath) {
        self.identifier = identifier
        self.destination = destination
        journal = destination == .journal ? JournalSocket(path: journalSocket) : nil
        standardError = StandardErrorSink()
    }

    /// Writes `entry`, its fields renamed by `fieldName`.
    public func log(_ entry: LogLine) {
        let line = journalLine(for: entry)
        if let journal {
            // An entry the journal refused (journald restarting, …) still gets out.
            if !journal.send(Self.journalAssignments(line, identifier: identifier)) { writeToStandardError(line) }
        } else {
            writeToStandardError(line)
        }
    }

    /// Sends what waits for a reader that takes again, and says once how long it did not.
    public func flush() {
        if let delivery = journal?.flush() {
            log(LogLine(priority: Logger.Level.notice.rawValue, message: "journald \(delivery.text("entries"))"
                        + " (each with LOGGED_USEC=, when it was logged)", fields: [:]))
        }
        if let delivery = standardError.flush() {
            writeToStandardError(LogLine(priority: Logger.Level.notice.rawValue,
                                         message: "standard error \(delivery.text("lines"))", fields: [:]))
        }
    }

    /// At exit: flushes until nothing waits, or for at most `limit` (a reader that stays full loses
    /// what waits; the process must end).
    public func finish(within limit: Duration) {
        let deadline = Moment.monotonicNow + limit
        repeat {
            flush()
            if journal?.isDrained ?? true, standardError.isDrained { return }
            usleep(10_000)
        } while Moment.monotonicNow < deadline
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

    /// The entry's `FIELD=value` pairs for the journal. MESSAGE is what journalctl shows on a
    /// terminal: escaped. Fields stay exact (binary-safe).
    static func journalAssignments(_ line: LogLine, identifier: String) -> [(String, String)] {
        [("MESSAGE", line.message.escapedForDisplay), ("PRIORITY", "\(line.priority)"), ("SYSLOG_IDENTIFIER", identifier)]
            + line.fields.map { ($0.key, $0.value) }
    }

    private func writeToStandardError(_ line: LogLine) {
        standardError.write(Array((line.formatted + "\n").utf8))
    }
}

/// journald's native protocol (`/run/systemd/journal/socket`), sent to without waiting: one
/// datagram per entry, each field `NAME=value\n`, or, when the value holds a newline,
/// `NAME\n`, its length as 64-bit little endian, the value and `\n` (systemd's
/// "Native Journal Protocol"). An entry journald cannot take now waits with `LOGGED_USEC=` (when
/// it was logged: journald dates an entry when it receives it) added.
public final class JournalSocket: Sendable {
    public static let defaultPath = "/run/systemd/journal/socket"

    private let peer: Result<DatagramPeer, Errno>
    private let backlog = Mutex(Backlog(itemLimit: 256, byteLimit: 256 << 10))

    init(path: String) {
        // A large send buffer, as sd_journal_sendv's: an entry's size is bounded by it.
        peer = DatagramPeer.open(path, sendBuffer: 8 << 20)
    }

    /// Sends (or holds) one entry; false when journald refused it for good (no socket, too large).
    func send(_ assignments: [(String, String)]) -> Bool {
        guard case .success(let peer) = peer else { return false }
        let outcome = backlog.withLock { backlog in
            backlog.send(Self.datagram(assignments), held: { $0 + Self.datagram([(JournalField.loggedMicroseconds.rawValue, "\(Self.wallMicroseconds())")]) },
                         through: peer.send)
        }
        if case .failed = outcome { return false }
        return true
    }

    /// Whether nothing waits.
    var isDrained: Bool { backlog.withLock { $0.isEmpty } }

    /// Sends what waits; once all went out, what waited (reported once).
    func flush() -> Delivery? {
        guard case .success(let peer) = peer else { return nil }
        return backlog.withLock { backlog in
            backlog.flush(through: peer.send)
            return backlog.takeDelivery()
        }
    }

    static func datagram(_ assignments: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, value) in assignments {
            bytes.append(contentsOf: name.utf8)
            if value.utf8.contains(UInt8(ascii: "\n")) {
                bytes.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(value.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            } else {
                bytes.append(UInt8(ascii: "="))
            }
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    private static func wallMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}

/// The daemon's stderr, written without waiting: a pipe or terminal is reopened non-blocking
/// (its own open file description: O_NONBLOCK on the inherited one would reach every process
/// sharing it), a socket (journald's stream) is sent to with MSG_DONTWAIT; a regular file is
/// written as it is. Lines that do not fit now wait (at most 64 KiB), a line begun is finished
/// first.
final class StandardErrorSink: Sendable {
    private let fd: Int32
    private let isSocket: Bool
    private let ownsDescriptor: Bool
    private let backlog = Mutex(Backlog(itemLimit: 512, byteLimit: 64 << 10))

    init() {
        var info = stat()
        let type = fstat(STDERR_FILENO, &info) == 0 ? info.st_mode & S_IFMT : 0
        isSocket = type == S_IFSOCK
        let reopened = type == S_IFIFO || type == S_IFCHR
            ? open("/proc/self/fd/\(STDERR_FILENO)", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1
        ownsDescriptor = reopened >= 0
        fd = reopened >= 0 ? reopened : STDERR_FILENO
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    func write(_ line: [UInt8]) {
        _ = backlog.withLock { $0.send(line, through: attempt) }
    }

    var isDrained: Bool { backlog.withLock { $0.isEmpty } }

    func flush() -> Delivery? {
        backlog.withLock { backlog in
            backlog.flush(through: attempt)
            return backlog.takeDelivery()
        }
    }

    private func attempt(_ bytes: [UInt8]) -> Backlog.Attempt {
        let (written, error) = bytes.withUnsafeBytes { raw in
            isSocket
                ? RetriedWrite.all(raw, to: fd) { send($0, $1.baseAddress, $1.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
                : RetriedWrite.all(raw, to: fd)
        }
        switch error {
        case nil: return .sent
        case .resourceTemporarilyUnavailable?: return written > 0 ? .partial(written) : .full
        case let error?: return .failed(error)
        }
    }
}
