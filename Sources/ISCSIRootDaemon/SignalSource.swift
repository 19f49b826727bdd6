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

/// SIGTERM, SIGINT and SIGHUP as an `AsyncStream` of requests, read with `signalfd` on a
/// dedicated thread.
///
/// The signals must be blocked in every thread, or the kernel delivers them to one that has
/// them unblocked (SIGTERM's default action ends the process): call `blockHandledSignals()`
/// first thing in `main`, before any thread starts, so all later threads inherit the mask.
public final class SignalSource: Sendable {
    static let handledSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// The requests in arrival order. Finishes after `stop()`.
    public let requests: AsyncStream<SignalRequest>
    let thread: DedicatedThread

    /// Blocks the handled signals in the calling thread (and so in the threads it creates later).
    public static func blockHandledSignals() {
        var set = handledSignalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks the handled signals in the calling thread and starts reading them.
    public init() throws(SignalSourceError) {
        Self.blockHandledSignals()
        let wake: WakeEvent
        do { wake = try WakeEvent() } catch { throw .wakeEvent(error) }
        let (requests, continuation) = AsyncStream.makeStream(of: SignalRequest.self)
        continuation.onTermination = { _ in wake.signal() }
        self.requests = requests
        thread = try DedicatedThread.start(name: "iscsi-signals", wake: wake) {
            (wake, started: (Result<Void, SignalSourceError>) -> Void) in
            defer { continuation.finish() }
            // The thread inherited the mask from its creator, who blocked the signals above.
            var set = Self.handledSignalSet()
            let fd = signalfd(-1, &set, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
            if fd < 0 {
                started(.failure(.signalfd(Errno(rawValue: errno))))
                return
            }
            defer { close(fd) }
            started(.success(()))
            Self.run(fd: fd, wake: wake, continuation: continuation)
        }
    }

    /// Stops the thread and finishes `requests`; the signals stay blocked. Later calls do nothing.
    public func stop() {
        thread.stop()
    }

    private static func handledSignalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handledSignals { sigaddset(&set, signal) }
        return set
    }

    private static func run(fd: Int32, wake: WakeEvent, continuation: AsyncStream<SignalRequest>.Continuation) {
        var info = signalfd_siginfo()
        while case .readable = wake.wait(for: fd) {
            while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
                let request: SignalRequest? = switch Int32(info.ssi_signo) {
                case SIGTERM: .stop(signal: "SIGTERM")
                case SIGINT: .stop(signal: "SIGINT")
                case SIGHUP: .reload
                default: nil
                }
                if let request, case .terminated = continuation.yield(request) { return }
            }
        }
    }
}

/// Why the signal source could not start.
public enum SignalSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    case signalfd(Errno)
    case wakeEvent(Errno)

    public var description: String {
        switch self {
        case .signalfd(let errno): "cannot read signals with signalfd: \(errno.symbolicName) (\(errno))"
        case .wakeEvent(let errno): "cannot create the signal thread's wake eventfd: \(errno.symbolicName) (\(errno))"
        }
    }
}
