/// Reads a `Topology` from a sysfs tree and a system root (for `/proc/self/mountinfo` and
/// `/proc/swaps`). Reads only; every missing or odd attribute becomes an unknown `Reading`.
///
/// A SCSI device is iSCSI when its devpath has a `sessionN` ancestor that is an `iscsi_session`
/// (the way multipath-tools decides). Each directory is listed once, so the work grows linearly
/// with the number of LUNs.
public struct TopologyScanner: Sendable {
    public let sysfs: FileTree
    public let system: FileTree

    public init(sysfs: FileTree, system: FileTree) {
        self.sysfs = sysfs
        self.system = system
    }

    public func scan() -> Topology {
        if let unreadable {
            return Topology(sessions: [], hosts: [], devices: [], chains: [], unreadable: unreadable)
        }
        let sessions = scanSessions()
        let sessionNumbers = Set(sessions.map(\.number))
        let devices = scanDevices(iscsiSessions: sessionNumbers)
        let hostNumbers = Set(sessions.compactMap(\.hostNumber)).union(devices.filter(\.isISCSI).map(\.hctl.host))
        let hosts = hostNumbers.sorted().map(scanHost)
        let chains = scanChains(iscsiDisks: Set(devices.filter(\.isISCSI).compactMap(\.disk?.name)))
        return Topology(sessions: sessions, hosts: hosts, devices: devices, chains: chains,
                        maps: scanMultipathMaps(devices: devices))
    }

    /// Why the tree is no sysfs (no `class`), or nil.
    public var unreadable: String? {
        sysfs.exists("class") ? nil : "\(sysfs.path("class")) does not exist: is \(sysfs.path("")) a sysfs?"
    }

    /// What `apply` needs and no more: every SCSI device read at `.tuning` detail, with the session
    /// numbers from their names. A quarter of the full scan's system calls per disk; `apply`'s
    /// decisions and output are the same (only sessions, hosts, mounts and maps are left out).
    public func scanForTuning() -> (devices: [SCSIDevice], unreadable: String?) {
        if let unreadable { return ([], unreadable) }
        return (scanDevices(iscsiSessions: sessionNumbers(), detail: .tuning), nil)
    }

    // MARK: Sessions

    /// Every `iscsi_session`, with its connections.
    public func scanSessions() -> [ISCSISession] {
        var connectionsBySession: [Int: [String]] = [:]
        for name in sysfs.list("class/iscsi_connection") {
            guard let number = Self.number(after: "connection", in: name, upTo: ":") else { continue }
            connectionsBySession[number, default: []].append(name)
        }
        return sysfs.list("class/iscsi_session").compactMap { name -> ISCSISession? in
            guard let number = Self.number(after: "session", in: name) else { return nil }
            return readSession(number: number, connections: connectionsBySession[number] ?? [])
        }.sorted { $0.number < $1.number }
    }

    /// The numbers of the sessions there are now (names only; cheaper than `scanSessions`).
    public func sessionNumbers() -> Set<Int> {
        Set(sysfs.list("class/iscsi_session").compactMap { Self.number(after: "session", in: $0) })
    }

    func readSession(number: Int, connections: [String]) -> ISCSISession {
        let dir = "class/iscsi_session/\(ISCSISession.name(number))"
        // …/hostH/sessionN/iscsi_session/sessionN → …/hostH/sessionN
        let devpath = sysfs.resolve(dir).map { Self.parent(Self.parent($0)) } ?? ""
        let hostNumber = devpath.split(separator: "/").reversed().dropFirst().lazy
            .compactMap { Self.number(after: "host", in: $0) }.first
        return ISCSISession(
            number: number, devpath: devpath, hostNumber: hostNumber,
            state: sysfs.attribute("\(dir)/state").map(SessionState.init),
            targetState: sysfs.attribute("\(dir)/target_state"),
            targetName: sysfs.attribute("\(dir)/targetname"),
            tpgt: sysfs.integer("\(dir)/tpgt"),
            recoveryTimeout: sysfs.attribute("\(dir)/recovery_tmo").map(RecoveryTimeout.init(sysfs:)),
            ifaceName: sysfs.attribute("\(dir)/ifacename"),
            initiatorName: sysfs.attribute("\(dir)/initiatorname"),
            creator: sysfs.integer("\(dir)/creator"),
            connections: connections.sorted().map(readConnection))
    }

