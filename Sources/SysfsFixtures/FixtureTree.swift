import Foundation
import ISCSIRootCore

/// How much of a captured directory to lay out.
public enum FixtureDetail: Sendable {
    /// Every captured attribute, the captured device-tree directories and `device` links.
    case complete
    /// Only what iscsi-rootd reads (states, timeouts, identity, scheduler, dev, inflight, stat): for
    /// trees with thousands of LUNs.
    case essential
}

/// A local (non-iSCSI) SCSI disk, built from the captured ATA device with its real devpath shape.
public enum LocalDiskKind: String, CaseIterable, Sendable {
    /// AHCI: `/devices/pci0000:00/0000:00:1f.2/ataP/hostH/targetH:0:0/H:0:0:0`.
    case sata
    /// usb-storage: `/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/hostH/targetH:0:0/H:0:0:0`.
    case usb
    /// virtio-scsi: `/devices/pci0000:00/0000:00:05.0/virtio2/hostH/targetH:0:0/H:0:0:0`.
    case virtioSCSI = "virtio-scsi"
}

/// Ways an attribute can fail the way real sysfs files fail.
public enum UnreadableKind: Sendable {
    /// A directory in its place: read and write fail with EISDIR.
    case directory
    /// A link to `/sys/kernel/uevent_seqnum`: it reads a number, and writing fails with EACCES even
    /// for root (sysfs refuses writes to attributes without a store method).
    case readOnly
    /// A link to `/proc/self/clear_refs`: reading fails with EINVAL, like `access_state` (as root;
    /// other users get EACCES).
    case invalidArgument
    /// A unix socket: opening fails with ENXIO, like `wwid` of QEMU's CD-ROM.
    case noSuchDevice
}

/// A SCSI device the builder laid out.
public struct FixtureDevice: Sendable, Hashable {
    /// `2:0:0:256`.
    public let hctl: String
    /// Its canonical directory relative to the sysfs root, e.g. `/devices/platform/host2/session1/target2:0:0/2:0:0:0`.
    public let devicePath: String
    /// `sda`, `sr1`, or nil for types without a block device.
    public let disk: String?

    /// The block device directory (`…/block/sda`), when there is one.
    public var diskPath: String? { disk.map { "\(devicePath)/block/\($0)" } }
}

/// An iSCSI session the builder laid out.
public struct FixtureSession: Sendable, Hashable {
    public let number: Int
    public let host: Int
    /// `/devices/platform/hostH/sessionS`.
    public let devicePath: String
    public let devices: [FixtureDevice]

    /// The block device names of its LUNs, in LUN order.
    public var disks: [String] { devices.compactMap(\.disk) }
}

/// A sysfs tree (`<dir>/sys`) and a system root (`<dir>/root` with `proc/self/mountinfo`, `proc/swaps`,
/// `etc/`) in a directory, laid out from the real captures in `Fixtures/captures`: the kernel's devpath
/// shapes, relative class links, captured attribute values and modes. Numbers (session, host, LUN,
/// minor, counters) are substituted; formats are never invented.
///
/// A tree made with `init()` lives in a fresh temporary directory that is removed on `deinit` (or by
/// `remove()`); `init(creatingAt:)` and `init(existingAt:)` keep theirs (for the simulator).
public final class FixtureTree {
    /// The directory holding `sys/` and `root/`.
    public let directory: String
    /// `<directory>/sys`.
    public let sysfs: FileTree
    /// `<directory>/root`.
    public let system: FileTree
    private let removesOnDeinit: Bool

    private var nextDiskIndex = 0
    private var nextCDROMIndex = 0
    private var nextGenericIndex = 0
    private var nextMapperIndex = 0
    private var nextHost = 0
    private var targetsOnHost: [Int: Int] = [:]
    private var mounts: [(point: String, majorMinor: String, fileSystem: String, source: String)] = []
    private var swaps: [(path: String, kind: String, kibibytes: UInt64)] = []
    private var removed = false
    private var adopted = false

