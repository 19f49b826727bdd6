import CSystemd
import Glibc
import ISCSIRootCore
import Synchronization
import SystemPackage

/// `/metrics` served by the daemon itself, on the listening sockets systemd passes
/// (`iscsi-rootd-metrics.socket`, socket activation): the exposition lives in the daemon's locked
/// memory, so a scrape during an outage reads nothing from the root file system on the way, unlike
/// node_exporter (a program on the root that opens files on it while serving) reading a textfile.
/// The unit keeps `RestrictAddressFamilies=AF_UNIX AF_NETLINK` and `IPAddressDeny=any` for every
/// socket the daemon opens itself; the passed sockets carry the socket unit's settings.
///
/// One thread serves one connection at a time: it reads a head of at most
/// `MetricsRequest.maximumLength` bytes within `connectionLimit`, answers once and closes. A client
/// that sends nothing holds the next scrape back by at most `connectionLimit`; the event loop never
/// waits on a scraper.
final class MetricsEndpoint: Sendable {
    /// The longest one connection is served: reading the head and writing the answer.
    static let connectionLimit: Duration = .seconds(2)

    private struct Shared {
        /// The newest exposition, UTF-8.
        var exposition: [UInt8] = []
        var answered = 0
        /// The last accept or connection failure, and whether it is news to report.
        var lastError: String?
        var reportDue = false
    }

    let listeners: [Int32]
    private let shared = Mutex(Shared())
    private let thread = Mutex<DedicatedThread?>(nil)

    /// Serves on `listeners` (listening stream sockets, made non-blocking here) from a thread of its
    /// own until `stop()`.
    init(listeners: [Int32]) throws(Errno) {
        self.listeners = listeners
        for fd in listeners {
            let flags = fcntl(fd, F_GETFL)
            if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 { throw Errno(rawValue: errno) }
        }
        let wake = try WakeEvent()
        let started = try DedicatedThread.start(name: "metrics-http", wake: wake) { [self] (wake, started: (Result<Void, Never>) -> Void) in
            started(.success(()))
            serve(until: wake)
        }
        thread.withLock { $0 = started }
    }

    /// Replaces what scrapes get; never waits for a connection being served.
    func publish(_ text: String) {
        let bytes = Array(text.utf8)
        shared.withLock { $0.exposition = bytes }
    }

    /// Answers sent so far (tests).
    var answered: Int { shared.withLock { $0.answered } }

    /// A failure to accept or serve, once until the next different one; nil: nothing new.
    func takeNews() -> String? {
        shared.withLock { shared in
            guard shared.reportDue else { return nil }
            shared.reportDue = false
            return shared.lastError
        }
    }

    /// Ends the thread (the connection being served, if any, is cut); the listening sockets stay
    /// open: they are systemd's, and the next daemon serves them.
    func stop() {
        let running = thread.withLock { thread in
            defer { thread = nil }
            return thread
        }
        running?.stop()
    }

    private func note(_ error: String?) {
        shared.withLock { shared in
            if error != shared.lastError {
                shared.lastError = error
                shared.reportDue = error != nil
            }
        }
    }