    func readConnection(name: String) -> ISCSIConnection {
        let dir = "class/iscsi_connection/\(name)"
        return ISCSIConnection(
            name: name,
            state: sysfs.attribute("\(dir)/state").map(ConnectionState.init),
            persistentAddress: sysfs.attribute("\(dir)/persistent_address"),
            persistentPort: sysfs.integer("\(dir)/persistent_port"),
            pingTimeout: sysfs.integer("\(dir)/ping_tmo"),
            receiveTimeout: sysfs.integer("\(dir)/recv_tmo"))
    }

    func scanHost(number: Int) -> SCSIHost {
        SCSIHost(number: number,
                 state: sysfs.attribute("class/scsi_host/host\(number)/state").map(HostState.init),
                 netdev: sysfs.attribute("class/iscsi_host/host\(number)/netdev"),
                 ipAddress: sysfs.attribute("class/iscsi_host/host\(number)/ipaddress"))
    }

    // MARK: SCSI devices

    /// How much of a SCSI device is read.
    public enum DeviceDetail: Sendable {
        /// Every attribute `status` shows.
        case full
        /// What `DiskPolicy.applies` and `DiskTuner` decide on: the transport (session), the type,
        /// the disk's name and multipath holder. The tuner reads the timeout and scheduler itself,
        /// before and after writing, so they are not read here; state, timeouts, vendor, model,
        /// scheduler and partitions stay unknown ("not read").
        case tuning
    }

    /// Every SCSI device, iSCSI or not.
    public func scanDevices(iscsiSessions: Set<Int>, detail: DeviceDetail = .full) -> [SCSIDevice] {
        sysfs.list("class/scsi_device").compactMap { name -> SCSIDevice? in
            guard let hctl = HCTL(name) else { return nil }
            return readDevice(hctl: hctl, iscsiSessions: iscsiSessions, detail: detail)
        }.sorted { $0.hctl < $1.hctl }
    }

    /// One SCSI device, or nil when it vanished.
    public func readDevice(hctl: HCTL, iscsiSessions: Set<Int>, detail: DeviceDetail = .full) -> SCSIDevice? {
        // `class/scsi_device/H:C:T:L` → `…/H:C:T:L/scsi_device/H:C:T:L`: one readlink, not one per component.
        // The kernel's device directories are never links: a path reached through one (planted in a
        // --sysfs tree) is not taken as it reads, but resolved, and refused when it leads out of the
        // tree, so the tuner's writes and `status` see the same chain.
        guard let devpath = sysfs.kernelLinkTarget("class/scsi_device/\(hctl)").map({ Self.parent(Self.parent($0)) })
                .flatMap({ sysfs.isDirectoryWithoutLinks("\($0)/scsi_device/\(hctl)") ? $0 : nil })
                ?? sysfs.resolve("class/scsi_device/\(hctl)/device") else { return nil }
        let dir = devpath
        let sessionNumber = devpath.split(separator: "/").lazy
            .compactMap { Self.number(after: "session", in: $0) }
            .first { iscsiSessions.contains($0) }
        if detail == .tuning {
            return SCSIDevice(hctl: hctl, devpath: devpath, sessionNumber: sessionNumber, type: sysfs.integer("\(dir)/type"),
                              state: .unknown(Self.notRead), timeout: .unknown(Self.notRead), ehTimeout: .unknown(Self.notRead),
                              vendor: .unknown(Self.notRead), model: .unknown(Self.notRead),
                              disk: readDisk(deviceDirectory: devpath, detail: detail))
        }
        return SCSIDevice(
            hctl: hctl, devpath: devpath, sessionNumber: sessionNumber,
            type: sysfs.integer("\(dir)/type"),
            state: sysfs.attribute("\(dir)/state").map(DeviceState.init),
            timeout: sysfs.integer("\(dir)/timeout"),
            ehTimeout: sysfs.integer("\(dir)/eh_timeout"),
            vendor: sysfs.attribute("\(dir)/vendor"),
            model: sysfs.attribute("\(dir)/model"),
            disk: readDisk(deviceDirectory: devpath, detail: detail))
    }

    /// The reason of an attribute a `.tuning` read leaves out.
    static let notRead = "not read"

