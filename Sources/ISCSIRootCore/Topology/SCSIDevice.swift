/// A SCSI device (`/sys/class/scsi_device/H:C:T:L/device`).
public struct SCSIDevice: Sendable, Hashable {
    /// H:C:T:L of `/sys/class/scsi_device/H:C:T:L`.
    public let hctl: HCTL
    /// Where `/sys/class/scsi_device/H:C:T:L/device` leads,
    /// e.g. `/devices/platform/host2/session1/target2:0:0/2:0:0:0`.
    public let devpath: String
    /// N of the `sessionN` directory in `devpath` that is an `iscsi_session`: the iSCSI session it
    /// belongs to; nil for SATA, USB, virtio and every other transport.
    public let sessionNumber: Int?
    /// `/sys/class/scsi_device/H:C:T:L/device/type`: the SCSI peripheral type (`SCSIPeripheralType`).
    public let type: Reading<Int>
    /// `/sys/class/scsi_device/H:C:T:L/device/state`.
    public let state: Reading<DeviceState>
    /// `/sys/class/scsi_device/H:C:T:L/device/timeout`: the SCSI command timeout in seconds.
    public let timeout: Reading<Int>
    /// `/sys/class/scsi_device/H:C:T:L/device/eh_timeout`: how long the error handler waits for
    /// each of its own commands, in seconds.
    public let ehTimeout: Reading<Int>
    /// `/sys/class/scsi_device/H:C:T:L/device/vendor` (the INQUIRY vendor, trimmed).
    public let vendor: Reading<String>
    /// `/sys/class/scsi_device/H:C:T:L/device/model` (the INQUIRY product, trimmed).
    public let model: Reading<String>
    /// The whole disk in `/sys/class/scsi_device/H:C:T:L/device/block/`; nil when there is none.
    public let disk: BlockDisk?

    public init(hctl: HCTL, devpath: String, sessionNumber: Int?, type: Reading<Int>, state: Reading<DeviceState>,
                timeout: Reading<Int>, ehTimeout: Reading<Int>, vendor: Reading<String>, model: Reading<String>,
                disk: BlockDisk?) {
        self.hctl = hctl
        self.devpath = devpath
        self.sessionNumber = sessionNumber
        self.type = type
        self.state = state
        self.timeout = timeout
        self.ehTimeout = ehTimeout
        self.vendor = vendor
        self.model = model
        self.disk = disk
    }

    public var isISCSI: Bool { sessionNumber != nil }

    /// Whether its disk is a path of a dm-multipath map (multipathd's, not iscsi-rootd's to tune).
    public var isMultipathPath: Bool { disk?.multipathHolder != nil }

    /// `sda`, or the H:C:T:L when there is no block device (yet).
    public var displayName: String { disk?.name ?? hctl.description }
}

/// A SCSI address, Host:Channel:Target:LUN. LUNs are 64-bit.
public struct HCTL: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let host: Int
    public let channel: Int
    public let target: Int
    public let lun: UInt64

    public init(host: Int, channel: Int, target: Int, lun: UInt64) {
        self.host = host
        self.channel = channel
        self.target = target
        self.lun = lun
    }

    /// Parses `2:0:0:0`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let component = 0...Int(UInt32.max)
        guard parts.count == 4, let host = Int(bounded: parts[0], in: component),
              let channel = Int(bounded: parts[1], in: component), let target = Int(bounded: parts[2], in: component),
              let lun = UInt64(bounded: parts[3], in: 0...UInt64.max) else { return nil }
        self.init(host: host, channel: channel, target: target, lun: lun)
    }

    public var description: String { "\(host):\(channel):\(target):\(lun)" }

    public static func < (a: HCTL, b: HCTL) -> Bool {
        (a.host, a.channel, a.target, a.lun) < (b.host, b.channel, b.target, b.lun)
    }
}

/// `scsi_device`'s `device/state`.
public enum DeviceState: Sendable, Hashable, CustomStringConvertible {
    case running
    /// I/O is queued while the transport recovers.
    case blocked
    /// The transport gave up: I/O fails at once.
    case transportOffline
    /// The SCSI error handler gave up: I/O fails at once.
    case offline
    case other(String)

    public init(_ text: String) {
        switch text {
        case "running": self = .running
        case "blocked", "created-blocked": self = .blocked
        case "transport-offline": self = .transportOffline
        case "offline": self = .offline
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .running: "running"
        case .blocked: "blocked"
        case .transportOffline: "transport-offline"
        case .offline: "offline"
        case .other(let text): text
        }
    }
}