    private func serve(until wake: WakeEvent) {
        var fds = [pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)]
            + listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                note("poll: \(Errno(rawValue: errno))")
                return
            }
            if fds[0].revents != 0 { return }
            for index in 1..<fds.count where fds[index].revents != 0 {
                // accept4 is a GNU extension the Glibc module leaves out; the flags follow at once (the
                // daemon never executes anything, so the moment without FD_CLOEXEC is harmless).
                let connection = accept(fds[index].fd, nil, nil)
                if connection >= 0 {
                    _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
                }
                if connection < 0 {
                    switch errno {
                    case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO: continue
                    default:
                        // EMFILE, ENOBUFS, …: said once; a pause so that a pending connection that cannot be
                        // taken does not spin the thread.
                        note("accept: \(Errno(rawValue: errno))")
                        if wake.waitAlone(milliseconds: 100) { return }
                        continue
                    }
                }
                let outcome = answer(connection, wake: wake)
                close(connection)
                switch outcome {
                case .answered: note(nil)
                case .woken: return
                case .dropped: break
                }
            }
        }
    }

    private enum ConnectionOutcome {
        case answered, dropped, woken
    }

    /// Reads one head and writes one answer within `connectionLimit`.
    private func answer(_ connection: Int32, wake: WakeEvent) -> ConnectionOutcome {
        let deadline = Moment.monotonicNow + Self.connectionLimit
        var received: [UInt8] = []
        received.reserveCapacity(512)
        var buffer = [UInt8](repeating: 0, count: 1024)
        var response: MetricsRequest.Response?
        while response == nil {
            switch wait(for: connection, events: POLLIN, wake: wake, until: deadline) {
            case .woken: return .woken
            case .timedOut, .failed: return .dropped
            case .ready: break
            }
            let room = min(buffer.count, MetricsRequest.maximumLength - received.count)
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, room, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                return .dropped
            }
            received += buffer[0..<count]
            switch MetricsRequest.judge(received[...], endOfInput: count == 0) {
            case .incomplete: continue
            case .respond(let judged): response = judged
            }
        }
        let exposition = shared.withLock { $0.exposition }
        let bytes = MetricsRequest.answer(response!, exposition: exposition)
        var sent = 0
        while sent < bytes.count {
            switch wait(for: connection, events: POLLOUT, wake: wake, until: deadline) {
            case .woken: return .woken
            case .timedOut, .failed: return .dropped
            case .ready: break
            }
            let count = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                return .dropped
            }
            sent += count
        }
        shared.withLock { $0.answered += 1 }
        return .answered
    }

    private enum Readiness {
        case ready, woken, timedOut, failed
    }

    private func wait(for fd: Int32, events: Int32, wake: WakeEvent, until deadline: Duration) -> Readiness {
        var fds = [pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: fd, events: Int16(events), revents: 0)]
        while true {
            let left = deadline - Moment.monotonicNow
            if left <= .zero { return .timedOut }
            let ready = poll(&fds, 2, Int32((left / .milliseconds(1)).rounded(.up)))
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if ready == 0 { return .timedOut }
            if fds[0].revents != 0 { return .woken }
            // POLLHUP/POLLERR: the next recv or send says what happened.
            return .ready
        }
    }
}

extension WakeEvent {
    /// Waits `milliseconds` unless signalled first; true when signalled.
    func waitAlone(milliseconds: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        return poll(&fds, 1, milliseconds) > 0
    }
}

/// The listening sockets systemd passed (`LISTEN_FDS`, `LISTEN_PID`; iscsi-rootd-metrics.socket), taken
/// first thing in `main`, before the daemon opens any descriptor of its own: a `LISTEN_FDS` that names
/// more descriptors than were passed must not make the daemon serve, or close, one of its own.
public struct PassedSockets: Sendable {
    /// Listening stream sockets, to serve `/metrics` on.
    public let listeners: [Int32]
    /// Why a passed descriptor is not served (it is left alone: not a listening stream socket).
    public let rejected: [String]

    public static let none = PassedSockets(listeners: [], rejected: [])

    init(listeners: [Int32], rejected: [String]) {
        self.listeners = listeners
        self.rejected = rejected
    }

    /// Reads and unsets `LISTEN_FDS`/`LISTEN_PID` (`sd_listen_fds`).
    public static func take() -> PassedSockets {
        let count = sd_listen_fds(1)
        guard count > 0 else { return count < 0 ? PassedSockets(listeners: [], rejected: ["LISTEN_FDS: \(Errno(rawValue: -count))"]) : .none }
        var listeners: [Int32] = []
        var rejected: [String] = []
        for fd in SD_LISTEN_FDS_START..<(SD_LISTEN_FDS_START + min(count, 16)) {
            if sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0 {
                listeners.append(fd)
            } else {
                rejected.append("descriptor \(fd) is not a listening stream socket")
            }
        }
        if count > 16 { rejected.append("\(count - 16) descriptors beyond the first 16") }
        return PassedSockets(listeners: listeners, rejected: rejected)
    }
}
