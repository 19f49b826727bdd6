/// The session's replacement (recovery) timeout: how long I/O waits for a failed session before
/// it fails. The kernel shows and takes `off` (stored as -1) for "never give up".
public enum RecoveryTimeout: Sendable, Hashable, CustomStringConvertible {
    case seconds(Int)
    case off

    /// Parses `recovery_tmo`: `off`, or seconds (a negative number also means off).
    public init?(sysfs text: String) {
        if text == "off" {
            self = .off
        } else if let value = Int(bounded: text, in: Int(Int32.min)...Int(Int32.max)) {
            self = value < 0 ? .off : .seconds(value)
        } else {
            return nil
        }
    }

    /// The JSON form: seconds, or -1 for off.
    public var jsonValue: Int {
        switch self {
        case .seconds(let seconds): seconds
        case .off: -1
        }
    }

    public var description: String {
        switch self {
        case .seconds(let seconds): "\(seconds)"
        case .off: "off"
        }
    }
}

/// An iSCSI connection (`/sys/class/iscsi_connection/connectionS:C`).
public struct ISCSIConnection: Sendable, Hashable {
    public let name: String
    public let state: Reading<ConnectionState>
    public let persistentAddress: Reading<String>
    public let persistentPort: Reading<Int>
    /// NOP-Out interval (`ping_tmo`); 0 = NOPs off.
    public let pingTimeout: Reading<Int>
    /// NOP-Out timeout (`recv_tmo`); 0 = NOPs off.
    public let receiveTimeout: Reading<Int>

    public init(name: String, state: Reading<ConnectionState>, persistentAddress: Reading<String>,
                persistentPort: Reading<Int>, pingTimeout: Reading<Int>, receiveTimeout: Reading<Int>) {
        self.name = name
        self.state = state
        self.persistentAddress = persistentAddress
        self.persistentPort = persistentPort
        self.pingTimeout = pingTimeout
        self.receiveTimeout = receiveTimeout
    }

    /// `10.0.0.1:3260` or `[fd00::1]:3260`; nil when the address is unknown.
    public var portal: String? {
        guard let address = persistentAddress.value else { return nil }
        let host = address.contains(":") ? "[\(address)]" : address
        if let port = persistentPort.value { return "\(host):\(port)" }
        return host
    }

    /// Whether NOP-Outs are on (either timer above zero).
    public var nopsEnabled: Bool {
        (pingTimeout.value ?? 0) > 0 || (receiveTimeout.value ?? 0) > 0
    }
}

/// An iSCSI session (`/sys/class/iscsi_session/sessionN`). `username`/`password` are never read.
public struct ISCSISession: Sendable, Hashable {
    public let number: Int
    /// The session's device directory, e.g. `/devices/platform/host2/session1`.
    public let devpath: String
    /// The SCSI host the session hangs under, from its devpath.
    public let hostNumber: Int?
    public let state: Reading<SessionState>
    public let targetState: Reading<String>
    public let targetName: Reading<String>
    public let tpgt: Reading<Int>
    public let recoveryTimeout: Reading<RecoveryTimeout>
    public let ifaceName: Reading<String>
    public let initiatorName: Reading<String>
    public let creator: Reading<Int>
    public let connections: [ISCSIConnection]

    public init(number: Int, devpath: String, hostNumber: Int?, state: Reading<SessionState>,
                targetState: Reading<String>, targetName: Reading<String>, tpgt: Reading<Int>,
                recoveryTimeout: Reading<RecoveryTimeout>, ifaceName: Reading<String>,
                initiatorName: Reading<String>, creator: Reading<Int>, connections: [ISCSIConnection]) {
        self.number = number
        self.devpath = devpath
        self.hostNumber = hostNumber
        self.state = state
        self.targetState = targetState
        self.targetName = targetName
        self.tpgt = tpgt
        self.recoveryTimeout = recoveryTimeout
        self.ifaceName = ifaceName
        self.initiatorName = initiatorName
        self.creator = creator
        self.connections = connections
    }

    /// `session1`.
    public var name: String { "session\(number)" }

    /// The portal of the first connection.
    public var portal: String? { connections.first?.portal }

    /// Whether any connection has NOP-Outs on.
    public var nopsEnabled: Bool { connections.contains { $0.nopsEnabled } }
}

/// A SCSI host (`/sys/class/scsi_host/hostN`), with the iSCSI host attributes where there are any.
public struct SCSIHost: Sendable, Hashable {
    public let number: Int
    public let state: Reading<HostState>
    /// `iscsi_host/hostN/netdev`: set for offloading HBAs, "not set" for iscsi_tcp.
    public let netdev: Reading<String>
    public let ipAddress: Reading<String>

    public init(number: Int, state: Reading<HostState>, netdev: Reading<String>, ipAddress: Reading<String>) {
        self.number = number
        self.state = state
        self.netdev = netdev
        self.ipAddress = ipAddress
    }

