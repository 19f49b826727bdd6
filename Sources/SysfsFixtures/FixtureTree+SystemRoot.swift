import Foundation
import ISCSIRootCore

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(width - count, 0)) + self }
}

/// The system root: mounts (`proc/self/mountinfo`) and swaps (`proc/swaps`).
extension FixtureTree {
    /// A mount of block device `device` (`sda2`, `dm-0`) in `proc/self/mountinfo` (proc(5) format);
    /// device-mapper devices appear as `/dev/mapper/NAME` like LVM's. Mount `/` first.
    public func mount(point: String, device: String, fileSystem: String, readOnly: Bool = false) throws {
        guard let dev = sysfs.attribute("class/block/\(device)/dev").value else {
            throw FixtureError(message: "no block device \(device)")
        }
        let source = sysfs.attribute("class/block/\(device)/dm/name").value.map { "/dev/mapper/\($0)" } ?? "/dev/\(device)"
        mounts.append((point, dev, fileSystem, source, readOnly ? "ro" : "rw"))
        try writeMountInfo()
    }

    /// A mount of `source` (`major:minor` as mountinfo gives it) that need not be a block device of this tree.
    public func mount(point: String, majorMinor: String, source: String, fileSystem: String) throws {
        mounts.append((point, majorMinor, fileSystem, source, "rw"))
        try writeMountInfo()
    }

    /// A file system without a block device (`tmpfs`) on `point`, with an anonymous `0:N`.
    public func mountVirtual(point: String, fileSystem: String = "tmpfs", source: String = "tmpfs") throws {
        mounts.append((point, "0:\(nextAnonymousMinor)", fileSystem, source, "rw"))
        nextAnonymousMinor += 1
        try writeMountInfo()
    }

    /// An overlayfs on `point` over the directories `lower` (top first), with `upper` (and its
    /// `work`) when writable: super options as the captured 6.18 kernel wrote them
    /// (`Fixtures/captures/stacked-roots`): `lowerdir=` the colon-joined names with `\` before a
    /// colon or backslash in a name, every value through seq_escape's `\ooo` for `,`, space, tab,
    /// newline and `\`, then `uuid=on` (writable) or `redirect_dir=on` (read-only). `rawLowerdir`
    /// replaces the lowerdir value as written (for options the kernel wrote another way).
    public func mountOverlay(point: String, lower: [String], upper: String? = nil, work: String? = nil,
                             rawLowerdir: String? = nil) throws {
        func escapedOption(_ value: String) -> String {
            value.unicodeScalars.map { scalar -> String in
                switch scalar {
                case ",", " ", "\t", "\n", "\\": "\\" + String(Int(scalar.value), radix: 8).leftPadded(to: 3)
                default: String(scalar)
                }
            }.joined()
        }
        let names = lower.map { name in
            name.unicodeScalars.map { $0 == ":" || $0 == "\\" ? "\\" + String($0) : String($0) }.joined()
        }
        var options = (upper == nil ? "ro" : "rw") + ",lowerdir=" + (rawLowerdir ?? escapedOption(names.joined(separator: ":")))
        if let upper {
            options += ",upperdir=\(escapedOption(upper)),workdir=\(escapedOption(work ?? upper + "-work")),uuid=on"
        } else {
            options += ",redirect_dir=on"
        }
        mounts.append((point, "0:\(nextAnonymousMinor)", "overlay", "overlay", options))
        nextAnonymousMinor += 1
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

    /// `proc/self/mountinfo` with the mounts so far, `/` first, then the usual virtual file systems.
    func writeMountInfo() throws {
        guard !adopted else { throw FixtureError(message: "mounts of an existing tree are fixed") }
        // proc(5): ID PARENT MAJ:MIN ROOT POINT OPTIONS OPTIONAL… - FSTYPE SOURCE SUPEROPTIONS
        let base: [(String, String, String, String, String)] = [
            ("/proc", "0:22", "proc", "proc", "rw"), ("/sys", "0:21", "sysfs", "sysfs", "rw"),
            ("/dev", "0:5", "devtmpfs", "udev", "rw"), ("/run", "0:24", "tmpfs", "tmpfs", "rw"),
        ].filter { base in !mounts.contains { $0.point == base.0 } }
        let rootFirst = mounts.filter { $0.point == "/" } + mounts.filter { $0.point != "/" }
        var lines: [String] = []
        var id = 21
        // The base mounts come before the ones made on them (`/run` before `/run/rootfsbase`).
        let made = rootFirst.map { ($0.point, $0.majorMinor, $0.fileSystem, $0.source, $0.superOptions) }
        let ordered = made.prefix(rootFirst.first?.point == "/" ? 1 : 0) + base + made.dropFirst(rootFirst.first?.point == "/" ? 1 : 0)
        for (point, dev, fileSystem, source, superOptions) in ordered {
            let parent = point == "/" ? 1 : 21
            let mountOptions = superOptions.hasPrefix("ro") ? "ro,relatime" : "rw,relatime"
            lines.append("\(id) \(parent) \(dev) / \(point.escapedOctal) \(mountOptions) shared:\(id - 20) - "
                         + "\(fileSystem) \(source.escapedOctal) \(superOptions)")
            id += 1
        }
        try Files.write(system.path("proc/self/mountinfo"), lines.joined(separator: "\n") + "\n", mode: 0o444)
    }

    /// `proc/swaps` with the swaps so far (one header line, then one line a swap area).
    func writeSwaps() throws {
        guard !adopted else { throw FixtureError(message: "swaps of an existing tree are fixed") }
        // mm/swapfile.c swap_show(): the path padded to 40 columns, then tab-separated columns.
        var text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        for (index, swap) in swaps.enumerated() {
            let path = swap.path.escapedOctal
            let padding = String(repeating: " ", count: path.count < 40 ? 40 - path.count : 1)
            let kind = swap.kind == "file" ? "file\t" : "partition"
            text += "\(path)\(padding)\(kind)\t\(swap.kibibytes)\t\(swap.kibibytes < 10_000_000 ? "\t" : "")0\t\t-\(index + 2)\n"
        }
        try Files.write(system.path("proc/swaps"), text, mode: 0o444)
    }
}
