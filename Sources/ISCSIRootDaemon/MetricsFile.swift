import CSystemd
import Glibc
import ISCSIRootCore
import SystemPackage
import Synchronization

/// `<TextfileDirectory>/iscsi-rootd.prom` for node_exporter's textfile collector, written on a thread of
/// its own: the directory may live on the very root disk the daemon watches, and a write blocked by
/// an outage must never stall the event loop. Only the newest exposition waits to be written; each
/// write replaces the file atomically with `FileReplacement`, as the state file is (the temporary
/// file's name does not end in `.prom`, so the collector never reads it), but without fsync: nothing
/// here may wait for the disk to come back.
final class MetricsFile: Sendable {
    static let fileName = "iscsi-rootd.prom"

    let directory: String
    var path: String { directory + "/" + Self.fileName }

    private struct Shared {
        /// The newest text not yet written.
        var pending: String?
        /// The last text handed over (unchanged texts are not written again).
        var published: String?
        /// Texts handed over and written, counted.
        var publishedCount = 0
        var writtenCount = 0
        /// The outcome of the last write, and whether it is news to report.
        var lastError: String?
        var reportDue = false
        /// Set by `retire`: the thread removes the file and ends.
        var retired = false
    }

    /// A change in how writing goes, to log once.
    enum News: Equatable {
        case failing(String)
        case working
    }

    private let shared = Mutex(Shared())
    private let wakeup: Semaphore

    init(directory: String) {
        self.directory = directory
        wakeup = Semaphore()
        // The thread holds `self` until retired.
        switch spawn(ThreadContext(name: "metrics-file") { self.writeLoop() }) {
        case .success(let thread):
            pthread_detach(thread)
        case .failure(let error):
            shared.withLock { $0.lastError = "cannot start the metrics writer thread: \(error)"; $0.reportDue = true }
        }
    }

    /// Hands `text` to the writer without waiting; a text equal to the last one is not written again.
    func publish(_ text: String) {
        let changed = shared.withLock { shared in
            guard shared.published != text else { return false }
            shared.published = text
            shared.pending = text
            shared.publishedCount += 1
            return true
        }
        if changed { wakeup.signal() }
    }

    /// Publishes `text` and waits at most `limit` for it to be written (at stop).
    func finish(_ text: String, within limit: Duration) {
        publish(text)
        let deadline = Moment.monotonicNow + limit
        while Moment.monotonicNow < deadline {
            if shared.withLock({ $0.writtenCount >= $0.publishedCount }) { return }
            usleep(10_000)
        }
    }

    /// What changed since the last call: a write failed (with why), or works again; nil: nothing.
    func takeNews() -> News? {
        shared.withLock { shared in
            guard shared.reportDue else { return nil }
            shared.reportDue = false
            return shared.lastError.map(News.failing) ?? .working
        }
    }

    /// Metrics go elsewhere or nowhere now (a reload changed `TextfileDirectory=`): the thread drops
    /// what is pending, removes the file it writes (that one name only: an alert on a stale file must
    /// not fire for a client that stopped exporting) and ends. Removing happens on the thread, as
    /// writing does: the directory may be on a disk that does not answer.
    func retire() {
        shared.withLock { $0.retired = true }
        wakeup.signal()
    }

    /// The thread: retains `self` until retired (it is detached and never joined: a write blocked on
    /// a dead disk must not hold up the daemon's stop).
    private func writeLoop() {
        while true {
            wakeup.wait()
            let (next, retired) = shared.withLock { shared in
                defer { shared.pending = nil }
                return (shared.pending.map { ($0, shared.publishedCount) }, shared.retired)
            }
            if retired {
                remove()
                return
            }
            guard let (text, count) = next else { continue }
            let error = replace(with: text)
            shared.withLock { shared in
                shared.writtenCount = count
                if error != shared.lastError {
                    shared.lastError = error
                    shared.reportDue = true
                }
            }
        }
    }

    /// Unlinks `<directory>/iscsi-rootd.prom` and a leftover temporary file, nothing else; a link is
    /// removed, not followed.
    private func remove() {
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if directoryFD < 0 { return }
        defer { close(directoryFD) }
        unlinkat(directoryFD, Self.fileName, 0)
        unlinkat(directoryFD, FileReplacement.temporaryName(Self.fileName), 0)
    }

    /// Writes `text` to `<directory>/iscsi-rootd.prom.tmp` and renames it over the file; what went
    /// wrong, with what to do, if anything.
    private func replace(with text: String) -> String? {
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        let failure = directoryFD < 0
            ? FileReplacement.Failure(action: "open \(directory)", code: Errno(rawValue: errno))
            // 0644: node_exporter runs as another user; the unit sets UMask=0077.
            : FileReplacement.replace(Self.fileName, in: directoryFD, directory: directory, with: Array(text.utf8),
                                      mode: 0o644, durable: false)
        if directoryFD >= 0 { close(directoryFD) }
        guard let failure else { return nil }
        switch failure.code {
        case .readOnlyFileSystem:
            return "\(failure); the unit's sandbox (ProtectSystem=strict) allows the directory only with a drop-in saying ReadWritePaths=-\(directory) (example: iscsi-rootd.service.d/metrics.conf)"
        case .noSuchFileOrDirectory:
            return "\(failure); \(directory) must exist (node_exporter's textfile directory)"
        default:
            return failure.description
        }
    }
}