    /// `host2`.
    public var name: String { "host\(number)" }
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

/// A block queue's I/O scheduler: `[mq-deadline] none` is `selected` "mq-deadline" of two offered.
public struct Scheduler: Sendable, Hashable, CustomStringConvertible {
    public let selected: String?
    public let available: [String]

    public init(selected: String?, available: [String]) {
        self.selected = selected
        self.available = available
    }

    /// Parses the `queue/scheduler` file; a lone name without brackets (`none`) is the selected one.
    public init?(sysfs text: String) {
        // On the UTF-8 bytes (brackets and blanks are ASCII): a tuner parses this file three times a disk.
        let names = text.utf8.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        guard !names.isEmpty else { return nil }
        var selected: String?
        var available: [String] = []
        for name in names {
            if name.first == UInt8(ascii: "["), name.last == UInt8(ascii: "]"), name.count > 2 {
                let inner = String(decoding: name.dropFirst().dropLast(), as: UTF8.self)
                guard selected == nil else { return nil }
                selected = inner
                available.append(inner)
            } else if name.contains(UInt8(ascii: "[")) || name.contains(UInt8(ascii: "]")) {
                return nil
            } else {
                available.append(String(decoding: name, as: UTF8.self))
            }
        }
        if selected == nil && available.count == 1 { selected = available[0] }
        guard selected != nil else { return nil }
        self.init(selected: selected, available: available)
    }

    public var description: String { selected ?? "unknown" }
}

/// The whole-disk block device of a SCSI disk (`…/H:C:T:L/block/sdX`).
public struct BlockDisk: Sendable, Hashable {
    public let name: String
    public let scheduler: Reading<Scheduler>
    public let partitions: [String]
    /// The dm-multipath map (`dm-0`) among its `holders/`, when the disk is a path of one.
    public let multipathHolder: String?

    public init(name: String, scheduler: Reading<Scheduler>, partitions: [String], multipathHolder: String? = nil) {
        self.name = name
        self.scheduler = scheduler
        self.partitions = partitions
        self.multipathHolder = multipathHolder
    }
}

/// A SCSI device (`/sys/class/scsi_device/H:C:T:L/device`).
public struct SCSIDevice: Sendable, Hashable {
    public let hctl: HCTL
    /// e.g. `/devices/platform/host2/session1/target2:0:0/2:0:0:0`.
    public let devpath: String
    /// The iSCSI session it belongs to; nil for SATA, USB, virtio and every other transport.
    public let sessionNumber: Int?
    /// SCSI peripheral type: 0 disk, 5 CD-ROM, 7 optical, 14 RBC …
    public let type: Reading<Int>
    public let state: Reading<DeviceState>
    /// SCSI command timeout in seconds (`device/timeout`).
    public let timeout: Reading<Int>
    public let ehTimeout: Reading<Int>
    public let vendor: Reading<String>
    public let model: Reading<String>
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

/// What a mount or swap needs from the machine's storage.
public enum StorageUse: Sendable, Hashable, CustomStringConvertible {
    case root
    case usr
    case swap
    /// Any other file system mounted from an iSCSI disk.
    case mount(String)

    /// Whether losing it stops the machine: `/`, `/usr` and swap.
    public var isCritical: Bool {
        if case .mount = self { return false }
        return true
    }

    /// `/`, `/usr`, `[swap]`, or the mount point.
    public var description: String {
        switch self {
        case .root: "/"
        case .usr: "/usr"
        case .swap: "[swap]"
        case .mount(let point): point
        }
    }
}

/// A mount or swap area traced down to the disks under it:
/// `/ on dm-0 ← sda2 ← sda` is source "dm-0", path ["dm-0", "sda2", "sda"], disks ["sda"].
public struct StorageChain: Sendable, Hashable {
    public let use: StorageUse
    /// The block device (or, for swap files, the file) named by mountinfo or /proc/swaps.
    public let source: String
    /// The file system type from mountinfo ("swap" for swap).
    public let fileSystem: String
    /// Every block device from the source down to the disks, each once, top first.
    public let path: [String]
    /// The whole disks at the bottom of the chain.
    public let disks: [String]
    /// Each device of `path` with what it is and what is right below it: the stack as a tree.
    public let layers: [BlockLayer]
    /// Why the chain could not be followed to its disks (a block device missing from sysfs, a
    /// dangling device link): then nobody can tell whether it rests on iSCSI. Nil when traced.
    public let untraced: String?

    public init(use: StorageUse, source: String, fileSystem: String, path: [String], disks: [String],
                layers: [BlockLayer] = [], untraced: String? = nil) {
        self.use = use
        self.source = source
        self.fileSystem = fileSystem
        self.path = path
        self.disks = disks
        self.layers = layers
        self.untraced = untraced
    }