    func readDisk(deviceDirectory devpath: String, detail: DeviceDetail = .full) -> BlockDisk? {
        guard let name = sysfs.list("\(devpath)/block").sorted().first else { return nil }
        let dir = "\(devpath)/block/\(name)"
        let multipathHolder = sysfs.list("\(dir)/holders").sorted().first { holder in
            holder.hasPrefix("dm-") && deviceMapperKind(holder) == .multipath
        }
        if detail == .tuning {
            return BlockDisk(name: name, scheduler: .unknown(Self.notRead), partitions: [], multipathHolder: multipathHolder)
        }
        let partitions = sysfs.list(dir).filter { $0.hasPrefix(name) && sysfs.exists("\(dir)/\($0)/partition") }
        return BlockDisk(name: name,
                         scheduler: sysfs.attribute("\(dir)/queue/scheduler").map(Scheduler.init(sysfs:)),
                         partitions: partitions.sorted(), multipathHolder: multipathHolder)
    }

    // MARK: Multipath

    /// Every dm-multipath map (`dm/uuid` `mpath-<WWID>`), its paths (`slaves/`), and whether it
    /// queues with no path left according to multipath.conf (read under the system root).
    public func scanMultipathMaps(devices: [SCSIDevice]) -> [MultipathMap] {
        var conf: MultipathConf?
        return sysfs.list("class/block").filter { $0.hasPrefix("dm-") }.compactMap { name -> MultipathMap? in
            guard let uuid = sysfs.attribute("class/block/\(name)/dm/uuid").value, uuid.hasPrefix("mpath-") else { return nil }
            let wwid = String(uuid.dropFirst("mpath-".count))
            let paths = sysfs.list("class/block/\(name)/slaves").sorted()
            let config = conf ?? MultipathConf.load(from: system)
            conf = config
            let first = paths.lazy.compactMap { path in devices.first { $0.disk?.name == path } }.first
            return MultipathMap(name: sysfs.attribute("class/block/\(name)/dm/name").value ?? name, wwid: wwid, dm: name,
                                paths: paths,
                                queueing: config.queueing(wwid: wwid, vendor: first?.vendor.value, product: first?.model.value))
        }.sorted { $0.name < $1.name }
    }

    /// What a device-mapper device is, from its `dm/uuid`; nil when unreadable.
    func deviceMapperKind(_ name: String) -> BlockLayerKind? {
        sysfs.attribute("class/block/\(name)/dm/uuid").value.map(BlockLayerKind.init(deviceMapperUUID:))
    }

    // MARK: Storage chains

    /// `/`, `/usr` and swap, then every other block-backed mount on one of `iscsiDisks`.
    public func scanChains(iscsiDisks: Set<String>) -> [StorageChain] {
        let mounts: [MountEntry]
        // A host with thousands of mounts (containers) has a mountinfo well beyond 1 MiB.
        switch system.read("proc/self/mountinfo", limit: 64 << 20) {
        case .success(let text): mounts = MountEntry.parseMountInfo(text)
        case .failure: mounts = []
        }
        let index = MountIndex(mounts)
        var chains: [StorageChain] = []
        for use in [StorageUse.root, .usr] {
            // The last mount on a point is the visible one.
            if let entry = index.visible[use.description] {
                chains.append(chain(use: use, mount: entry, mounts: index))
            }
        }
        if case .success(let text) = system.read("proc/swaps") {
            for swap in SwapEntry.parseSwaps(text) {
                chains.append(swapChain(swap, mounts: index))
            }
        }
        var seen = Set(chains.map(\.use.description))
        for entry in mounts.reversed() where !seen.contains(entry.mountPoint) {
            seen.insert(entry.mountPoint)
            let candidate = chain(use: .mount(entry.mountPoint), mount: entry, mounts: index)
            if candidate.disks.contains(where: iscsiDisks.contains) { chains.append(candidate) }
        }
        return chains
    }

    func chain(use: StorageUse, mount: MountEntry, mounts: MountIndex) -> StorageChain {
        let tracer = StackTracer(scanner: self, mounts: mounts)
        let top = tracer.trace(mount: mount, depth: 0)
        return tracer.chain(use: use, source: top.block ?? mount.source, fileSystem: mount.fileSystem,
                            overlay: mount.fileSystem == StackTracer.overlayType ? mount.mountPoint : nil, readOnly: mount.readOnly)
    }

    func swapChain(_ swap: SwapEntry, mounts: MountIndex) -> StorageChain {
        let tracer = StackTracer(scanner: self, mounts: mounts)
        if swap.kind == "file" {
            // A swap file lives on the file system of the longest mount point that contains it.
            if let holder = mounts.holder(of: swap.path) { _ = tracer.trace(mount: holder, depth: 0) }
            return tracer.chain(use: .swap, source: swap.path, fileSystem: "swap", overlay: nil)
        }
        let block = blockName(devicePath: swap.path)
        if let block { tracer.traceBlocks(from: block, depth: 0) }
        return tracer.chain(use: .swap, source: block ?? swap.path, fileSystem: "swap", overlay: nil)
    }

