import CSystemd
import Glibc
import ISCSIRootCore
import SystemPackage

/// Tells the service manager about the daemon's state through `sd_notify(3)`. Without
/// `NOTIFY_SOCKET` in the environment every call does nothing and returns `.notSupervised`.
public struct Notifier: Sendable {
    /// What became of one notification.
    public enum Outcome: Sendable, Hashable {
        case sent
        /// No `NOTIFY_SOCKET`: not started by systemd as `Type=notify`.
        case notSupervised
        case failed(Errno)
    }

    public init() {}

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

    /// `WATCHDOG=1`: the event loop is alive. Send every `watchdogInterval()`.
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

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, nil when the watchdog is off or
    /// `WATCHDOG_PID` names another process.
    public static func watchdogInterval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds / 2))
    }

    private func send(_ assignments: [String]) -> Outcome {
        let result = sd_notify(0, assignments.joined(separator: "\n"))
        if result > 0 { return .sent }
        if result == 0 { return .notSupervised }
        return .failed(Errno(rawValue: -result))
    }

    private static func statusAssignment(_ text: String) -> String {
        "STATUS=" + String(text.map { $0.isNewline ? " " : $0 }).escapedForDisplay
    }
}
