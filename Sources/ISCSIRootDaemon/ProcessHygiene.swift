import CSystemd
import Glibc
import ISCSIRootCore
import SystemPackage

/// What a storage daemon does to itself before it starts any thread, so that it keeps running
/// while the disk it serves stalls: locked memory (no page-in from the stalled root), small
/// thread stacks and one malloc arena (so the locked set stays small), no OOM kill, and no
/// memory reclaim that waits on the I/O it is meant to help.
///
/// Every step reports an `Outcome` for the log; none is fatal (EPERM without capabilities).
public enum ProcessHygiene {
    public enum Step: String, Sendable, Hashable {
        case ioFlusher = "PR_SET_IO_FLUSHER"
        case mallocArenas = "malloc arenas"
        case threadStacks = "thread stacks"
        case oomScoreAdjust = "oom_score_adj"
        case lockMemory = "mlockall"
    }

    public enum Outcome: Sendable, Hashable {
        /// Done; the text says what was set.
        case applied(String)
        /// Left alone on purpose; the text says why.
        case skipped(String)
        case failed(Errno)
    }

    public struct StepResult: Sendable, Hashable, CustomStringConvertible {
        public let step: Step
        public let outcome: Outcome

        public var description: String {
            switch outcome {
            case .applied(let what): "\(step.rawValue): \(what)"
            case .skipped(let why): "\(step.rawValue): skipped, \(why)"
            case .failed(let errno): "\(step.rawValue): failed, \(errno.symbolicName) (\(errno))"
            }
        }
    }

    /// The default stack of threads created after `shrinkThreadStacks` (glibc's is 8 MiB, all of
    /// it locked by `mlockall`). Only the event sources and the metrics file's writer run on such
    /// threads (the loop runs on the main thread, whose stack grows as used): each polls one
    /// descriptor, receives into a heap buffer and decodes one message at a time (libudev's receive
    /// keeps an 8 KiB buffer on it), or writes a text it was handed.
    public static let defaultThreadStackSize = 64 << 10

    /// All steps, in the order that makes each one count: the per-thread flag and the thread
    /// defaults before any thread exists (call this first thing in `main`, before any `async`
    /// code starts Swift's concurrency threads), `mlockall` last.
    public static func apply(threadStackSize: Int = defaultThreadStackSize,
                             proc: FileTree = FileTree(root: "/proc")) -> [StepResult] {
        [
            StepResult(step: .ioFlusher, outcome: markIOFlusher()),
            StepResult(step: .mallocArenas, outcome: limitMallocArenas()),
            StepResult(step: .threadStacks, outcome: shrinkThreadStacks(to: threadStackSize)),
            StepResult(step: .oomScoreAdjust, outcome: protectFromOOMKiller(proc: proc)),
            StepResult(step: .lockMemory, outcome: lockMemory()),
        ]
    }

    /// `prctl(PR_SET_IO_FLUSHER, 1)`: memory allocations of this thread, and of threads it creates
    /// afterwards, do not wait for I/O (the flag is per thread and inherited). Needs
    /// CAP_SYS_RESOURCE.
    public static func markIOFlusher() -> Outcome {
        iscsi_rootd_set_io_flusher() == 0 ? .applied("set") : .failed(Errno(rawValue: errno))
    }

    /// `mallopt(M_ARENA_MAX, 1)`: glibc reserves a 64 MiB arena per thread otherwise, which
    /// `mlockall` counts in full.
    public static func limitMallocArenas() -> Outcome {
        mallopt(M_ARENA_MAX, 1) == 1 ? .applied("1 arena") : .failed(.invalidArgument)
    }

    /// Sets the default stack size of threads created from now on (`pthread_setattr_default_np`):
    /// the daemon's event source threads, created with default stack attributes.
    public static func shrinkThreadStacks(to bytes: Int = defaultThreadStackSize) -> Outcome {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        var status = pthread_attr_setstacksize(&attributes, bytes)
        if status == 0 { status = pthread_setattr_default_np(&attributes) }
        return status == 0 ? .applied("\(bytes >> 10) KiB per new thread") : .failed(Errno(rawValue: status))
    }

    /// Writes −1000 to `self/oom_score_adj` under `proc` (the kernel never OOM-kills the daemon),
    /// unless it is already non-zero: then the service manager set it (`OOMScoreAdjust=`), and
    /// that choice stands. Lowering it needs CAP_SYS_RESOURCE.
    public static func protectFromOOMKiller(proc: FileTree = FileTree(root: "/proc")) -> Outcome {
        let file = "self/oom_score_adj"
        let current: String
        switch proc.read(file) {
        case .success(let text): current = text.trimmingASCIIWhitespace
        case .failure(let error): return .failed(error.errno)
        }
        if current != "0" { return .skipped("already \(current) (set by the service manager)") }
        switch proc.write(file, "-1000") {
        case .success: return .applied("-1000")
        case .failure(let error): return .failed(error.errno)
        }
    }

    /// `mlockall(MCL_CURRENT | MCL_FUTURE)`: nothing of the daemon is paged out, so it never
    /// waits on a stalled disk to page something back in.
    public static func lockMemory() -> Outcome {
        mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? .applied("current and future pages") : .failed(Errno(rawValue: errno))
    }

    /// The process's locked and resident memory, from `self/status` under `proc`.
    public static func memoryUsage(proc: FileTree = FileTree(root: "/proc")) -> MemoryUsage? {
        guard case .success(let status) = proc.read("self/status") else { return nil }
        return MemoryUsage(status: status)
    }

    /// `VmLck` and `VmRSS` of a process, in KiB.
    public struct MemoryUsage: Sendable, Hashable {
        public let lockedKiB: Int
        public let residentKiB: Int

        /// Reads the text of `/proc/PID/status`; nil when either line is missing.
        public init?(status: String) {
            var values: [String: Int] = [:]
            for line in status.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
                if parts.count == 3, parts[2] == "kB", let value = Int(parts[1]) {
                    values[String(parts[0])] = value
                }
            }
            guard let locked = values["VmLck"], let resident = values["VmRSS"] else { return nil }
            lockedKiB = locked
            residentKiB = resident
        }
    }
}

extension String {
    fileprivate var trimmingASCIIWhitespace: String {
        String(drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed())
    }
}
