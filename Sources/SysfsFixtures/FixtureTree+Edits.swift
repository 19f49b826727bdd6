import Foundation
import ISCSIRootCore

/// Ways an attribute can fail the way real sysfs files fail.
public enum UnreadableKind: Sendable {
    /// A directory in its place: read and write fail with EISDIR.
    case directory
    /// A regular file that reads a number and refuses writes with EACCES, as sysfs refuses writes to
    /// attributes without a store method: mode 0444, and for root `/sys/kernel/uevent_seqnum`
    /// bind-mounted on it (unmounted by the next edit of that attribute and by `remove()`). Not a
    /// link: the tuner's writes refuse links.
    case readOnly
    /// A link to `/proc/self/clear_refs`: reading fails with EINVAL, like `access_state` (as root;
    /// other users get EACCES).
    case invalidArgument
    /// A unix socket: opening fails with ENXIO, like `wwid` of QEMU's CD-ROM.
    case noSuchDevice
}

/// Changes to a laid-out tree: attributes, system files, devices, counters.
extension FixtureTree {
    /// Writes `value` (plus the newline the kernel prints) into the attribute at `path` (relative to
    /// the sysfs root, links followed), keeping its mode; a file that is not there is created 0644.
    public func setAttribute(_ path: String, _ value: String) throws {
        let target = canonical(path)
        unmountReadOnly(abs(target))
        var info = stat()
        let mode = stat(abs(target), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? UInt16(info.st_mode & 0o7777) : 0o644
        try Files.write(abs(target), value + "\n", mode: mode)
    }

    /// Deletes the attribute at `path` (an attribute this kernel does not have).
    public func removeAttribute(_ path: String) throws {
        unmountReadOnly(abs(canonical(path)))
        try Files.remove(abs(canonical(path)))
    }

    /// Writes a file under the system root (`etc/iscsi-rootd.conf`, `proc/self/mountinfo` …).
    public func writeSystemFile(_ path: String, _ text: String, mode: UInt16 = 0o644) throws {
        try Files.write(system.path(path), text, mode: mode)
    }

    /// Replaces the attribute at `path` by something that fails like a real sysfs file.
    public func makeUnreadable(_ path: String, _ kind: UnreadableKind) throws {
        let target = abs(canonical(path))
        unmountReadOnly(target)
        try Files.remove(target)
        switch kind {
        case .directory: try Files.makeDirectories(target)
        case .readOnly:
            try Files.write(target, "0\n", mode: 0o444)
            if getuid() == 0 {
                guard Glibc.mount("/sys/kernel/uevent_seqnum", target, nil, UInt(MS_BIND), nil) == 0 else {
                    throw FixtureError.errno("bind-mount /sys/kernel/uevent_seqnum on", target)
                }
                readOnlyMounts.insert(target)
            }
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
}

extension FixtureTree {
    /// Unmounts the read-only attribute bind-mounted at `absolute`, if there is one.
    func unmountReadOnly(_ absolute: String) {
        guard readOnlyMounts.remove(absolute) != nil else { return }
        umount2(absolute, Int32(MNT_DETACH))
    }
}