    /// A new, empty tree in a fresh temporary directory, removed on deinit: under `$TMPDIR` when set,
    /// else in `/dev/shm` (tmpfs: creating thousands of small files on ext4 takes ~10 ms per LUN), else `/tmp`.
    public convenience init() throws {
        var temporary = ProcessInfo.processInfo.environment["TMPDIR"]
            ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory())
        while temporary.hasSuffix("/") { temporary.removeLast() }
        var template = Array((temporary + "/iscsi-rootd-fixture-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError.errno("mkdtemp", temporary) }
        try self.init(directory: String(cString: made), removesOnDeinit: true)
        try layOutSkeleton()
    }

    /// A new, empty tree at `directory` (created; must not hold a tree yet). Kept on deinit.
    public convenience init(creatingAt directory: String) throws {
        try Files.makeDirectories(directory)
        guard !Files.lstatExists(directory + "/sys") else {
            throw FixtureError(message: "\(directory)/sys already exists")
        }
        try self.init(directory: directory, removesOnDeinit: false)
        try layOutSkeleton()
    }

    /// A tree made earlier at `directory` (by `init(creatingAt:)`), to change in place: phases,
    /// attributes, devices. Kept on deinit. Its mounts and swaps were fixed when it was made.
    public convenience init(existingAt directory: String) throws {
        guard Files.isDirectory(directory + "/sys/class") else {
            throw FixtureError(message: "\(directory) holds no fixture tree (no sys/class)")
        }
        try self.init(directory: directory, removesOnDeinit: false)
        adopted = true
        adoptCounters()
    }

    private init(directory: String, removesOnDeinit: Bool) throws {
        var trimmed = directory
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.directory = trimmed
        self.sysfs = FileTree(root: trimmed + "/sys")
        self.system = FileTree(root: trimmed + "/root")
        self.removesOnDeinit = removesOnDeinit
    }

    deinit {
        if removesOnDeinit { remove() }
    }

    /// Deletes the whole directory now.
    public func remove() {
        guard !removed else { return }
        removed = true
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A scanner over this tree.
    public var scanner: TopologyScanner { TopologyScanner(sysfs: sysfs, system: system) }

    // MARK: iSCSI

    /// An iSCSI session `sessionN` under `hostH` (created with its iscsi_host/scsi_host when new), its
    /// connection `connectionN:0`, and one SCSI device per LUN (`H:0:T:L`, T counting sessions on the
    /// host). Type 0, 7 and 14 LUNs get an `sdX` disk, type 5 an `srN`. Values from the capture of
    /// `phase`; `target`, `portal` and `port` replace the captured ones when given.
    @discardableResult
    public func addISCSISession(number: Int, host: Int, phase: SessionPhase = .loggedIn, luns: [UInt64] = [0],
                                type: Int = 0, target: String? = nil, portal: String? = nil, port: Int? = nil,
                                detail: FixtureDetail = .complete) throws -> FixtureSession {
        let world = try CaptureLibrary.world(phase)
        guard !sysfs.exists("class/iscsi_session/session\(number)") else {
            throw FixtureError(message: "session\(number) exists already")
        }
        let hostPath = "/devices/platform/host\(host)"
        if !sysfs.exists("class/scsi_host/host\(host)") {
            try instantiate(world.iscsiSCSIHost, at: "\(hostPath)/scsi_host/host\(host)", detail: detail)
            try instantiate(world.iscsiHost, at: "\(hostPath)/iscsi_host/host\(host)", detail: detail)
        }
        nextHost = max(nextHost, host + 1)
        let targetNumber = targetsOnHost[host, default: 0]
        targetsOnHost[host] = targetNumber + 1

        let sessionPath = "\(hostPath)/session\(number)"
        var sessionValues: [String: String] = ["target_id": "\(targetNumber)"]
        if let target { sessionValues["targetname"] = target }
        try instantiate(world.session, at: "\(sessionPath)/iscsi_session/session\(number)", values: sessionValues,
                        detail: detail)
        var connectionValues: [String: String] = [:]
        if let portal { connectionValues["persistent_address"] = portal; connectionValues["address"] = portal }
        if let port { connectionValues["persistent_port"] = "\(port)"; connectionValues["port"] = "\(port)" }
        try instantiate(world.connection, at: "\(sessionPath)/connection\(number):0/iscsi_connection/connection\(number):0",
                        values: connectionValues, detail: detail)
        if detail == .complete {
            try Files.write(abs("\(sessionPath)/uevent"), "", mode: 0o644)
            try Files.write(abs("\(sessionPath)/connection\(number):0/uevent"), "", mode: 0o644)
        }
        var devices: [FixtureDevice] = []
        for lun in luns {
            devices.append(try addISCSILUN(session: number, lun: lun, type: type, phase: phase, detail: detail))
        }
        return FixtureSession(number: number, host: host, devicePath: sessionPath, devices: devices)
    }

    /// One more LUN on an existing session.
    @discardableResult
    public func addISCSILUN(session number: Int, lun: UInt64, type: Int = 0, phase: SessionPhase = .loggedIn,
                            detail: FixtureDetail = .complete) throws -> FixtureDevice {
        let world = try CaptureLibrary.world(phase)
        guard let sessionPath = sessionDevicePath(number),
              let host = sessionPath.split(separator: "/").compactMap({ Int(sysfsNumber: $0, after: "host") }).last
        else { throw FixtureError(message: "no session\(number)") }
        let targetNumber = sysfs.integer("class/iscsi_session/session\(number)/target_id").value ?? 0
        let target = "\(host):0:\(targetNumber)"
        let hctl = "\(target):\(lun)"
        let devicePath = "\(sessionPath)/target\(target)/\(hctl)"
        return try addSCSIDevice(template: world.iscsiDevice, world: world, hctl: hctl, devicePath: devicePath,
                                 type: type, values: [:], lunTree: world.lunTree, detail: detail)
    }

    /// Moves a session and its disks to the captured states of `phase`: session `state`; the
    /// connection's and iscsi_host's attributes (during a fault `address` and `port` fail to read,
    /// see `laidOutContent`); each disk's `state`.
    public func setPhase(_ phase: SessionPhase, session number: Int) throws {
        let world = try CaptureLibrary.world(phase)
        guard let sessionPath = sessionDevicePath(number) else { throw FixtureError(message: "no session\(number)") }
        if let state = world.session.attribute("state") {
            try layOut(state, at: "\(sessionPath)/iscsi_session/session\(number)/state", value: nil)
        }
        for name in sysfs.list(sessionPath) where name.hasPrefix("connection\(number):") {
            try applyPhase(world.connection, at: "\(sessionPath)/\(name)/iscsi_connection/\(name)",
                           copies: ["address": "persistent_address", "port": "persistent_port"])
        }
        if let host = sessionPath.split(separator: "/").compactMap({ Int(sysfsNumber: $0, after: "host") }).last,
           let hostPath = sysfs.resolve("class/iscsi_host/host\(host)") {
            try applyPhase(world.iscsiHost, at: hostPath, copies: [:])
        }
        guard let state = world.iscsiDevice.attribute("state") else { return }
        for target in sysfs.list(sessionPath) where target.hasPrefix("target") {
            for hctl in sysfs.list("\(sessionPath)/\(target)") where HCTL(hctl) != nil {
                try layOut(state, at: "\(sessionPath)/\(target)/\(hctl)/state", value: nil)
            }
        }
    }

    /// A phase's `state`, and its unreadable attributes (address, port and ipaddress fail with
    /// ENOTCONN during a fault); attributes readable again come back, `copies` from their persistent twins.
    private func applyPhase(_ template: CapturedDirectory, at path: String, copies: [String: String]) throws {
        for attribute in template.attributes {
            let file = "\(path)/\(attribute.name)"
            if attribute.name == "state" {
                try layOut(attribute, at: file, value: nil)
            } else if case .readError = attribute.content {
                try layOut(attribute, at: file, value: nil)
            } else if !Files.lstatExists(abs(file)) {
                let copied = copies[attribute.name].flatMap { sysfs.attribute("\(path)/\($0)").value }
                try layOut(attribute, at: file, value: copied)
            }
        }
    }

    /// Removes a session with its devices and links (a logout).
    public func removeSession(_ number: Int) throws {
        guard let sessionPath = sessionDevicePath(number) else { throw FixtureError(message: "no session\(number)") }
        for target in sysfs.list(sessionPath) where target.hasPrefix("target") {
            for hctl in sysfs.list("\(sessionPath)/\(target)") where HCTL(hctl) != nil { try removeDevice(hctl) }
        }
        for name in sysfs.list("class/iscsi_connection") where name.hasPrefix("connection\(number):") {
            try Files.remove(abs("/class/iscsi_connection/\(name)"))
        }
        try Files.remove(abs("/class/iscsi_session/session\(number)"))
        try Files.remove(abs(sessionPath))
    }

    // MARK: Local devices

    /// QEMU's ATA CD-ROM exactly as captured: `1:0:0:0` (type 5, `sr0`) under `ata2/host1`, with `ata1/host0`.
    @discardableResult
    public func addATACDROM() throws -> FixtureDevice {
        let world = try CaptureLibrary.world(.loggedIn)
        for host in world.ataHosts {
            let path = String(host.devicePath.dropFirst("/sys".count))
            try instantiate(host, at: path, detail: .complete)
            if let number = Int(sysfsNumber: Files.lastComponent(path), after: "host") { nextHost = max(nextHost, number + 1) }
        }
        let devicePath = String(world.ataDevice.devicePath.dropFirst("/sys".count))
        return try addSCSIDevice(template: world.ataDevice, world: world, hctl: Files.lastComponent(devicePath),
                                 devicePath: devicePath, type: 5, values: [:], lunTree: [], detail: .complete)
    }

    /// A local SCSI disk (type 0, `sdX`) on a new host, with the captured ATA device's attributes.
    @discardableResult
    public func addLocalDisk(_ kind: LocalDiskKind, vendor: String? = nil, model: String? = nil) throws -> FixtureDevice {
        let world = try CaptureLibrary.world(.loggedIn)
        let host = nextHost
        let hostPath: String
        let driver: String
        switch kind {
        case .sata:
            hostPath = "/devices/pci0000:00/0000:00:1f.2/ata\(host + 1)/host\(host)"
            driver = "ahci"
        case .usb:
            hostPath = "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host\(host)"
            driver = "usb-storage"
        case .virtioSCSI:
            hostPath = "/devices/pci0000:00/0000:00:05.0/virtio2/host\(host)"
            driver = "virtio_scsi"
        }
        guard let hostTemplate = world.ataHosts.last else { throw FixtureError(message: "no captured ATA host") }
        try instantiate(hostTemplate, at: "\(hostPath)/scsi_host/host\(host)", values: ["proc_name": driver],
                        detail: .complete)
        nextHost = host + 1
        // Inquiry strings are space-padded to 8 and 16 characters, as captured.
        let defaults: (String, String) = switch kind {
        case .sata: ("ATA", "QEMU HARDDISK")
        case .usb: ("QEMU", "QEMU HARDDISK")
        case .virtioSCSI: ("QEMU", "QEMU HARDDISK")
        }
        let hctl = "\(host):0:0:0"
        return try addSCSIDevice(template: world.ataDevice, world: world, hctl: hctl,
                                 devicePath: "\(hostPath)/target\(host):0:0/\(hctl)", type: 0,
                                 values: ["vendor": padded(vendor ?? defaults.0, to: 8),
                                          "model": padded(model ?? defaults.1, to: 16)],
                                 lunTree: [], detail: .complete)
    }

    // MARK: Block layers

    /// Partition `number` of `disk` (`sda2`): `partition`, `dev`, `start`, `size` and the captured
    /// block statistics files, plus `/sys/class/block` and `/sys/dev/block` links.
    @discardableResult
    public func addPartition(_ number: Int, of disk: String, startSector: UInt64 = 2048,
                             sectors: UInt64 = 131_072) throws -> String {
        let world = try CaptureLibrary.world(.loggedIn)
        guard let diskPath = sysfs.resolve("class/block/\(disk)"),
              let numbers = majorMinor(sysfs.attribute("class/block/\(disk)/dev").value ?? "") else {
            throw FixtureError(message: "no block device \(disk)")
        }
        let name = disk.last?.isNumber == true ? "\(disk)p\(number)" : "\(disk)\(number)"
        let path = "\(diskPath)/\(name)"
        let dev = substitutingNumbers(world.blockDev, [numbers.major, numbers.minor + UInt64(number)])
        try Files.makeDirectories(abs("\(path)/holders"))
        try Files.write(abs("\(path)/partition"), "\(number)\n", mode: 0o444)
        try Files.write(abs("\(path)/dev"), dev + "\n", mode: 0o444)
        try Files.write(abs("\(path)/start"), "\(startSector)\n", mode: 0o444)
        try writeBlockAttributes(world, at: path, names: ["size", "ro", "alignment_offset", "discard_alignment",
                                                          "inflight", "stat"], values: ["size": "\(sectors)"])
        try linkBlock(name: name, path: path, dev: dev, wholeDisk: false)
        return name
    }

    /// A dm-multipath map `dm-N` named `name` over the path disks `paths` (one LUN seen through several
    /// sessions): `dm/uuid` is `mpath-<WWID>`, the WWID being the first path's `device/wwid` as
    /// multipath-tools' `scsi_id` derives it (`naa.` becomes the NAA type `3`). Request-based, so its
    /// queue offers the captured schedulers.
    @discardableResult
    public func addMultipathMap(name mapped: String, paths: [String], sectors: UInt64 = 16_777_216) throws -> String {
        guard let first = paths.first, let wwid = sysfs.attribute("class/block/\(first)/device/wwid").value else {
            throw FixtureError(message: "no wwid for the paths \(paths)")
        }
        let id = wwid.hasPrefix("naa.") ? "3" + wwid.dropFirst(4) : wwid
        return try addDeviceMapper(name: mapped, over: paths, sectors: sectors, uuid: "mpath-\(id)", requestBased: true)
    }

    /// Partition `number` of a multipath map as kpartx makes it: `<map>-part<N>`, uuid `part<N>-<map uuid>`.
    @discardableResult
    public func addMapperPartition(_ number: Int, of map: String, sectors: UInt64 = 131_072) throws -> String {
        guard let name = sysfs.attribute("class/block/\(map)/dm/name").value,
              let uuid = sysfs.attribute("class/block/\(map)/dm/uuid").value else {
            throw FixtureError(message: "no device-mapper device \(map)")
        }
        return try addDeviceMapper(name: "\(name)-part\(number)", over: [map], sectors: sectors, uuid: "part\(number)-\(uuid)")
    }

    /// A device-mapper device `dm-N` named `name` (as LVM makes `vg-root`) over `slaves` (partitions
    /// or disks), with `slaves/` and the slaves' `holders/` links; `uuid` in `dm/uuid` (dm-sysfs.c:
    /// empty when the tool set none), `dm/suspended` 0. A request-based table (multipath) has a
    /// blk-mq queue with schedulers; bio-based ones read `none`.
    @discardableResult
    public func addDeviceMapper(name mapped: String, over slaves: [String], sectors: UInt64 = 131_072,
                                uuid: String = "", requestBased: Bool = false) throws -> String {
        let world = try CaptureLibrary.world(.loggedIn)
        let index = nextMapperIndex
        nextMapperIndex += 1
        let name = "dm-\(index)"
        let path = "/devices/virtual/block/\(name)"
        // Device-mapper's dynamic major on the captured machine comes before virtio-blk's 254.
        let dev = substitutingNumbers(world.blockDev, [253, UInt64(index)])
        try Files.write(abs("\(path)/dev"), dev + "\n", mode: 0o444)
        try Files.write(abs("\(path)/dm/name"), mapped + "\n", mode: 0o444)
        try Files.write(abs("\(path)/dm/uuid"), uuid + "\n", mode: 0o444)
        try Files.write(abs("\(path)/dm/suspended"), "0\n", mode: 0o444)
        // Bio-based device-mapper queues offer no scheduler: the file reads `none`.
        let scheduler = requestBased ? (world.blockAttributes["queue/scheduler"] ?? "none") : "none"
        try Files.write(abs("\(path)/queue/scheduler"), scheduler + "\n", mode: 0o644)
        try writeBlockAttributes(world, at: path, names: ["size", "ro", "removable", "inflight", "stat"],
                                 values: ["size": "\(sectors)"])
        try Files.makeDirectories(abs("\(path)/holders"))
        try Files.makeDirectories(abs("\(path)/slaves"))
        for slave in slaves {
            guard let slavePath = sysfs.resolve("class/block/\(slave)") else {
                throw FixtureError(message: "no block device \(slave)")
            }
            try Files.relativeSymlink(abs("\(path)/slaves/\(slave)"), to: abs(slavePath))
            try Files.relativeSymlink(abs("\(slavePath)/holders/\(name)"), to: abs(path))
        }
        try linkBlock(name: name, path: path, dev: dev, wholeDisk: true)
        return name
    }

    /// An md RAID array `md<number>` over `members` (disks or partitions): `md/level` as
    /// Documentation/admin-guide/md.rst shows it (`raid1`), `slaves/` and the members' `holders/` links,
    /// md's block major 9.
    @discardableResult
    public func addRAID(_ number: Int, level: String = "raid1", over members: [String], sectors: UInt64 = 131_072) throws -> String {
        let world = try CaptureLibrary.world(.loggedIn)
        let name = "md\(number)"
        let path = "/devices/virtual/block/\(name)"
        let dev = substitutingNumbers(world.blockDev, [9, UInt64(number)])
        try Files.write(abs("\(path)/dev"), dev + "\n", mode: 0o444)
        try Files.write(abs("\(path)/md/level"), level + "\n", mode: 0o644)
        try writeBlockAttributes(world, at: path, names: ["size", "ro", "removable", "inflight", "stat"],
                                 values: ["size": "\(sectors)"])
        try Files.makeDirectories(abs("\(path)/holders"))
        try Files.makeDirectories(abs("\(path)/slaves"))
        for member in members {
            guard let memberPath = sysfs.resolve("class/block/\(member)") else { throw FixtureError(message: "no block device \(member)") }
            try Files.relativeSymlink(abs("\(path)/slaves/\(member)"), to: abs(memberPath))
            try Files.makeDirectories(abs("\(memberPath)/holders"))
            try Files.relativeSymlink(abs("\(memberPath)/holders/\(name)"), to: abs(path))
        }
        try linkBlock(name: name, path: path, dev: dev, wholeDisk: true)
        return name
    }

    // MARK: System root

    /// A mount of block device `device` (`sda2`, `dm-0`) in `proc/self/mountinfo` (proc(5) format);
    /// device-mapper devices appear as `/dev/mapper/NAME` like LVM's. Mount `/` first.
    public func mount(point: String, device: String, fileSystem: String) throws {
        guard let dev = sysfs.attribute("class/block/\(device)/dev").value else {
            throw FixtureError(message: "no block device \(device)")
        }
        let source = sysfs.attribute("class/block/\(device)/dm/name").value.map { "/dev/mapper/\($0)" } ?? "/dev/\(device)"
        mounts.append((point, dev, fileSystem, source))
        try writeMountInfo()
    }

    /// An active swap partition (`/dev/sda3`) in `proc/swaps`.
    public func addSwap(device: String) throws {
        guard let sectors = sysfs.integer("class/block/\(device)/size").value else {
            throw FixtureError(message: "no block device \(device)")
        }
        // swapon uses the area minus its header page.
        swaps.append(("/dev/\(device)", "partition", UInt64(max(sectors / 2 - 4, 0))))
        try writeSwaps()
    }

    /// An active swap file in `proc/swaps`.
    public func addSwapFile(path: String, kibibytes: UInt64 = 1_048_572) throws {
        swaps.append((path, "file", kibibytes))
        try writeSwaps()
    }

    // MARK: Edits

    /// Writes `value` (plus the newline the kernel prints) into the attribute at `path` (relative to
    /// the sysfs root, links followed), keeping its mode; a file that is not there is created 0644.
    public func setAttribute(_ path: String, _ value: String) throws {
        let target = canonical(path)
        var info = stat()
        let mode = stat(abs(target), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? UInt16(info.st_mode & 0o7777) : 0o644
        try Files.write(abs(target), value + "\n", mode: mode)
    }

    /// Deletes the attribute at `path` (an attribute this kernel does not have).
    public func removeAttribute(_ path: String) throws {
        try Files.remove(abs(canonical(path)))
    }

    /// Writes a file under the system root (`etc/iscsi-rootd.conf`, `proc/self/mountinfo` …).
    public func writeSystemFile(_ path: String, _ text: String, mode: UInt16 = 0o644) throws {
        try Files.write(system.path(path), text, mode: mode)
    }

    /// Replaces the attribute at `path` by something that fails like a real sysfs file.
    public func makeUnreadable(_ path: String, _ kind: UnreadableKind) throws {
        let target = abs(canonical(path))
        try Files.remove(target)
        switch kind {
        case .directory: try Files.makeDirectories(target)
        case .readOnly: try Files.symlink(target, target: "/sys/kernel/uevent_seqnum")
        case .invalidArgument: try Files.symlink(target, target: "/proc/self/clear_refs")
        case .noSuchDevice: try Files.socketFile(target, scratch: directory + "/.socket-\(getpid())")
        }
    }

    /// Removes a SCSI device (hot-unplug, or a LUN unmapped between a scan and a write): its
    /// directory and every class, block and dev link to it and its partitions.
    public func removeDevice(_ hctl: String) throws {
        guard let devicePath = sysfs.resolve("class/scsi_device/\(hctl)/device") else {
            throw FixtureError(message: "no SCSI device \(hctl)")
        }
        for disk in sysfs.list("\(devicePath)/block") {
            let diskPath = "\(devicePath)/block/\(disk)"
            for name in [disk] + sysfs.list(diskPath).filter({ sysfs.exists("\(diskPath)/\($0)/partition") }) {
                if let dev = sysfs.attribute("class/block/\(name)/dev").value { try Files.remove(abs("/dev/block/\(dev)")) }
                try Files.remove(abs("/class/block/\(name)"))
            }
            try Files.remove(abs("/block/\(disk)"))
        }
        try Files.remove(abs("/class/scsi_device/\(hctl)"))
        try Files.remove(abs("/class/scsi_disk/\(hctl)"))
        try Files.remove(abs(devicePath))
    }

    /// `inflight` of a block device, in the kernel's `%8u %8u` layout as captured.
    public func setInflight(disk: String, reads: UInt64, writes: UInt64) throws {
        let world = try CaptureLibrary.world(.loggedIn)
        guard let template = world.blockAttributes["inflight"] else { throw FixtureError(message: "no captured inflight") }
        try setAttribute("class/block/\(disk)/inflight", substitutingNumbers(template, [reads, writes]))
    }

    /// `stat` of a block device: the 17 counters of the kernel's block/stat.rst, in the captured layout.
    public func setStat(disk: String, _ counters: [UInt64]) throws {
        let world = try CaptureLibrary.world(.loggedIn)
        guard let template = world.blockAttributes["stat"] else { throw FixtureError(message: "no captured stat") }
        let fields = template.split(separator: " ").count
        guard counters.count == fields else {
            throw FixtureError(message: "stat has \(fields) counters, got \(counters.count)")
        }
        try setAttribute("class/block/\(disk)/stat", substitutingNumbers(template, counters))
    }

    /// `proc/diskstats` under the system root, from every block device's `dev`, `stat` and `inflight`
    /// in the kernel's layout (block/genhd.c: `%4d %7d name`, then the counters of `stat`, the ninth
    /// the requests in flight; Documentation/admin-guide/iostats.rst). A tree has none until this is
    /// called (the daemon then reads each disk's own files); call it again after changing counters.
    public func writeDiskstats() throws {
        var lines: [String] = []
        for name in sysfs.list("class/block").sorted() {
            guard let dev = sysfs.attribute("class/block/\(name)/dev").value.flatMap(majorMinor),
                  case .success(let stat) = sysfs.read("class/block/\(name)/stat"),
                  case .success(let inflight) = sysfs.read("class/block/\(name)/inflight") else { continue }
            var counters = stat.split(separator: " ").map(String.init)
            let inFlight = inflight.split(separator: " ").compactMap { UInt64($0) }.reduce(0, +)
            if counters.count > 8 { counters[8] = String(inFlight) }
            let major = String(dev.major), minor = String(dev.minor)
            lines.append(String(repeating: " ", count: max(0, 4 - major.count)) + major + " "
                + String(repeating: " ", count: max(0, 7 - minor.count)) + minor + " " + name + " "
                + counters.joined(separator: " "))
        }
        try Files.write(system.path("proc/diskstats"), lines.map { $0 + "\n" }.joined(), mode: 0o444)
    }

    /// The device directory of a SCSI device, relative to the sysfs root (`class/scsi_device/H:C:T:L/device`).
    public static func deviceDirectory(_ hctl: String) -> String { "class/scsi_device/\(hctl)/device" }

    // MARK: Laying out

    private func abs(_ relative: String) -> String {
        relative.hasPrefix("/") ? sysfs.root + relative : sysfs.root + "/" + relative
    }

    /// `path` with every link resolved (so edits replace the file, not the class link); as given
    /// when it does not exist yet.
    private func canonical(_ path: String) -> String {
        if let resolved = sysfs.resolve(path) { return resolved }
        let parent = Files.parent(path.hasPrefix("/") ? path : "/" + path)
        return (sysfs.resolve(parent) ?? parent) + "/" + Files.lastComponent(path)
    }

    private func sessionDevicePath(_ number: Int) -> String? {
        sysfs.resolve("class/iscsi_session/session\(number)").map { Files.parent(Files.parent($0)) }
    }

    private func layOutSkeleton() throws {
        for directory in ["class/iscsi_session", "class/iscsi_connection", "class/iscsi_host", "class/scsi_host",
                          "class/scsi_device", "class/scsi_disk", "class/block", "block", "dev/block",
                          "devices/platform", "devices/virtual/block"] {
            try Files.makeDirectories(abs(directory))
        }
        try Files.makeDirectories(system.path("proc/self"))
        try Files.makeDirectories(system.path("etc"))
        try writeMountInfo()
        try writeSwaps()
    }

    private func adoptCounters() {
        for name in sysfs.list("class/block") {
            if name.hasPrefix("sd"), !name.contains(where: \.isNumber), let index = Self.diskIndex(name) {
                nextDiskIndex = max(nextDiskIndex, index + 1)
            } else if let number = Int(sysfsNumber: name, after: "sr") {
                nextCDROMIndex = max(nextCDROMIndex, number + 1)
            } else if let number = Int(sysfsNumber: name, after: "dm-") {
                nextMapperIndex = max(nextMapperIndex, number + 1)
            }
        }
        for name in sysfs.list("class/scsi_host") {
            if let number = Int(sysfsNumber: name, after: "host") { nextHost = max(nextHost, number + 1) }
        }
        nextGenericIndex = sysfs.list("class/scsi_device").count
    }

    /// The captured attributes of `template` into `devicePath`, plus the class link and `device` link.
    private func instantiate(_ template: CapturedDirectory, at devicePath: String, values: [String: String] = [:],
                             detail: FixtureDetail) throws {
        let essential = Self.essentialAttributes
        for attribute in template.attributes where detail == .complete || essential.contains(attribute.name) {
            try layOut(attribute, at: "\(devicePath)/\(attribute.name)", value: values[attribute.name])
        }
        // /sys/class/<cls>/<name> → ../../devices/…; <dev>/device → the parent device.
        let components = template.classPath.split(separator: "/")
        if components.count >= 4, components[1] == "class", components.last != "device" {
            let className = components[2]
            let name = Files.lastComponent(devicePath)
            try Files.relativeSymlink(abs("/class/\(className)/\(name)"), to: abs(devicePath))
            try Files.relativeSymlink(abs("\(devicePath)/device"), to: abs(Files.parent(Files.parent(devicePath))))
        }
    }

    /// One captured attribute at `path`, with `value` in place of the captured text when given.
    private func layOut(_ attribute: CapturedAttribute, at path: String, value: String?) throws {
        let target = abs(path)
        if let value {
            try Files.write(target, value + "\n", mode: attribute.mode)
            return
        }
        switch attribute.content {
        case .text(let text):
            // `cat` printed the text and its newline; an empty attribute printed nothing.
            try Files.write(target, text.isEmpty ? "" : text + "\n", mode: attribute.mode)
        case .binary(let bytes):
            try Files.write(target, bytes, mode: attribute.mode)
        case .writeOnly:
            try Files.write(target, [], mode: attribute.mode)
        case .readError(let message):
            switch message {
            case "Invalid argument": try makeUnreadable(path, .invalidArgument)
            case "No such device or address": try makeUnreadable(path, .noSuchDevice)
            default:
                // ENOTCONN, EOPNOTSUPP: no file in a plain directory fails that way; leave it out.
                try Files.remove(target)
            }
        }
    }

    /// A SCSI device from a captured scsi_device directory, its class links, and its block device.
    private func addSCSIDevice(template: CapturedDirectory, world: CapturedWorld, hctl: String, devicePath: String,
                               type: Int, values: [String: String], lunTree: [String],
                               detail: FixtureDetail) throws -> FixtureDevice {
        guard !sysfs.exists("class/scsi_device/\(hctl)") else { throw FixtureError(message: "\(hctl) exists already") }
        var values = values
        if template.attribute("type").map({ $0.content != .text("\(type)") }) ?? true {
            // Another peripheral type: the type, modalias and uevent of that type (sd for disks, sr for CD-ROMs).
            values["type"] = "\(type)"
            let modalias = "scsi:t-0x" + String(format: "%02x", type)
            values["modalias"] = modalias
            values["uevent"] = "DEVTYPE=scsi_device\nDRIVER=\(type == 5 ? "sr" : "sd")\nMODALIAS=\(modalias)"
        }
        let essential = Self.essentialAttributes
        for attribute in template.attributes where detail == .complete || essential.contains(attribute.name) {
            try layOut(attribute, at: "\(devicePath)/\(attribute.name)", value: values[attribute.name])
        }
        try Files.relativeSymlink(abs("/class/scsi_device/\(hctl)"), to: abs("\(devicePath)/scsi_device/\(hctl)"))
        try Files.relativeSymlink(abs("\(devicePath)/scsi_device/\(hctl)/device"), to: abs(devicePath))

        let disk: String?
        let dev: String?
        if [0, 7, 14].contains(type) {
            let index = nextDiskIndex
            nextDiskIndex += 1
            disk = Self.diskName(index)
            let numbers = Self.diskMajorMinor(index)
            dev = substitutingNumbers(world.blockDev, [numbers.major, numbers.minor])
            try Files.relativeSymlink(abs("/class/scsi_disk/\(hctl)"), to: abs("\(devicePath)/scsi_disk/\(hctl)"))
            try Files.relativeSymlink(abs("\(devicePath)/scsi_disk/\(hctl)/device"), to: abs(devicePath))
        } else if type == 5 {
            disk = "sr\(nextCDROMIndex)"
            dev = substitutingNumbers(world.blockDev, [11, UInt64(nextCDROMIndex)])
            nextCDROMIndex += 1
        } else {
            disk = nil
            dev = nil
        }
        let generic = "sg\(nextGenericIndex)"
        nextGenericIndex += 1
        if detail == .complete {
            // The captured device tree's directories and `device` links, renamed for this device.
            let templateDisk = lunTree.first { $0.hasPrefix("block/") && $0.split(separator: "/").count == 2 }
                .map { Files.lastComponent($0) }
            let templateHCTL = Files.lastComponent(String(world.iscsiDevice.devicePath))
            let parents = Set(lunTree.map { Files.parent("/" + $0) })
            for entry in lunTree {
                var components = entry.split(separator: "/").map(String.init)
                if components.first == "block" && disk == nil { continue }
                if components.first == "scsi_disk" && type == 5 { continue }
                components = components.map { component in
                    if component == templateHCTL { return hctl }
                    if component == templateDisk, let disk { return disk }
                    if component.hasPrefix("sg"), Int(sysfsNumber: component, after: "sg") != nil { return generic }
                    return component
                }
                let path = "\(devicePath)/" + components.joined(separator: "/")
                if parents.contains("/" + entry) || ["holders", "slaves"].contains(components.last) {
                    try Files.makeDirectories(abs(path))
                } else if components.last == "device" {
                    // Every `device` link below a SCSI device (block, bsg, scsi_device, scsi_disk,
                    // scsi_generic) points at the device itself.
                    if Files.parent(path) != devicePath && !Files.lstatExists(abs(path)) {
                        try Files.relativeSymlink(abs(path), to: abs(devicePath))
                    }
                }
            }
        }
        if let disk, let dev {
            let diskPath = "\(devicePath)/block/\(disk)"
            try Files.write(abs("\(diskPath)/dev"), dev + "\n", mode: 0o444)
            try Files.makeDirectories(abs("\(diskPath)/holders"))
            try Files.makeDirectories(abs("\(diskPath)/slaves"))
            try Files.relativeSymlink(abs("\(diskPath)/device"), to: abs(devicePath))
            var blockValues: [String: String] = [:]
            if type == 5 { blockValues["removable"] = "1"; blockValues["ro"] = "1" }
            let names = detail == .complete ? Array(world.blockAttributes.keys)
                : ["queue/scheduler", "inflight", "stat"]
            try writeBlockAttributes(world, at: diskPath, names: names, values: blockValues)
            try linkBlock(name: disk, path: diskPath, dev: dev, wholeDisk: true)
        }
        return FixtureDevice(hctl: hctl, devicePath: devicePath, disk: disk)
    }

    private func writeBlockAttributes(_ world: CapturedWorld, at path: String, names: [String],
                                      values: [String: String]) throws {
        for name in names {
            guard let captured = values[name] ?? world.blockAttributes[name] else { continue }
            let writable = Self.writableBlockAttributes.contains(name)
            try Files.write(abs("\(path)/\(name)"), captured + "\n", mode: writable ? 0o644 : 0o444)
        }
    }

    private func linkBlock(name: String, path: String, dev: String, wholeDisk: Bool) throws {
        try Files.relativeSymlink(abs("/class/block/\(name)"), to: abs(path))
        try Files.relativeSymlink(abs("/dev/block/\(dev)"), to: abs(path))
        if wholeDisk { try Files.relativeSymlink(abs("/block/\(name)"), to: abs(path)) }
    }

    private func writeMountInfo() throws {
        guard !adopted else { throw FixtureError(message: "mounts of an existing tree are fixed") }
        // proc(5): ID PARENT MAJ:MIN ROOT POINT OPTIONS OPTIONAL… - FSTYPE SOURCE SUPEROPTIONS
        let base: [(String, String, String, String)] = [
            ("/proc", "0:22", "proc", "proc"), ("/sys", "0:21", "sysfs", "sysfs"),
            ("/dev", "0:5", "devtmpfs", "udev"), ("/run", "0:24", "tmpfs", "tmpfs"),
        ]
        let rootFirst = mounts.filter { $0.point == "/" } + mounts.filter { $0.point != "/" }
        var lines: [String] = []
        var id = 21
        for (point, dev, fileSystem, source) in rootFirst.map({ ($0.point, $0.majorMinor, $0.fileSystem, $0.source) }) + base {
            let parent = point == "/" ? 1 : 21
            lines.append("\(id) \(parent) \(dev) / \(Self.escaped(point)) rw,relatime shared:\(id - 20) - "
                         + "\(fileSystem) \(Self.escaped(source)) rw")
            id += 1
        }
        try Files.write(system.path("proc/self/mountinfo"), lines.joined(separator: "\n") + "\n", mode: 0o444)
    }

    private func writeSwaps() throws {
        guard !adopted else { throw FixtureError(message: "swaps of an existing tree are fixed") }
        // mm/swapfile.c swap_show(): the path padded to 40 columns, then tab-separated columns.
        var text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        for (index, swap) in swaps.enumerated() {
            let path = Self.escaped(swap.path)
            let padding = String(repeating: " ", count: path.count < 40 ? 40 - path.count : 1)
            let kind = swap.kind == "file" ? "file\t" : "partition"
            text += "\(path)\(padding)\(kind)\t\(swap.kibibytes)\t\(swap.kibibytes < 10_000_000 ? "\t" : "")0\t\t-\(index + 2)\n"
        }
        try Files.write(system.path("proc/swaps"), text, mode: 0o444)
    }

    /// Space, tab, newline and backslash as the kernel escapes them in mountinfo and swaps.
    static func escaped(_ path: String) -> String {
        var result = ""
        for character in path {
            switch character {
            case " ": result += "\\040"
            case "\t": result += "\\011"
            case "\n": result += "\\012"
            case "\\": result += "\\134"
            default: result.append(character)
            }
        }
        return result
    }

    /// `sda`, …, `sdz`, `sdaa`, … as `sd_format_disk_name` names them.
    static func diskName(_ index: Int) -> String {
        var name = ""
        var value = index
        repeat {
            name = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(value % 26))) + name
            value = value / 26 - 1
        } while value >= 0
        return "sd" + name
    }

    /// The inverse of `diskName`.
    static func diskIndex(_ name: String) -> Int? {
        guard name.hasPrefix("sd"), name.count > 2 else { return nil }
        var value = 0
        for scalar in name.unicodeScalars.dropFirst(2) {
            guard scalar.value >= 97 && scalar.value <= 122 else { return nil }
            value = value * 26 + Int(scalar.value - 96)
        }
        return value - 1
    }

    /// sd's numbering: majors 8, 65–71, 128–135 for 16 disks each, then the extended minors.
    static func diskMajorMinor(_ index: Int) -> (major: UInt64, minor: UInt64) {
        let group = (index & 0xf0) >> 4
        let major = group == 0 ? 8 : group < 8 ? 64 + group : 120 + group
        let minor = ((index & 0xf) << 4) | (index & 0xfff00)
        return (UInt64(major), UInt64(minor))
    }

    /// Attributes iscsi-rootd reads; `.essential` trees hold only these.
    static let essentialAttributes: Set<String> = [
        "state", "target_state", "targetname", "tpgt", "recovery_tmo", "ifacename", "initiatorname", "creator",
        "target_id", "persistent_address", "persistent_port", "ping_tmo", "recv_tmo", "address", "port",
        "netdev", "ipaddress", "proc_name", "type", "timeout", "eh_timeout", "vendor", "model",
    ]

    /// Block attributes whose capture shows them writable (`ls -l` of `queue/`).
    static let writableBlockAttributes: Set<String> = [
        "queue/scheduler", "queue/add_random", "queue/discard_max_bytes", "queue/io_poll", "queue/io_poll_delay",
        "queue/io_timeout", "queue/iostats", "queue/max_sectors_kb", "queue/nomerges", "queue/nr_requests",
        "queue/read_ahead_kb", "queue/rotational", "queue/rq_affinity", "queue/stable_writes",
        "queue/wbt_lat_usec", "queue/write_cache", "events_poll_msecs",
    ]
}

/// Replaces each number in `template` by the next of `numbers`, keeping the field widths (`%8u`
/// columns stay 8 wide, a separating space stays).
func substitutingNumbers(_ template: String, _ numbers: [UInt64]) -> String {
    var result = ""
    var pendingSpaces = 0
    var atStart = true
    var remaining = numbers[...]
    var characters = template[...]
    while let character = characters.first {
        if character == " " {
            pendingSpaces += 1
            characters.removeFirst()
        } else if character.isASCII && character.isNumber {
            let digits = characters.prefix { $0.isASCII && $0.isNumber }
            characters = characters.dropFirst(digits.count)
            let replacement = remaining.popFirst().map(String.init) ?? String(digits)
            let width = pendingSpaces + digits.count - (atStart ? 0 : min(pendingSpaces, 1))
            if !atStart && pendingSpaces > 0 { result += " " }
            result += String(repeating: " ", count: max(width - replacement.count, 0)) + replacement
            pendingSpaces = 0
            atStart = false
        } else {
            result += String(repeating: " ", count: pendingSpaces) + String(character)
            pendingSpaces = 0
            atStart = false
            characters.removeFirst()
        }
    }
    return result + String(repeating: " ", count: pendingSpaces)
}

/// `8:16` → (8, 16).
func majorMinor(_ text: String) -> (major: UInt64, minor: UInt64)? {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let major = UInt64(parts[0]), let minor = UInt64(parts[1]) else { return nil }
    return (major, minor)
}

/// Left-aligned, space-padded as SCSI INQUIRY strings read back from sysfs.
func padded(_ text: String, to width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

extension Int {
    /// `42` from `host42` with prefix `host`.
    init?(sysfsNumber name: some StringProtocol, after prefix: String) {
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else { return nil }
        self = value
    }
}