    /// The layer of `name`, if it is in the chain.
    public func layer(_ name: String) -> BlockLayer? { layers.first { $0.name == name } }
}

/// One consistent look at the iSCSI world: sessions, hosts, SCSI devices and what the machine
/// keeps on them. A value; policy, health and reports are functions of it.
public struct Topology: Sendable, Hashable {
    /// Sorted by session number.
    public let sessions: [ISCSISession]
    /// Hosts of iSCSI sessions, sorted by number.
    public let hosts: [SCSIHost]
    /// Every SCSI device, iSCSI or not, sorted by H:C:T:L.
    public let devices: [SCSIDevice]
    /// `/`, `/usr` and swap (whatever they are on), then every other mount on an iSCSI disk.
    public let chains: [StorageChain]
    /// Why the tree could not be read at all (no `class/` directory), else nil.
    public let unreadable: String?
    /// dm-multipath maps, sorted by name.
    public let maps: [MultipathMap]

    private let sessionIndex: [Int: Int]
    private let hostIndex: [Int: Int]
    private let diskIndex: [String: Int]
    private let pathSessions: Set<Int>

    public init(sessions: [ISCSISession], hosts: [SCSIHost], devices: [SCSIDevice], chains: [StorageChain],
                maps: [MultipathMap] = [], unreadable: String? = nil) {
        self.sessions = sessions
        self.hosts = hosts
        self.devices = devices
        self.chains = chains
        self.maps = maps
        self.unreadable = unreadable
        sessionIndex = Dictionary(sessions.enumerated().map { ($1.number, $0) }, uniquingKeysWith: { first, _ in first })
        hostIndex = Dictionary(hosts.enumerated().map { ($1.number, $0) }, uniquingKeysWith: { first, _ in first })
        diskIndex = Dictionary(devices.enumerated().compactMap { index, device in device.disk.map { ($0.name, index) } },
                               uniquingKeysWith: { first, _ in first })
        pathSessions = Set(devices.filter(\.isMultipathPath).compactMap(\.sessionNumber))
    }

    public func session(_ number: Int) -> ISCSISession? {
        sessionIndex[number].map { sessions[$0] }
    }

    public func host(_ number: Int) -> SCSIHost? {
        hostIndex[number].map { hosts[$0] }
    }

    /// iSCSI devices only.
    public var iscsiDevices: [SCSIDevice] { devices.filter(\.isISCSI) }

    /// The chain of `/`, if mountinfo names it.
    public var root: StorageChain? { chains.first { $0.use == .root } }

    /// The uses (/, /usr, swap, other mounts) that rest on a disk.
    public func uses(ofDisk name: String) -> [StorageUse] {
        chains.filter { $0.disks.contains(name) }.map(\.use)
    }

    /// The iSCSI device whose block device is `name`.
    public func device(disk name: String) -> SCSIDevice? {
        diskIndex[name].map { devices[$0] }
    }

    /// The sessions under a chain's disks.
    public func sessions(of chain: StorageChain) -> [ISCSISession] {
        var numbers: [Int] = []
        for disk in chain.disks {
            if let number = device(disk: disk)?.sessionNumber, !numbers.contains(number) { numbers.append(number) }
        }
        return numbers.compactMap(session)
    }

    // MARK: Multipath

    /// The map `disk` is a path of.
    public func map(ofPath disk: String) -> MultipathMap? {
        maps.first { $0.paths.contains(disk) }
    }

    /// The maps in a chain, top first.
    public func maps(of chain: StorageChain) -> [MultipathMap] {
        chain.path.compactMap { name in maps.first { $0.dm == name } }
    }

    /// A map's paths with their devices and sessions as scanned.
    public func paths(of map: MultipathMap) -> [MultipathPath] {
        map.paths.map { disk in
            let device = device(disk: disk)
            return MultipathPath(disk: disk, device: device, session: device?.sessionNumber.flatMap(session))
        }
    }

    /// The critical uses (/, /usr, swap) that rest on a map.
    public func criticalUses(of map: MultipathMap) -> [StorageUse] {
        var uses: [StorageUse] = []
        for chain in chains where chain.use.isCritical && chain.path.contains(map.dm) && !uses.contains(chain.use) {
            uses.append(chain.use)
        }
        return uses
    }

    /// A path session: a disk of it is a path of a multipath map. multipathd owns its timers
    /// (it sets recovery_tmo from fast_io_fail_tmo); iscsi-rootd never writes them, even when the
    /// session also carries a direct disk (the timer is one per session).
    public func isPathSession(_ number: Int) -> Bool {
        pathSessions.contains(number)
    }

    /// The critical uses (/, /usr, swap) that rest on a session's disks.
    public func criticalUses(ofSession number: Int) -> [StorageUse] {
        var uses: [StorageUse] = []
        for chain in chains where chain.use.isCritical {
            if sessions(of: chain).contains(where: { $0.number == number }), !uses.contains(chain.use) {
                uses.append(chain.use)
            }
        }
        return uses
    }
}
