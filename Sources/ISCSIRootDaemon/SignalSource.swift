import CSystemd
import Glibc
import ISCSIRootCore
import SystemPackage

/// Signals (the daemon's: SIGTERM and SIGINT stop, SIGHUP reloads) as an `AsyncStream`, read
/// with `signalfd` on a dedicated thread.
///
/// The signals must be blocked in every thread, or the kernel delivers them to one that has
/// them unblocked (SIGTERM's default action ends the process): call `block(_:)` first thing in
/// `main`, before any thread starts, so all later threads inherit the mask.
public final class SignalSource: Sendable {
    /// The signal numbers in arrival order. Finishes after `stop()`.
    public let events: AsyncStream<Int32>
    let thread: DedicatedThread

    /// Blocks `signals` in the calling thread (and so in the threads it creates later).
    public static func block(_ signals: [Int32]) {
        var set = signalSet(signals)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks `signals` in the calling thread and starts reading them.
    public init(signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]) throws(SignalSourceError) {
        Self.block(signals)
        let wake: WakeEvent
        do { wake = try WakeEvent() } catch { throw .wakeEvent(error) }
        let (events, continuation) = AsyncStream.makeStream(of: Int32.self)
        continuation.onTermination = { _ in wake.signal() }
        self.events = events
        thread = try DedicatedThread.start(name: "iscsi-signals", wake: wake) {
            (wake, started: (Result<Void, SignalSourceError>) -> Void) in
            defer { continuation.finish() }
            // The thread inherited the mask from its creator, who blocked the signals above.
            var set = Self.signalSet(signals)
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

    /// Stops the thread and finishes `events`; the signals stay blocked. Later calls do nothing.
    public func stop() {
        thread.stop()
    }

    private static func signalSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    private static func run(fd: Int32, wake: WakeEvent, continuation: AsyncStream<Int32>.Continuation) {
        var info = signalfd_siginfo()
        while case .readable = wake.wait(for: fd) {
            while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
                if case .terminated = continuation.yield(Int32(info.ssi_signo)) { return }
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