    /// The block device a mount is on, or why a block device that mountinfo names is unknown to
    /// sysfs (then nobody can tell whether it rests on iSCSI); both nil for tmpfs, overlay, NFS.
    func block(of mount: MountEntry) -> (name: String?, untraced: String?) {
        let block = blockName(majorMinor: mount.majorMinor) ?? blockName(devicePath: mount.source)
        if block == nil && (!mount.majorMinor.hasPrefix("0:") || mount.source.hasPrefix("/dev/")) {
            return (nil, "mountinfo names \(mount.source) (\(mount.majorMinor)) on \(mount.mountPoint), but neither "
                        + "\(sysfs.path("dev/block/\(mount.majorMinor)")) nor class/block leads to it")
        }
        return (block, nil)
    }

    /// Why each SCSI device that `class/scsi_device` lists but `devices` lacks could not be read
    /// (its link dangles, or leads out of the tree): `apply` says so rather than "no iSCSI disks".
    public func untraceableDevices(besides devices: [SCSIDevice]) -> [String] {
        let read = Set(devices.map(\.hctl))
        return sysfs.list("class/scsi_device").compactMap { HCTL($0) }.filter { !read.contains($0) }.sorted().compactMap {
            brokenLink("class/scsi_device/\($0)") ?? brokenLink("class/scsi_device/\($0)/device")
        }
    }

    /// Why `relative` (a sysfs link) cannot be followed: missing, or dangling; nil when it can.
    func brokenLink(_ relative: String) -> String? {
        if sysfs.resolve(relative) != nil { return nil }
        if sysfs.leadsOutside(relative) { return "\(sysfs.path(relative)) leads outside \(sysfs.root)" }
        return sysfs.hasEntry(relative) ? "\(sysfs.path(relative)) is a dangling link" : "\(sysfs.path(relative)) is missing"
    }

    /// A block device whose `device` link dangles, or leads to a SCSI device that
    /// `class/scsi_device` does not list (or lists with a dangling link): the disk's transport is unknown.
    func brokenDeviceLink(ofBlock dir: String) -> String? {
        guard sysfs.hasEntry("\(dir)/device") else { return nil }
        guard let device = sysfs.resolve("\(dir)/device") else { return brokenLink("\(dir)/device") }
        guard let hctl = HCTL(Self.lastComponent(device)) else { return nil }
        return brokenLink("class/scsi_device/\(hctl)/device")
    }

    /// The block device behind `8:2`, through `/sys/dev/block`.
    func blockName(majorMinor: String) -> String? {
        guard !majorMinor.hasPrefix("0:"), let resolved = sysfs.resolve("dev/block/\(majorMinor)") else { return nil }
        return Self.lastComponent(resolved)
    }

    /// The block device behind `/dev/sda2`, `/dev/dm-0` or `/dev/mapper/vg-root`.
    func blockName(devicePath: String) -> String? {
        if devicePath.hasPrefix("/dev/mapper/") {
            let mapped = String(devicePath.dropFirst("/dev/mapper/".count))
            return sysfs.list("class/block").first { name in
                name.hasPrefix("dm-") && sysfs.attribute("class/block/\(name)/dm/name").value == mapped
            }
        }
        guard devicePath.hasPrefix("/dev/") else { return nil }
        // A name, never "." or "..": paths built from it stay under the sysfs root.
        let name = Self.lastComponent(devicePath)
        guard !name.isEmpty, name != ".", name != ".." else { return nil }
        return sysfs.exists("class/block/\(name)") ? name : nil
    }

    // MARK: Path helpers (the fixtures build their trees with them too)

    /// `42` from `session42` (with `prefix` "session"); stops at `terminator` when given.
    public static func number(after prefix: String, in name: some StringProtocol, upTo terminator: Character? = nil) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        var digits = name.dropFirst(prefix.count)
        if let terminator, let end = digits.firstIndex(of: terminator) { digits = digits[..<end] }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(bounded: digits, in: 0...Int(UInt32.max))
    }

    /// `/a/b` from `/a/b/c`; "" when there is no slash.
    public static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// `c` from `/a/b/c`.
    public static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
