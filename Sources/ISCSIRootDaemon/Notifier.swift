import Glibc
import ISCSIRootCore
import Synchronization
import SystemPackage

/// Tells the service manager about the daemon's state over the `sd_notify(3)` protocol: one
/// datagram of `NAME=value` lines to `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
/// Without `NOTIFY_SOCKET` every call does nothing and returns `.notSupervised`.
///
/// Its own sender, not libsystemd's `sd_notify`, which blocks in `unix_wait_for_peer` when the
/// manager stops reading (PID 1 is not locked in memory; it can wait on the frozen root). Here a
/// full socket costs nothing: the notification is held and sent when the socket takes again
/// (`flush`, every turn of the loop), coalesced meanwhile: only the newest `STATUS=` line waits,
/// one `WATCHDOG=1` at most, and it goes first, before anything held, so status lines never
/// starve it.
public final class Notifier: Sendable {
    /// What became of one notification.
    public enum Outcome: Sendable, Hashable {
        case sent
        /// No `NOTIFY_SOCKET`: not started by systemd as `Type=notify`.
        case notSupervised
        /// The socket is full: held, sent (or replaced by a newer one) once it takes again.
        case held
        case failed(Errno)
    }

    /// The address notifications go to (`NOTIFY_SOCKET`), nil when there is none.
    public let socket: String?
    /// nil: no `NOTIFY_SOCKET`; a failure: an address this sender cannot use.
    private let peer: Result<DatagramPeer, Errno>?
    private let pending = Mutex(Pending())

    /// At most this many notifications other than `WATCHDOG=1` wait; beyond, the oldest `STATUS=`
    /// (else the oldest) is dropped.
    static let pendingLimit = 8

    private struct Pending {
        var watchdog = false
        var messages: [[String]] = []
        /// Since the socket last took everything: notifications that waited, and that were dropped.
        var waited = 0
        var dropped = 0
        var since: Duration?

        var isEmpty: Bool { !watchdog && messages.isEmpty }
    }

    /// A notifier for `socket`, by default `NOTIFY_SOCKET` as the process has it now.
    public init(socket: String? = getenv("NOTIFY_SOCKET").map { String(cString: $0) }) {
        self.socket = socket.flatMap { $0.isEmpty ? nil : $0 }
        peer = self.socket.map { DatagramPeer.open($0) }
    }

    /// `READY=1`, with the first `STATUS=` line in the same datagram when given.
    @discardableResult
    public func ready(status: String? = nil) -> Outcome {
        send(["READY=1"] + (status.map { [Self.statusAssignment($0)] } ?? []))
    }

    /// `STATUS=`: one human-readable line (line breaks become spaces, other controls escaped).
    @discardableResult
    public func status(_ text: String) -> Outcome {
        send([Self.statusAssignment(text)])
    }

