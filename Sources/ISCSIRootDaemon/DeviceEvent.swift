/// What the udev monitor delivers: one device uevent, or the news that some were lost.
public enum DeviceEvent: Sendable, Hashable {
    /// A device was added, changed, removed, …
    case uevent(Uevent)
    /// Events were lost (the socket buffer overflowed with `ENOBUFS`, or the consumer fell too
    /// far behind): rescan sysfs instead of trusting the stream.
    case overflow
}

/// One device event as a plain value: it crosses from the monitor thread to the daemon.
public struct Uevent: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case add, remove, change, move, online, offline, bind, unbind
        case other(String)

        public init(_ name: String) {
            switch name {
            case "add": self = .add
            case "remove": self = .remove
            case "change": self = .change
            case "move": self = .move
            case "online": self = .online
            case "offline": self = .offline
            case "bind": self = .bind
            case "unbind": self = .unbind
            default: self = .other(name)
            }
        }
    }

    public let action: Action
    /// `scsi`, `block`, `net`, …
    public let subsystem: String
    /// `scsi_device`, `disk`, …; nil when the device has none.
    public let devtype: String?
    /// The device directory relative to /sys, with a leading slash:
    /// `/devices/platform/host2/session1/target2:0:0/2:0:0:0`.
    public let devpath: String
    /// The last devpath component: `2:0:0:0`, `sda`.
    public let sysname: String
    /// The kernel's event sequence number.
    public let seqnum: UInt64
    /// The properties the monitor was asked to keep (e.g. `DEVNAME`, `ID_PATH`), when present.
    public let properties: [String: String]

    public init(action: Action, subsystem: String, devtype: String?, devpath: String, sysname: String,
                seqnum: UInt64, properties: [String: String]) {
        self.action = action
        self.subsystem = subsystem
        self.devtype = devtype
        self.devpath = devpath
        self.sysname = sysname
        self.seqnum = seqnum
        self.properties = properties
    }
}

/// A subsystem and, optionally, a device type: what a monitor or an enumeration is filtered on.
public struct DeviceMatch: Sendable, Hashable, CustomStringConvertible {
    public let subsystem: String
    public let devtype: String?

    public init(subsystem: String, devtype: String? = nil) {
        self.subsystem = subsystem
        self.devtype = devtype
    }

    /// SCSI devices (`2:0:0:0`), the ones the policy tunes.
    public static let scsiDevice = DeviceMatch(subsystem: "scsi", devtype: "scsi_device")
    /// Whole block devices (`sda`, not its partitions), whose queue holds the scheduler.
    public static let disk = DeviceMatch(subsystem: "block", devtype: "disk")

    public var description: String {
        devtype.map { "\(subsystem)/\($0)" } ?? subsystem
    }
}
