/// One record of `/dev/kmsg` (Documentation/ABI/testing/dev-kmsg):
/// `prio,seq,usec,flags[,…];message` followed by ` KEY=value` continuation lines.
public struct KernelRecord: Sendable, Hashable {
    /// syslog level (0 emerg … 7 debug), the facility stripped.
    public let level: Int
    /// syslog facility: 0 for the kernel's own messages. A record written to /dev/kmsg from user
    /// space always has another (the kernel enforces LOG_USER when none is given), so only
    /// facility 0 is evidence about storage.
    public let facility: Int
    public let sequence: UInt64
    /// Microseconds since boot (the kernel's monotonic clock).
    public let timestampMicroseconds: UInt64
    public let message: String
    /// Continuation properties such as `SUBSYSTEM=scsi`, `DEVICE=+scsi:2:0:0:0`.
    public let properties: [String: String]

    public init(level: Int, facility: Int = 0, sequence: UInt64, timestampMicroseconds: UInt64, message: String,
                properties: [String: String] = [:]) {
        self.level = level
        self.facility = facility
        self.sequence = sequence
        self.timestampMicroseconds = timestampMicroseconds
        self.message = message
        self.properties = properties
    }

    /// Whether the kernel itself wrote it (facility 0), not a process writing to /dev/kmsg.
    public var isFromKernel: Bool { facility == 0 }

    /// Parses one record as one `read(2)` of /dev/kmsg returns it; nil when malformed.
    public init?(kmsg text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let first = lines.first, let semicolon = first.firstIndex(of: ";") else { return nil }
        let prefix = first[..<semicolon].split(separator: ",")
        // The sequence number is the kernel's u64 (only compared, and the state file holds a u64);
        // timestamps within Int64: they go into time arithmetic.
        guard prefix.count >= 3, let priority = Int(bounded: prefix[0], in: 0...Int(Int32.max)),
              let sequence = UInt64(bounded: prefix[1], in: 0...UInt64.max),
              let timestamp = UInt64(bounded: prefix[2], in: 0...UInt64(Int64.max)) else { return nil }
        var properties: [String: String] = [:]
        for line in lines.dropFirst() where line.hasPrefix(" ") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            properties[String(line.dropFirst()[..<equals])] = String(line[line.index(after: equals)...])
        }
        self.init(level: priority & 7, facility: priority >> 3, sequence: sequence, timestampMicroseconds: timestamp,
                  message: Self.unescape(first[first.index(after: semicolon)...]), properties: properties)
    }

    /// kmsg writes non-printable bytes as `\xNN`.
    static func unescape(_ text: Substring) -> String {
        guard text.contains(text: "\\x") else { return String(text) }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count, utf8[index + 1] == UInt8(ascii: "x"),
               let value = UInt8(String(decoding: utf8[(index + 2)...(index + 3)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What a kernel message says about iSCSI storage.
public enum KernelStorageSignal: Sendable, Hashable {
    /// ` connection1:0: detected conn error (1022)`: the one decoder of a connection error (NETLINK_ISCSI's
    /// event only rings the daemon's doorbell).
    case connectionError(session: Int, error: ISCSIConnectionError)
    /// ` session1: session recovery timed out after 120 secs`.
    case recoveryTimedOut(session: Int, seconds: Int)
    /// `sd 0:0:0:1: rejecting I/O to offline device`.
    case rejectingOffline(HCTL)
    /// `I/O error, dev sda, sector …` and `Buffer I/O error on dev(ice) sda, …`.
    case ioError(device: String)
    /// `EXT4-fs error (device sda): …`.
    case fileSystemError(device: String)
    /// `Aborting journal on device sda-8.`
    case journalAborted(device: String)
    /// `EXT4-fs (sda): Remounting filesystem read-only`.
    case remountedReadOnly(device: String)
    /// XFS shut the file system down (`XFS (sda1): … Shutting down filesystem`, `Filesystem has been shut down`).
    case xfsShutdown(device: String)

    /// Recognises the messages above; nil for everything else.
    public init?(message: String) {
        let text = message.trimmingWhitespace
        if let rest = text.after("EXT4-fs error (device "), let device = rest.before(")") {
            self = .fileSystemError(device: device)
        } else if let rest = text.after("Aborting journal on device ") {
            // "sda-8.": the journal device, then the journal inode.
            let device = rest.split(separator: "-").dropLast().joined(separator: "-")
            self = .journalAborted(device: device.isEmpty ? String(rest.dropLast()) : device)
        } else if text.hasPrefix("EXT4-fs ("), text.contains(text: "Remounting filesystem read-only"),
                  let device = text.after("EXT4-fs (")?.before(")") {
            self = .remountedReadOnly(device: device)
        } else if text.hasPrefix("XFS ("), let device = text.after("XFS (")?.before(")"),
                  text.contains(text: "Shutting down filesystem") || text.contains(text: "has been shut down")
                      || text.contains(text: "shutdown") {
            self = .xfsShutdown(device: device)
        } else if let rest = text.after("I/O error, dev "), let device = rest.before(",") {
            self = .ioError(device: device)
        } else if let rest = text.after("Buffer I/O error on dev") {
            let afterWord = rest.hasPrefix("ice ") ? rest.dropFirst(4) : rest.dropFirst(1)
            guard let device = String(afterWord).before(",") else { return nil }
            self = .ioError(device: device)
        } else if text.contains(text: "rejecting I/O to offline device"), let address = text.after("sd ")?.before(": "),
                  let hctl = HCTL(address) {
            self = .rejectingOffline(hctl)
        } else if text.hasPrefix("session"), text.contains(text: "session recovery timed out after"),
                  let number = Int(text.dropFirst("session".count).prefix(while: \.isNumber)),
                  let seconds = Int(text.after("timed out after ")?.prefix(while: \.isNumber) ?? "") {
            self = .recoveryTimedOut(session: number, seconds: seconds)
        } else if text.hasPrefix("connection"), let code = text.after("detected conn error (")?.before(")"),
                  let number = Int(text.dropFirst("connection".count).prefix(while: \.isNumber)), let value = UInt32(code) {
            self = .connectionError(session: number, error: ISCSIConnectionError(rawValue: value))
        } else {
            return nil
        }
    }

    /// Whether the file system is dead after this: errors, an aborted journal, read-only, XFS shutdown.
    public var damagesFileSystem: Bool {
        switch self {
        case .fileSystemError, .journalAborted, .remountedReadOnly, .xfsShutdown: true
        default: false
        }
    }
}

extension String {
    /// The text after the first `marker`, or nil.
    func after(_ marker: String) -> String? {
        guard let range = range(of: marker) else { return nil }
        return String(self[range.upperBound...])
    }

    /// The text before the first `marker`, or nil.
    func before(_ marker: String) -> String? {
        guard let range = range(of: marker) else { return nil }
        return String(self[..<range.lowerBound])
    }
}

extension JournalEntry {
    /// `kernel log before start: 2 × I/O error, 1 × journal aborted`: the storage signals the kernel
    /// itself logged before the daemon started, counted by kind (they are not re-emitted one by
    /// one); nil when there are none.
    public static func kernelBacklog(_ records: [KernelRecord]) -> JournalEntry? {
        var counts: [String: Int] = [:]
        for record in records where record.isFromKernel {
            if let signal = KernelStorageSignal(message: record.message) { counts[signal.kindName, default: 0] += 1 }
        }
        guard !counts.isEmpty else { return nil }
        let summary = counts.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")
        return .notice("kernel log before start: \(summary)", fields: [:])
    }
}
