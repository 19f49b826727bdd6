import CSystemd
import Glibc
import ISCSIRootCore
import SystemPackage

/// What a signal asks the daemon to do.
public enum SignalRequest: Sendable, Hashable {
    /// SIGTERM or SIGINT: stop cleanly. Carries the signal's name for the log.
    case stop(signal: String)
    /// SIGHUP: reload the configuration.
    case reload
}

/// SIGTERM, SIGINT and SIGHUP as requests, read from a `signalfd` that the event loop polls next
/// to its inbox: no thread of its own.
///
/// The signals must be blocked in every thread, or the kernel delivers them to one that has
/// them unblocked (SIGTERM's default action ends the process): call `blockHandledSignals()`
/// first thing in `main`, before any thread starts, so all later threads inherit the mask.
public final class SignalSource: Sendable {
    static let handledSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Readable while a handled signal is pending for the process or the reading thread.
    let fd: Int32

    /// Blocks the handled signals in the calling thread (and so in the threads it creates later).
    public static func blockHandledSignals() {
        var set = handledSignalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks the handled signals in the calling thread and opens the descriptor they are read from.
    public init() throws(SignalSourceError) {
        Self.blockHandledSignals()
        var set = Self.handledSignalSet()
        let fd = signalfd(-1, &set, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        if fd < 0 { throw .signalfd(Errno(rawValue: errno)) }
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    /// The requests of every handled signal pending now, in arrival order (never blocks).
    func takeAll() -> [SignalRequest] {
        var requests: [SignalRequest] = []
        var info = signalfd_siginfo()
        while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGTERM: requests.append(.stop(signal: "SIGTERM"))
            case SIGINT: requests.append(.stop(signal: "SIGINT"))
            case SIGHUP: requests.append(.reload)
            default: break
            }
        }
        return requests
    }

    private static func handledSignalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handledSignals { sigaddset(&set, signal) }
        return set
    }
}

/// Why the signal source could not start.
public enum SignalSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    case signalfd(Errno)

    public var description: String {
        switch self {
        case .signalfd(let errno): "cannot read signals with signalfd: \(errno.symbolicName) (\(errno))"
        }
    }
}
