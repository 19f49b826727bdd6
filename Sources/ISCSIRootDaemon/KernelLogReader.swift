import Glibc
import ISCSIRootCore
import Synchronization
import SystemPackage

/// Reads kernel log records from `/dev/kmsg` (its structured records; every reader has its own
/// position, so journald's is untouched), or from a file or pipe holding records in the same
/// format (tests).
///
/// The records already there at start (`backlog`, e.g. from the initramfs) are read at once;
/// later ones are delivered from a dedicated thread.
public final class KernelLogReader: Sendable {
    private let backlog: Mutex<[KernelRecord]>
    private let thread: DedicatedThread?

    /// The records present when the reader opened the log, once: later calls return none, so the
    /// daemon does not keep a locked copy of the whole boot log after summarising it.
    public func takeBacklog() -> [KernelRecord] {
        backlog.withLock { backlog in
            defer { backlog = [] }
            return backlog
        }
    }

    /// Opens `path` and reads its backlog; records that arrive later go to `deliver`, on the
    /// reader's thread, until `stop()` or the end of a file or pipe (a record the consumer has no
    /// room for is dropped).
    public init(path: String = DefaultPaths.kernelLog, deliver: @escaping @Sendable (KernelRecord) -> Bool) throws(KernelLogError) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { throw KernelLogError(path: path, errno: Errno(rawValue: errno)) }
        var splitter = RecordSplitter()
        var ended = false
        var buffer = [UInt8](repeating: 0, count: 8192)
        backlogLoop: while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            switch count {
            case 0: ended = true; break backlogLoop
            case ..<0:
                let error = errno
                if error == EAGAIN { break backlogLoop }
                if error == EPIPE || error == EINTR { continue }  // EPIPE: records were overwritten; go on.
                close(fd)
                throw KernelLogError(path: path, errno: Errno(rawValue: error))
            default: splitter.feed(buffer[0..<count])
            }
        }
        backlog = Mutex(splitter.finish())
        if ended {
            close(fd)
            thread = nil
            return
        }
        let wake: WakeEvent
        do { wake = try WakeEvent() } catch {
            close(fd)
            throw KernelLogError(path: path, errno: error)
        }
        thread = DedicatedThread.start(name: "iscsi-kmsg", wake: wake) {
            (wake, started: (Result<Void, Never>) -> Void) in
            started(.success(()))
            defer { close(fd) }
            var splitter = RecordSplitter()
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                switch wake.wait(for: fd) {
                case .woken, .failed, .timedOut:
                    for record in splitter.finish() { _ = deliver(record) }
                    return
                case .readable:
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count == 0 {
                        for record in splitter.finish() { _ = deliver(record) }
                        return
                    }
                    if count < 0 { continue }  // EAGAIN, EINTR, EPIPE (overwritten records)
                    splitter.feed(buffer[0..<count])
                    if buffer[count - 1] == UInt8(ascii: "\n") {
                        for record in splitter.finish() { _ = deliver(record) }
                    }
                }
            }
        }
    }

    /// Stops the reading thread.
    public func stop() {
        thread?.stop()
    }
}

/// The kernel log could not be opened or read.
public struct KernelLogError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let errno: Errno

    public var description: String {
        "cannot read the kernel log \(path): \(errno.symbolicName) (\(errno))"
            + (errno == .permissionDenied || errno == .notPermitted ? "; reading it under dmesg_restrict needs CAP_SYSLOG" : "")
    }
}

/// Splits a byte stream into kmsg records: a record is a line, plus the ` KEY=value` lines after it.
struct RecordSplitter {
    private var pending: [UInt8] = []

    /// A record is at most a few KiB (the kernel's limit is 8 KiB a read); a stream that sends
    /// more without a line feed is not a kernel log, and what it sent is dropped, not kept forever.
    static let maximumPending = 1 << 20

    mutating func feed(_ bytes: ArraySlice<UInt8>) {
        pending.append(contentsOf: bytes)
        if pending.count > Self.maximumPending, !pending.contains(UInt8(ascii: "\n")) { pending.removeAll() }
    }

    /// Every complete record so far (a trailing line without a newline stays pending).
    mutating func finish() -> [KernelRecord] {
        guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let complete = String(decoding: pending[...lastNewline], as: UTF8.self)
        pending.removeSubrange(...lastNewline)
        var records: [KernelRecord] = []
        var current = ""
        for line in complete.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix(" ") {
                current += "\n" + line
            } else {
                if let record = KernelRecord(kmsg: current) { records.append(record) }
                current = String(line)
            }
        }
        if let record = KernelRecord(kmsg: current) { records.append(record) }
        return records
    }
}
