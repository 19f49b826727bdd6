/// What the session's recovery timeout should be on sessions that carry `/`, `/usr` or swap.
public enum RecoveryTimeoutPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Raise it to at least this many seconds.
    case atLeast(Int)
    /// Turn it off: I/O waits for the session forever.
    case off
    /// Never write it; only report.
    case keep

    /// Whether a session's current timeout meets the policy (`keep` compares with the default).
    public func isMet(by current: RecoveryTimeout) -> Bool {
        switch (self, current) {
        case (_, .off): true
        case (.off, .seconds): false
        case (.atLeast(let wanted), .seconds(let seconds)): seconds >= wanted
        case (.keep, .seconds(let seconds)): seconds >= Configuration.recommendedRecoveryTimeout
        }
    }

    public var description: String {
        switch self {
        case .atLeast(let seconds): "\(seconds)"
        case .off: "off"
        case .keep: "keep"
        }
    }
}

/// The tuning wanted for iSCSI disks.
public struct DiskPolicy: Sendable, Hashable {
    /// SCSI command timeout in seconds (`device/timeout`).
    public var timeout: Int
    /// I/O scheduler (`queue/scheduler`).
    public var scheduler: String
    /// SCSI peripheral types to tune: 0 disk, 7 optical memory, 14 RBC.
    public var types: Set<Int>

    public init(timeout: Int = 90, scheduler: String = "none", types: Set<Int> = [0, 7, 14]) {
        self.timeout = timeout
        self.scheduler = scheduler
        self.types = types
    }

    /// Whether the policy tunes this device: iSCSI, of a listed type, and not a multipath path.
    /// A path's I/O from its map is queued and scheduled at the map (request-based dm-multipath
    /// inserts the clones straight into the path's dispatch queue, past its scheduler), and its
    /// command timeout is how fast a hung command fails over: both stay as multipathd and udev set them.
    public func applies(to device: SCSIDevice) -> Bool {
        guard device.isISCSI, !device.isMultipathPath, let type = device.type.value else { return false }
        return types.contains(type)
    }

    /// Whether the device's settings (as scanned) are what the policy wants.
    public func isTuned(_ device: SCSIDevice) -> Bool {
        guard device.timeout.value == timeout else { return false }
        guard let disk = device.disk else { return true }
        return disk.scheduler.value?.selected == scheduler
    }
}

/// Everything `/etc/iscsi-rootd.conf` can set, with the defaults.
public struct Configuration: Sendable, Hashable {
    /// The iSCSI-root recommendation for `replacement_timeout` (open-iscsi README).
    public static let recommendedRecoveryTimeout = 86400
    /// The largest `RecoveryTimeout=`: the kernel keeps `recovery_tmo` in a C int.
    public static let maximumRecoveryTimeout = Int(Int32.max)
    /// The longest interval or threshold (`VerifyInterval=`, `StallThreshold=`, `--poll-interval`): a day.
    public static let maximumInterval: Duration = .seconds(86400)
    /// `[Disk] Timeout=` and `--timeout`: whole seconds.
    public static let timeoutRange = 1...86400
    /// `[Disk] Types=`: SCSI peripheral device types (5 bits).
    public static let scsiTypeRange = 0...31
    /// The dm-multipath recommendation for a path's `replacement_timeout` (open-iscsi README: "5 to
    /// 15 seconds"): the value advised, and the longest that passes.
    public static let multipathRecoveryTimeout = 5
    public static let multipathRecoveryTimeoutLimit = 15
    /// The dm-multipath recommendation for a path's NOP-Out interval and timeout (open-iscsi README).
    public static let multipathNopInterval = 5
    public static let multipathNopTimeout = 10

    /// Whether a path session's recovery_tmo lets its I/O fail over soon (0 … 15 s).
    public static func isMultipathRecoveryTimeout(_ timeout: RecoveryTimeout) -> Bool {
        if case .seconds(let seconds) = timeout { return seconds <= multipathRecoveryTimeoutLimit }
        return false
    }

    /// `[Disk] Timeout=`, `Scheduler=`, `Types=`.
    public var disk = DiskPolicy()
    /// `[Disk] VerifyInterval=`: how often the daemon re-verifies every disk.
    public var verifyInterval: Duration = .seconds(60)
    /// `[Disk] StallThreshold=`: in-flight I/O without completions for this long is a stall.
    public var stallThreshold: Duration = .seconds(5)
    /// `[Session] RecoveryTimeout=`.
    public var recoveryTimeout: RecoveryTimeoutPolicy = .atLeast(recommendedRecoveryTimeout)
    /// `[Metrics] TextfileDirectory=`: where the daemon writes `iscsi-rootd.prom` for node_exporter's
    /// textfile collector; nil (the default): no metrics file.
    public var textfileDirectory: String?

    public init() {}
}