    /// `WATCHDOG=1`: the event loop is alive. Send every `watchdog(…).interval`.
    @discardableResult
    public func watchdog() -> Outcome {
        send(["WATCHDOG=1"])
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (systemd ≥ 253 wants both, for `Type=notify-reload`
    /// too); send `ready()` when the reload is done.
    @discardableResult
    public func reloading() -> Outcome {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        return send(["RELOADING=1", "MONOTONIC_USEC=\(microseconds)"])
    }

    /// `STOPPING=1`: shutting down.
    @discardableResult
    public func stopping() -> Outcome {
        send(["STOPPING=1"])
    }

    /// `ERRNO=`: why the daemon fails, before a fatal exit.
    @discardableResult
    public func errno(_ code: Int32) -> Outcome {
        send(["ERRNO=\(code)"])
    }

    /// Sends what waits, if the socket takes it now; once everything held went out, what waited
    /// (reported once).
    func flush() -> Delivery? {
        guard case .success(let peer)? = peer else { return nil }
        return pending.withLock { pending in
            Self.drain(&pending, to: peer)
            guard pending.isEmpty, let since = pending.since else { return nil }
            defer { pending = Pending() }
            return Delivery(waited: Moment.monotonicNow - since, held: pending.waited - pending.dropped, dropped: pending.dropped)
        }
    }

    private func send(_ assignments: [String]) -> Outcome {
        let peer: DatagramPeer
        switch self.peer {
        case nil: return .notSupervised
        case .failure(let error)?: return .failed(error)
        case .success(let usable)?: peer = usable
        }
        return pending.withLock { pending in
            Self.drain(&pending, to: peer)
            if pending.isEmpty {
                switch peer.send(Self.datagram(assignments)) {
                case .sent: return .sent
                case .failed(let error): return .failed(error)
                case .full, .partial: break
                }
            }
            Self.hold(assignments, in: &pending)
            return .held
        }
    }

    private static func hold(_ assignments: [String], in pending: inout Pending) {
        if pending.since == nil { pending.since = Moment.monotonicNow }
        pending.waited += 1
        if assignments == ["WATCHDOG=1"] {
            if pending.watchdog { pending.dropped += 1 }
            pending.watchdog = true
            return
        }
        if isStatusOnly(assignments) {
            let before = pending.messages.count
            pending.messages.removeAll(where: isStatusOnly)
            pending.dropped += before - pending.messages.count
        }
        pending.messages.append(assignments)
        if pending.messages.count > pendingLimit {
            pending.messages.remove(at: pending.messages.firstIndex(where: isStatusOnly) ?? 0)
            pending.dropped += 1
        }
    }

    /// WATCHDOG=1 first, then the rest in order, until the socket is full again.
    private static func drain(_ pending: inout Pending, to peer: DatagramPeer) {
        if pending.watchdog {
            switch peer.send(datagram(["WATCHDOG=1"])) {
            case .full, .partial: return
            case .failed: pending.dropped += 1
            case .sent: break
            }
            pending.watchdog = false
        }
        while let first = pending.messages.first {
            switch peer.send(datagram(first)) {
            case .full, .partial: return
            case .failed: pending.dropped += 1
            case .sent: break
            }
            pending.messages.removeFirst()
        }
    }

    private static func isStatusOnly(_ assignments: [String]) -> Bool {
        assignments.count == 1 && assignments[0].hasPrefix("STATUS=")
    }

    private static func datagram(_ assignments: [String]) -> [UInt8] {
        Array(assignments.joined(separator: "\n").utf8)
    }

    private static func statusAssignment(_ text: String) -> String {
        "STATUS=" + String(text.map { $0.isNewline ? " " : $0 }).escapedForDisplay
    }
}

extension Notifier {
    /// The service manager's watchdog as the environment sets it up, for this process.
    public struct Watchdog: Sendable, Equatable {
        /// How often to send `WATCHDOG=1` (half the timeout); nil: not at all.
        public let interval: Duration?
        /// Why the environment was not taken as it stands (said once at start).
        public let warning: String?
    }

    /// The shortest watchdog timeout honoured: a shorter `WATCHDOG_USEC` (1 µs made a loop with a
    /// zero tick, a few ms one that woke a thousand times a second) is taken as this, with a warning.
    public static let minimumWatchdogTimeout = Duration.milliseconds(100)

    /// `WATCHDOG_USEC` and `WATCHDOG_PID` read as `sd_watchdog_enabled(3)` does (nothing when
    /// `WATCHDOG_PID` names another process), but a value that is no number of microseconds above 0
    /// turns the watchdog off with a warning, and one below `minimumWatchdogTimeout` is raised to it.
    public static func watchdog(microseconds text: String?, pid pidText: String?, ownPID: pid_t = getpid()) -> Watchdog {
        guard let text else { return Watchdog(interval: nil, warning: nil) }
        if let pidText {
            guard let pid = pid_t(pidText), pid > 0 else {
                return Watchdog(interval: nil, warning: "WATCHDOG_PID='\(pidText.escapedForDisplay)' is not a process id: no WATCHDOG=1 is sent")
            }
            if pid != ownPID { return Watchdog(interval: nil, warning: nil) }
        }
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let microseconds = Int64(text), microseconds > 0 else {
            return Watchdog(interval: nil, warning: "WATCHDOG_USEC='\(text.escapedForDisplay)' is not a number of microseconds above 0: no WATCHDOG=1 is sent")
        }
        let timeout = Duration.microseconds(microseconds)
        if timeout < minimumWatchdogTimeout {
            return Watchdog(interval: minimumWatchdogTimeout / 2,
                            warning: "WATCHDOG_USEC=\(text) is below 100 ms: WATCHDOG=1 is sent every 50 ms, as for 100 ms")
        }
        return Watchdog(interval: timeout / 2, warning: nil)
    }

    /// The watchdog as this process's environment has it now.
    public static func watchdog() -> Watchdog {
        watchdog(microseconds: getenv("WATCHDOG_USEC").map { String(cString: $0) },
                 pid: getenv("WATCHDOG_PID").map { String(cString: $0) })
    }

    /// How often to send `WATCHDOG=1`: nil when the watchdog is off or meant for another process.
    public static func watchdogInterval() -> Duration? {
        watchdog().interval
    }
}
