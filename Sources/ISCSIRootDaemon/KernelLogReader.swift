import Glibc
import ISCSIRootCore
import SystemPackage

/// Reads kernel log records from `/dev/kmsg` (its structured records; every reader has its own
/// position, so journald's is untouched), or from a file or pipe holding records in the same
/// format (tests).
///
/// The records already there at start (`backlog`, e.g. from the initramfs) are read at once;
/// later ones arrive through `records` from a dedicated thread.
public final class KernelLogReader: Sendable {
    /// Records present when the reader opened the log.
    public let backlog: [KernelRecord]
    /// Records that arrive later. Finishes after `stop()` or at the end of a file or pipe.
    public let records: AsyncStream<KernelRecord>
    private let thread: DedicatedThread?

    /// Opens `path` and reads its backlog.
    public init(path: String = "/dev/kmsg") throws(KernelLogError) {
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
        backlog = splitter.finish()
        let (records, continuation) = AsyncStream.makeStream(of: KernelRecord.self, bufferingPolicy: .bufferingNewest(4096))
        self.records = records
        if ended {
            close(fd)
            continuation.finish()
            thread = nil
            return
        }
        let wake: WakeEvent
        do { wake = try WakeEvent() } catch {
            close(fd)
            throw KernelLogError(path: path, errno: error)
        }
        continuation.onTermination = { _ in wake.signal() }
        thread = try? DedicatedThread.start(name: "iscsi-kmsg", wake: wake) {
            (wake, started: (Result<Void, Never>) -> Void) in
            started(.success(()))
            defer { continuation.finish(); close(fd) }
            var splitter = RecordSplitter()
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                switch wake.wait(for: fd) {
                case .woken, .failed, .timedOut:
                    for record in splitter.finish() { continuation.yield(record) }
                    return
                case .readable:
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count == 0 {
                        for record in splitter.finish() { continuation.yield(record) }
                        return
                    }
                    if count < 0 { continue }  // EAGAIN, EINTR, EPIPE (overwritten records)
                    splitter.feed(buffer[0..<count])
                    if buffer[count - 1] == UInt8(ascii: "\n") {
                        for record in splitter.finish() { continuation.yield(record) }
                    }
                }
            }
        }
    }

    /// Stops the reading thread and finishes `records`.
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
