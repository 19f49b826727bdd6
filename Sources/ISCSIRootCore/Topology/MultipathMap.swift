/// A dm-multipath map (`/sys/block/dm-N/dm/uuid` is `mpath-<WWID>`): its paths are the `slaves/`.
public struct MultipathMap: Sendable, Hashable {
    /// `/sys/class/block/dm-N/dm/name`, e.g. `mpatha` (`dm-N` when unreadable).
    public let name: String
    /// The WWID after `mpath-` in `/sys/class/block/dm-N/dm/uuid`.
    public let wwid: String
    /// `dm-N` of `/sys/class/block/dm-N`.
    public let dm: String
    /// The path disks in `/sys/class/block/dm-N/slaves/` (`sda`, `sdb`), sorted.
    public let paths: [String]
    /// From `/etc/multipath.conf` (the live table is not read: see docs/multipath.md).
    public let queueing: MultipathQueueing

    public init(name: String, wwid: String, dm: String, paths: [String], queueing: MultipathQueueing) {
        self.name = name
        self.wwid = wwid
        self.dm = dm
        self.paths = paths
        self.queueing = queueing
    }
}

/// Whether a multipath map queues I/O when no path is left (`queue_if_no_path`), and where that was read.
public struct MultipathQueueing: Sendable, Hashable {
    /// True: I/O waits for a path; false: I/O fails; nil: unknown (nothing in multipath.conf decides it,
    /// so multipath-tools' built-in hardware table does, which iscsi-rootd does not carry).
    public let queues: Bool?
    /// `no_path_retry queue (/etc/multipath.conf:4, defaults)`, or why it is unknown.
    public let detail: String

    public init(queues: Bool?, detail: String) {
        self.queues = queues
        self.detail = detail
    }
}

/// One path of a map as sysfs shows it now. A path is up when its SCSI device is `running` and its
/// session `LOGGED_IN`; dm's own path state is in the live table's status line, which sysfs does not show.
public struct MultipathPath: Sendable, Hashable {
    public let disk: String
    public let device: SCSIDevice?
    public let session: ISCSISession?

    public var isUp: Bool {
        device?.state.value == .running && session?.state.value == .loggedIn
    }

    /// `session FAILED, blocked`: why the path is down (empty when up).
    public var downReason: String {
        var reasons: [String] = []
        if device == nil { reasons.append("no SCSI device") }
        if let session, session.state.value != .loggedIn {
            reasons.append("session \(session.state.value?.description ?? "state unknown")")
        } else if session == nil {
            reasons.append("no iSCSI session")
        }
        if let state = device?.state, state.value != .running {
            reasons.append(state.value?.description ?? "state unknown")
        }
        return reasons.joined(separator: ", ")
    }

    /// `sdb via session2`.
    public var label: String {
        "\(disk) via \(session?.name ?? "no session")"
    }
}
