import Foundation
import ISCSIRootCore

/// Block devices stacked on disks: partitions, dm-multipath maps, kpartx partitions, other device-mapper devices, md RAID.
extension FixtureTree {
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
        try Files.write(abs("\(path)/dm/name"), mapped + "\n", mode: 0o444)
        try Files.write(abs("\(path)/dm/uuid"), uuid + "\n", mode: 0o444)
        try Files.write(abs("\(path)/dm/suspended"), "0\n", mode: 0o444)
        // Bio-based device-mapper queues offer no scheduler: the file reads `none`.
        let scheduler = requestBased ? (world.blockAttributes["queue/scheduler"] ?? "none") : "none"
        try Files.write(abs("\(path)/queue/scheduler"), scheduler + "\n", mode: 0o644)
        // Device-mapper's dynamic major on the captured machine comes before virtio-blk's 254.
        try layOutStacked(name, at: path, major: 253, minor: UInt64(index), sectors: sectors, over: slaves, world: world)
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
        try Files.write(abs("\(path)/md/level"), level + "\n", mode: 0o644)
        try layOutStacked(name, at: path, major: 9, minor: UInt64(number), sectors: sectors, over: members, world: world)
        return name
    }

    /// A bound loop device `loopN` over the file `backingFile`, as the captured 6.18 kernel shows one
    /// (`Fixtures/captures/stacked-roots/overlay-loop.txt`): under `devices/virtual/block`, major 7,
    /// `loop/` with `backing_file` (the path as d_path writes it; `deleted` adds " (deleted)"),
    /// `autoclear`, `dio`, `offset`, `partscan` and `sizelimit`, empty `holders/` and `slaves/`.
    @discardableResult
    public func addLoop(backingFile: String, deleted: Bool = false, sectors: UInt64 = 131_072) throws -> String {
        let world = try CaptureLibrary.world(.loggedIn)
        let index = nextLoopIndex
        nextLoopIndex += 1
        let name = "loop\(index)"
        let path = "/devices/virtual/block/\(name)"
        let attributes = ["autoclear": "0", "backing_file": backingFile + (deleted ? " (deleted)" : ""), "dio": "0",
                          "offset": "0", "partscan": "0", "sizelimit": "0"]
        for (attribute, value) in attributes { try Files.write(abs("\(path)/loop/\(attribute)"), value + "\n", mode: 0o444) }
        try Files.write(abs("\(path)/queue/scheduler"), "none\n", mode: 0o644)
        try layOutStacked(name, at: path, major: 7, minor: UInt64(index), sectors: sectors, over: [], world: world)
        return name
    }

    /// What every stacked block device (device-mapper, md, loop) has: `dev`, the captured size and
    /// statistics files, `holders/`, `slaves/` with a link to each device of `below` and the
    /// matching link in that device's `holders/`, and the class and `dev/block` links.
    private func layOutStacked(_ name: String, at path: String, major: UInt64, minor: UInt64, sectors: UInt64,
                               over below: [String], world: CapturedWorld) throws {
        let dev = substitutingNumbers(world.blockDev, [major, minor])
        try Files.write(abs("\(path)/dev"), dev + "\n", mode: 0o444)
        try writeBlockAttributes(world, at: path, names: ["size", "ro", "removable", "inflight", "stat"],
                                 values: ["size": "\(sectors)"])
        try Files.makeDirectories(abs("\(path)/holders"))
        try Files.makeDirectories(abs("\(path)/slaves"))
        for device in below {
            guard let lower = sysfs.resolve("class/block/\(device)") else { throw FixtureError(message: "no block device \(device)") }
            try Files.relativeSymlink(abs("\(path)/slaves/\(device)"), to: abs(lower))
            try Files.makeDirectories(abs("\(lower)/holders"))
            try Files.relativeSymlink(abs("\(lower)/holders/\(name)"), to: abs(path))
        }
        try linkBlock(name: name, path: path, dev: dev, wholeDisk: true)
    }
}
