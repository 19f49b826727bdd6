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

    /// iSCSI devices only: kept, as the daemon reads them every second (I/O samples) and every poll.
    public let iscsiDevices: [SCSIDevice]
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
        iscsiDevices = devices.filter(\.isISCSI)
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
