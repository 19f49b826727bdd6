/// The daemon's own journal events: start, stop, the udev fallback, a rejected configuration and
/// the boot chain audit's problems.
extension HealthEvent {
    /// `started`: how events arrive, the STATUS= line, and the memory locked (KiB) when known.
    public static func started(deviceEvents: String, sessionEvents: String, status: String, lockedKiB: Int?,
                               at now: Moment) -> HealthEvent {
        let memory = lockedKiB.map { "; \($0 / 1024) MiB locked" } ?? ""
        return HealthEvent(.started, "iscsi-rootd started (version \(ISCSIRootVersion.current)): \(deviceEvents), \(sessionEvents); \(status)\(memory)",
                           fields: [:], at: now)
    }

    public static func stopping(at now: Moment) -> HealthEvent {
        HealthEvent(.stopping, "iscsi-rootd stopping; disk settings stay as they are", fields: [:], at: now)
    }

    /// `udevFallback`, with why udev is not used.
    public static func udevFallback(_ reason: String, at now: Moment) -> HealthEvent {
        HealthEvent(.udevFallback, "new and vanished disks are found by rescanning sysfs every poll interval: \(reason)",
                    fields: [:], at: now)
    }

    /// `configRejected`, with the loader's error (file:line).
    public static func configRejected(_ error: ConfigError, at now: Moment) -> HealthEvent {
        HealthEvent(.configRejected, "configuration rejected, keeping the previous one: \(error)", fields: [:], at: now)
    }

    /// `auditFailed` for each item of the boot chain audit that is not ok, its fix on one line.
    public static func auditFailed(_ items: [AuditItem], at now: Moment) -> [HealthEvent] {
        items.filter { $0.verdict != .ok }.map { item in
            HealthEvent(.auditFailed, "boot chain: \(item.title): \(item.verdict): \(item.detail)"
                            + (item.fix.map { "; fix: \($0.split(separator: "\n").joined(separator: " "))" } ?? ""),
                        fields: [.state: item.verdict.description], at: now)
        }
    }
}
