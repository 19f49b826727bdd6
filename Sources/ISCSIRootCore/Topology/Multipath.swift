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

/// A dm-multipath map (`/sys/block/dm-N/dm/uuid` is `mpath-<WWID>`): its paths are the `slaves/`.
public struct MultipathMap: Sendable, Hashable {
    /// `mpatha` (`dm/name`).
    public let name: String
    /// The WWID after `mpath-` in `dm/uuid`.
    public let wwid: String
    /// `dm-0`.
    public let dm: String
    /// The path disks (`sda`, `sdb`), sorted.
    public let paths: [String]
    /// From `/etc/multipath.conf` (the live table is not read: see the README).
    public let queueing: MultipathQueueing

    public init(name: String, wwid: String, dm: String, paths: [String], queueing: MultipathQueueing) {
        self.name = name
        self.wwid = wwid
        self.dm = dm
        self.paths = paths
        self.queueing = queueing
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

/// What a block device in a storage stack is, from sysfs: `partition`, `dm/uuid`'s prefix, `md/`.
public enum BlockLayerKind: String, Sendable, Hashable {
    case disk
    case partition
    case multipath
    /// kpartx's `part<N>-mpath-<WWID>` (or any `part<N>-` device-mapper partition).
    case mapperPartition = "mapper-partition"
    case lvm
    case crypt
    /// Device-mapper with another or no uuid prefix.
    case deviceMapper = "device-mapper"
    case raid

    /// The kind a device-mapper uuid names (dm-ioctl's uuid conventions of each tool).
    public init(deviceMapperUUID uuid: String) {
        if uuid.hasPrefix("mpath-") {
            self = .multipath
        } else if uuid.hasPrefix("part"), let number = uuid.dropFirst(4).split(separator: "-").first,
                  number.allSatisfy({ $0.isASCII && $0.isNumber }), uuid.dropFirst(4 + number.count).hasPrefix("-") {
            self = .mapperPartition
        } else if uuid.hasPrefix("LVM-") {
            self = .lvm
        } else if uuid.hasPrefix("CRYPT-") {
            self = .crypt
        } else {
            self = .deviceMapper
        }
    }
}

/// One block device of a storage stack and the devices right below it (a tree: LVM, md and
/// multipath have several).
public struct BlockLayer: Sendable, Hashable {
    /// `dm-1`, `sda2`, `md0`.
    public let name: String
    /// The device-mapper name (`mpatha-part2`, `vg-root`), nil for others.
    public let mappedName: String?
    public let kind: BlockLayerKind
    /// The devices below, sorted (a partition's disk, a map's paths, a volume's physical volumes).
    public let below: [String]

    public init(name: String, mappedName: String?, kind: BlockLayerKind, below: [String]) {
        self.name = name
        self.mappedName = mappedName
        self.kind = kind
        self.below = below
    }

    /// What people call it: the mapped name when there is one.
    public var displayName: String { mappedName ?? name }
}
