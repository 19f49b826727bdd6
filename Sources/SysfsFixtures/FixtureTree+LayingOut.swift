import Foundation
import ISCSIRootCore

/// Laying captured directories and attributes out, and the kernel's naming of disks.
extension FixtureTree {
    func abs(_ relative: String) -> String {
        relative.hasPrefix("/") ? sysfs.root + relative : sysfs.root + "/" + relative
    }

    /// `path` with every link resolved (so edits replace the file, not the class link); as given
    /// when it does not exist yet.
    func canonical(_ path: String) -> String {
        if let resolved = sysfs.resolve(path) { return resolved }
        let parent = TopologyScanner.parent(path.hasPrefix("/") ? path : "/" + path)
        return (sysfs.resolve(parent) ?? parent) + "/" + TopologyScanner.lastComponent(path)
    }

    func sessionDevicePath(_ number: Int) -> String? {
        sysfs.resolve("class/iscsi_session/session\(number)").map { TopologyScanner.parent(TopologyScanner.parent($0)) }
    }

    /// The kernel the captures were taken on (`uname -r` in Fixtures/captures/kernel-6.1-lio-loopback).
    public static let kernelRelease = "6.1.0-56-amd64"

    func layOutSkeleton() throws {
        for directory in ["class/iscsi_session", "class/iscsi_connection", "class/iscsi_host", "class/scsi_host",
                          "class/scsi_device", "class/scsi_disk", "class/block", "block", "dev/block",
                          "devices/platform", "devices/virtual/block"] {
            try Files.makeDirectories(abs(directory))
        }
        try Files.makeDirectories(system.path("proc/self"))
        try Files.makeDirectories(system.path("etc"))
        // The running kernel, with its modules where the kernel package put them (check's boot-files item).
        try Files.write(system.path("proc/sys/kernel/osrelease"), Self.kernelRelease + "\n", mode: 0o444)
        try Files.makeDirectories(system.path("lib/modules/\(Self.kernelRelease)"))
        try writeMountInfo()
        try writeSwaps()
    }

    func adoptCounters() {
        for name in sysfs.list("class/block") {
            if name.hasPrefix("sd"), !name.contains(where: \.isNumber), let index = Self.diskIndex(name) {
                nextDiskIndex = max(nextDiskIndex, index + 1)
            } else if let number = TopologyScanner.number(after: "sr", in: name) {
                nextCDROMIndex = max(nextCDROMIndex, number + 1)
            } else if let number = TopologyScanner.number(after: "dm-", in: name) {
                nextMapperIndex = max(nextMapperIndex, number + 1)
            }
        }
        for name in sysfs.list("class/scsi_host") {
            if let number = TopologyScanner.number(after: "host", in: name) { nextHost = max(nextHost, number + 1) }
        }
        nextGenericIndex = sysfs.list("class/scsi_device").count
    }

    /// The captured attributes of `template` into `devicePath`, plus the class link and `device` link.
    func instantiate(_ template: CapturedDirectory, at devicePath: String, values: [String: String] = [:],
                             detail: FixtureDetail) throws {
        let essential = Self.essentialAttributes
        for attribute in template.attributes where detail == .complete || essential.contains(attribute.name) {
            try layOut(attribute, at: "\(devicePath)/\(attribute.name)", value: values[attribute.name])
        }
        // /sys/class/<cls>/<name> → ../../devices/…; <dev>/device → the parent device.
        let components = template.classPath.split(separator: "/")
        if components.count >= 4, components[1] == "class", components.last != "device" {
            let className = components[2]
            let name = TopologyScanner.lastComponent(devicePath)
            try Files.relativeSymlink(abs("/class/\(className)/\(name)"), to: abs(devicePath))
            try Files.relativeSymlink(abs("\(devicePath)/device"), to: abs(TopologyScanner.parent(TopologyScanner.parent(devicePath))))
        }
    }

    /// One captured attribute at `path`, with `value` in place of the captured text when given.
    func layOut(_ attribute: CapturedAttribute, at path: String, value: String?) throws {
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
    func addSCSIDevice(template: CapturedDirectory, world: CapturedWorld, hctl: String, devicePath: String,
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
                .map { TopologyScanner.lastComponent($0) }
            let templateHCTL = TopologyScanner.lastComponent(String(world.iscsiDevice.devicePath))
            let parents = Set(lunTree.map { TopologyScanner.parent("/" + $0) })
            for entry in lunTree {
                var components = entry.split(separator: "/").map(String.init)
                if components.first == "block" && disk == nil { continue }
                if components.first == "scsi_disk" && type == 5 { continue }
                components = components.map { component in
                    if component == templateHCTL { return hctl }
                    if component == templateDisk, let disk { return disk }
                    if component.hasPrefix("sg"), TopologyScanner.number(after: "sg", in: component) != nil { return generic }
                    return component
                }
                let path = "\(devicePath)/" + components.joined(separator: "/")
                if parents.contains("/" + entry) || ["holders", "slaves"].contains(components.last) {
                    try Files.makeDirectories(abs(path))
                } else if components.last == "device" {
                    // Every `device` link below a SCSI device (block, bsg, scsi_device, scsi_disk,
                    // scsi_generic) points at the device itself.
                    if TopologyScanner.parent(path) != devicePath && !Files.lstatExists(abs(path)) {
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

    func writeBlockAttributes(_ world: CapturedWorld, at path: String, names: [String],
                                      values: [String: String]) throws {
        for name in names {
            guard let captured = values[name] ?? world.blockAttributes[name] else { continue }
            let writable = Self.writableBlockAttributes.contains(name)
            try Files.write(abs("\(path)/\(name)"), captured + "\n", mode: writable ? 0o644 : 0o444)
        }
    }

    func linkBlock(name: String, path: String, dev: String, wholeDisk: Bool) throws {
        try Files.relativeSymlink(abs("/class/block/\(name)"), to: abs(path))
        try Files.relativeSymlink(abs("/dev/block/\(dev)"), to: abs(path))
        if wholeDisk { try Files.relativeSymlink(abs("/block/\(name)"), to: abs(path)) }
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
